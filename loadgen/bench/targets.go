package bench

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/proxylab/proxylab/loadgen"
	"github.com/proxylab/proxylab/sim"
)

// target is one thing under load: its figures so far and how to reach it.
type target struct {
	res       TargetResult
	tree      *procTree // nil when the proxy's process is not known
	http      loadgen.HTTPConfig
	doer      *loadgen.HTTPDoer
	proxyAddr string // a forward proxy's host:port, for CONNECT; "" otherwise

	rps, p50, p99, cpu, loadCPU, wakeups []float64
	open50, open99, openCPU              []float64
	tunnelMBps, tunnelCPUPerGB           []float64
}

// cpuMark reads the proxy's CPU time (its process tree's) before a run; 0
// when its process is not known.
func (t *target) cpuMark() time.Duration {
	if t.tree == nil {
		return 0
	}
	d, _ := t.tree.cpu()
	return d
}

// cpuSince returns the CPU time the proxy used since mark; ok is false when
// its process is not known.
func (t *target) cpuSince(mark time.Duration) (used time.Duration, ok bool, err error) {
	if t.tree == nil {
		return 0, false, nil
	}
	now, err := t.tree.cpu()
	if err != nil {
		return 0, false, fmt.Errorf("%s: %w", t.res.Name, err)
	}
	return now - mark, true, nil
}

// connectAddr is where the target's client connections go: the proxy, or
// the URL's host for direct and reverse targets.
func (t *target) connectAddr() string {
	if t.proxyAddr != "" {
		return t.proxyAddr
	}
	return t.res.Addr
}

// newTarget makes the target's doer: requests to url, through proxy when set.
func newTarget(res TargetResult, pid int, url, proxy string) (*target, error) {
	t := &target{res: res, http: loadgen.HTTPConfig{URL: url, Proxy: proxy, ServerHeader: "-"}}
	if pid > 0 {
		t.tree = &procTree{root: pid}
		t.res.PID = pid
	}
	if proxy != "" {
		t.proxyAddr = strings.TrimPrefix(proxy, "http://")
	}
	d, err := loadgen.NewHTTPDoer(t.http)
	if err != nil {
		return nil, fmt.Errorf("target %s: %w", res.Name, err)
	}
	t.doer = d
	return t, nil
}

// startTargets builds direct, the built-in proxies, the installed peers and
// the URL targets, in that order; each one's stop is queued on r.stops.
func (r *runner) startTargets(ctx context.Context) error {
	direct, err := newTarget(TargetResult{Name: Direct, Kind: KindDirect, Addr: r.backend.addr}, 0, r.backend.url(), "")
	if err != nil {
		return err
	}
	r.add(direct)
	for _, name := range []string{Reverse, Forward} {
		if !r.cfg.builtin(name) {
			continue
		}
		if err := r.startBuiltin(ctx, name); err != nil {
			return err
		}
	}
	for _, name := range r.cfg.Peers {
		if err := r.startPeer(ctx, name); err != nil {
			return err
		}
	}
	for _, raw := range r.cfg.Targets {
		ut, _ := parseTarget(raw) // validated
		pid := 0
		if _, p, err := net.SplitHostPort(ut.addr); err == nil {
			n, _ := strconv.Atoi(p)
			pid = listenerPID(n)
		}
		res := TargetResult{Name: raw, Kind: KindURL, Mode: Reverse, Addr: ut.addr}
		url, proxy := ut.url, ""
		if ut.forward {
			res.Mode, url, proxy = Forward, r.backend.url(), ut.url
		}
		t, err := newTarget(res, pid, url, proxy)
		if err != nil {
			return err
		}
		r.add(t)
		fmt.Fprintf(r.o.log, "target %s: %s proxy at %s (pid %d)\n", raw, res.Mode, ut.addr, pid)
	}
	return nil
}

func (r *runner) add(t *target) {
	r.targets = append(r.targets, t)
	r.stops = append(r.stops, func(context.Context) error { return t.doer.Close() })
}

// childShutdown is the built-in proxies' graceful shutdown window: the run
// is over when they are stopped, nothing is left to finish.
const childShutdown = time.Second

// proxylab is the executable that runs the built-in proxies and the sink:
// Config.Proxylab, or this program.
func (r *runner) proxylab() (string, error) {
	exe := r.cfg.Proxylab
	if exe == "" {
		var err error
		if exe, err = os.Executable(); err != nil {
			return "", fmt.Errorf("%w: %v", errNoProxylab, err)
		}
	}
	if _, err := os.Stat(exe); err != nil {
		return "", fmt.Errorf("%w: %v", errNoProxylab, err)
	}
	return exe, nil
}

// sinkExe is the executable to run the CONNECT sink as a child with, or ""
// for one in this process: this program is only known to be proxylab when
// Config.Proxylab names it or it runs the built-in proxies too.
func (r *runner) sinkExe() string {
	if r.cfg.Proxylab == "" && !r.cfg.builtin(Forward) && !r.cfg.builtin(Reverse) {
		return ""
	}
	exe, err := r.proxylab()
	if err != nil {
		return ""
	}
	return exe
}

// startBuiltin runs `proxylab proxy reverse|forward` as a pinned child with
// GOMAXPROCS=1.
func (r *runner) startBuiltin(ctx context.Context, name string) error {
	exe, err := r.proxylab()
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	listen := net.JoinHostPort(r.cfg.Host, "0")
	argv := []string{exe, "proxy", name, "--listen", listen, "--shutdown-timeout", childShutdown.String()}
	if name == Reverse {
		argv = append(argv, "--upstream", "http://"+r.backend.addr)
	} else {
		argv = append(argv, "--open", "--allow-net", "127.0.0.0/8")
		if r.sink != nil {
			_, port, _ := net.SplitHostPort(r.sink.addr())
			argv = append(argv, "--connect-ports", port)
		}
	}
	c, err := startChild(ctx, name, r.pin.proxyArgv(argv), []string{"GOMAXPROCS=1"})
	if err != nil {
		return err
	}
	r.stops = append(r.stops, c.stop)
	res := TargetResult{Name: name, Kind: KindBuiltin, Mode: name, Addr: c.addr}
	url, proxy := "http://"+c.addr+"/", ""
	if name == Forward {
		url, proxy = r.backend.url(), "http://"+c.addr
	}
	t, err := newTarget(res, c.pid(), url, proxy)
	if err != nil {
		return err
	}
	r.add(t)
	fmt.Fprintf(r.o.log, "%s: built-in %s proxy at %s (pid %d)\n", name, name, c.addr, c.pid())
	return nil
}

// startPeer renders the peer's configuration and starts it pinned, or skips
// it with how to install it, or with why it did not start.
func (r *runner) startPeer(ctx context.Context, name string) error {
	p, _ := lookupPeer(name)
	if _, err := r.o.lookPath(p.Program); err != nil {
		reason := fmt.Sprintf("%s is not installed; install it with `%s`", p.Program, p.Install)
		r.skipped = append(r.skipped, SkippedTarget{Name: p.Name, Reason: reason})
		fmt.Fprintf(r.o.log, "skipping %s: %s\n", p.Name, reason)
		return nil
	}
	tmpl, err := p.ConfigTemplate()
	if err != nil {
		return fmt.Errorf("peer %s: %w", p.Name, err)
	}
	mode := sim.Reverse
	if p.Mode == Forward {
		mode = sim.Forward
	}
	node := &sim.ExternalNode{
		Name: p.Name, As: mode,
		Command: r.pin.proxyArgv(p.Command), Config: tmpl, ConfigName: p.ConfigName,
		Stderr: &bytes.Buffer{},
	}
	topo := sim.Topology{Host: r.cfg.Host, Servers: []sim.Upstream{{Name: "backend", Addr: r.backend.addr, Weight: 1}}}
	err = node.Start(ctx, topo)
	if err != nil && ctx.Err() == nil {
		// The port was free when picked but may be taken before the peer
		// binds it (another program on a shared machine): try once more.
		_ = node.Stop(ctx) // reaps it and removes its directory
		node.Stderr.Reset()
		err = node.Start(ctx, topo)
	}
	if err != nil {
		_ = node.Stop(ctx)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		reason := fmt.Sprintf("failed to start: %v", err)
		r.skipped = append(r.skipped, SkippedTarget{Name: p.Name, Reason: reason})
		fmt.Fprintf(r.o.log, "skipping %s: %s\n", p.Name, reason)
		return nil
	}
	r.stops = append(r.stops, node.Stop)
	pid := 0
	if _, port, err := net.SplitHostPort(node.Addr()); err == nil {
		n, _ := strconv.Atoi(port)
		pid = listenerPID(n)
	}
	res := TargetResult{Name: p.Name, Kind: KindPeer, Mode: p.Mode, Addr: node.Addr()}
	url, proxy := "http://"+node.Addr()+"/", ""
	if p.Mode == Forward {
		url, proxy = r.backend.url(), "http://"+node.Addr()
	}
	t, err := newTarget(res, pid, url, proxy)
	if err != nil {
		return err
	}
	r.add(t)
	fmt.Fprintf(r.o.log, "%s: peer %s proxy at %s (pid %d)\n", p.Name, p.Mode, node.Addr(), pid)
	return nil
}
