package sim

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"text/template"
	"time"

	"github.com/goccy/go-yaml"
)

// DefaultReadyTimeout bounds how long an external proxy may take to accept connections.
const DefaultReadyTimeout = 10 * time.Second

// ExternalNode is a proxy program (nginx, HAProxy, Squid…) as a world's proxy
// node. Its configuration is rendered from a template with the world's
// addresses, the command is started, and the node is ready once the listen
// port accepts connections. Topology changes re-render the file and reload.
//
// The template sees ExternalData: .Host, .Port, .Listen, .Dir, .Servers
// (Name, Addr, Weight); the command's arguments are templates too.
type ExternalNode struct {
	// Name labels the program in errors, such as "nginx".
	Name string
	// As says which drawing the program plays.
	As Mode
	// Command is the argv; each element is a template. Required.
	Command []string
	// Config is the configuration file template; empty means none.
	Config string
	// ConfigName is the rendered file's name in the run directory; empty means "proxy.conf".
	ConfigName string
	// Reload is the argv that makes the program re-read its file; empty means
	// sending SIGHUP to the process.
	Reload []string
	// ReadyTimeout bounds the start; zero means DefaultReadyTimeout.
	ReadyTimeout time.Duration
	// Stderr receives the program's output; nil discards it.
	Stderr *bytes.Buffer
	// Vars are free values the templates see as .Vars; Reconfigure changes them.
	Vars map[string]string

	outMu sync.Mutex // guards Stderr while the program writes to it
	mu    sync.Mutex
	cmd   *exec.Cmd
	dir   string
	data  ExternalData
	exit  chan error
}

// ExternalData is what an external proxy's templates see.
type ExternalData struct {
	Host    string
	Port    int
	Listen  string
	Dir     string
	Servers []Upstream
	// ConfigFile is the rendered configuration's path.
	ConfigFile string
	// Vars are the node's free values (ExternalNode.Vars, changed by Reconfigure).
	Vars map[string]string
}

var (
	_ Proxy        = (*ExternalNode)(nil)
	_ PoolChanger  = (*ExternalNode)(nil)
	_ Reconfigurer = (*ExternalNode)(nil)
)

// Mode returns the drawing the program plays.
func (n *ExternalNode) Mode() Mode { return n.As }

// Addr returns the address clients connect to.
func (n *ExternalNode) Addr() string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.data.Listen
}

// Available reports whether the program can be found on PATH.
func (n *ExternalNode) Available() error {
	if len(n.Command) == 0 {
		return fmt.Errorf("external proxy %s: no command", n.Name)
	}
	if _, err := exec.LookPath(n.Command[0]); err != nil {
		return fmt.Errorf("external proxy %s: %w", n.Name, err)
	}
	return nil
}

// Start renders the configuration, starts the program and waits until it accepts connections.
func (n *ExternalNode) Start(ctx context.Context, topo Topology) error {
	if err := n.Available(); err != nil {
		return err
	}
	port, err := FreePort(topo.Host)
	if err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "proxylab-"+n.Name+"-")
	if err != nil {
		return fmt.Errorf("external proxy %s: %w", n.Name, err)
	}
	name := n.ConfigName
	if name == "" {
		name = "proxy.conf"
	}
	data := ExternalData{
		Host: topo.Host, Port: port, Listen: net.JoinHostPort(topo.Host, strconv.Itoa(port)),
		Dir: dir, Servers: topo.Servers, ConfigFile: filepath.Join(dir, name), Vars: map[string]string{},
	}
	for k, v := range n.Vars {
		data.Vars[k] = v
	}
	if err := n.render(data); err != nil {
		return err
	}
	argv, err := renderArgs(n.Command, data)
	if err != nil {
		return err
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Dir = dir
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if n.Stderr != nil {
		w := &lockedWriter{mu: &n.outMu, w: n.Stderr}
		cmd.Stdout, cmd.Stderr = w, w
	}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", n.Name, err)
	}
	exit := make(chan error, 1)
	go func() { exit <- cmd.Wait() }()
	n.mu.Lock()
	n.cmd, n.dir, n.data, n.exit = cmd, dir, data, exit
	n.mu.Unlock()
	return n.waitReady(ctx, data.Listen, exit)
}

func (n *ExternalNode) waitReady(ctx context.Context, addr string, exit chan error) error {
	limit := n.ReadyTimeout
	if limit == 0 {
		limit = DefaultReadyTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err == nil {
			_ = c.Close()
			return nil
		}
		select {
		case err := <-exit:
			exit <- err
			return fmt.Errorf("%s exited before it listened on %s: %v%s", n.Name, addr, err, n.tail())
		case <-ctx.Done():
			_ = n.Stop(context.Background())
			return fmt.Errorf("%s did not listen on %s within %s%s", n.Name, addr, limit, n.tail())
		case <-tick.C:
		}
	}
}

func (n *ExternalNode) tail() string {
	n.outMu.Lock()
	defer n.outMu.Unlock()
	if n.Stderr == nil || n.Stderr.Len() == 0 {
		return ""
	}
	b := n.Stderr.Bytes()
	if len(b) > 600 {
		b = b[len(b)-600:]
	}
	return "; its output ends: " + string(b)
}

func (n *ExternalNode) render(data ExternalData) error {
	if n.Config == "" {
		return nil
	}
	t, err := template.New(n.Name).Option("missingkey=error").Parse(n.Config)
	if err != nil {
		return fmt.Errorf("external proxy %s: config template: %w", n.Name, err)
	}
	var buf bytes.Buffer
	if err := t.Execute(&buf, data); err != nil {
		return fmt.Errorf("external proxy %s: render config: %w", n.Name, err)
	}
	if err := os.WriteFile(data.ConfigFile, buf.Bytes(), 0o600); err != nil {
		return fmt.Errorf("external proxy %s: %w", n.Name, err)
	}
	return nil
}

func renderArgs(args []string, data ExternalData) ([]string, error) {
	out := make([]string, len(args))
	for i, a := range args {
		t, err := template.New("arg").Option("missingkey=error").Parse(a)
		if err != nil {
			return nil, fmt.Errorf("command argument %q: %w", a, err)
		}
		var b bytes.Buffer
		if err := t.Execute(&b, data); err != nil {
			return nil, fmt.Errorf("command argument %q: %w", a, err)
		}
		out[i] = b.String()
	}
	return out, nil
}

// Stop ends the program (SIGTERM, then SIGKILL after 5 s) and removes its
// directory. It is idempotent.
func (n *ExternalNode) Stop(ctx context.Context) error {
	n.mu.Lock()
	cmd, dir, exit := n.cmd, n.dir, n.exit
	n.cmd, n.exit = nil, nil
	n.mu.Unlock()
	if cmd == nil {
		return nil
	}
	defer os.RemoveAll(dir)
	_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
	select {
	case <-exit:
		return nil
	case <-time.After(5 * time.Second):
	case <-ctx.Done():
	}
	_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	<-exit
	return nil
}

func (n *ExternalNode) change(f func(*ExternalData)) error {
	n.mu.Lock()
	if n.cmd == nil {
		n.mu.Unlock()
		return errNotStarted
	}
	f(&n.data)
	data, pid := n.data, n.cmd.Process.Pid
	n.mu.Unlock()
	if err := n.render(data); err != nil {
		return err
	}
	if len(n.Reload) == 0 {
		return syscall.Kill(pid, syscall.SIGHUP)
	}
	argv, err := renderArgs(n.Reload, data)
	if err != nil {
		return err
	}
	if out, err := exec.Command(argv[0], argv[1:]...).CombinedOutput(); err != nil {
		return fmt.Errorf("reload %s: %w: %s", n.Name, err, out)
	}
	return nil
}

// AddServer re-renders the configuration with one more server and reloads.
func (n *ExternalNode) AddServer(_ context.Context, u Upstream) error {
	return n.change(func(d *ExternalData) { d.Servers = append(append([]Upstream(nil), d.Servers...), u) })
}

// RemoveServer re-renders the configuration without a server and reloads.
func (n *ExternalNode) RemoveServer(_ context.Context, name string) error {
	return n.change(func(d *ExternalData) {
		var keep []Upstream
		for _, s := range d.Servers {
			if s.Name != name {
				keep = append(keep, s)
			}
		}
		d.Servers = keep
	})
}

// DrainServer is done the way the program does it on reload: removal.
func (n *ExternalNode) DrainServer(ctx context.Context, name string) error {
	return n.RemoveServer(ctx, name)
}

// SetWeight re-renders the configuration with a new weight and reloads.
func (n *ExternalNode) SetWeight(_ context.Context, name string, w int) error {
	if w < 0 {
		return errors.New("weight must not be negative")
	}
	return n.change(func(d *ExternalData) {
		servers := append([]Upstream(nil), d.Servers...)
		for i := range servers {
			if servers[i].Name == name {
				servers[i].Weight = w
			}
		}
		d.Servers = servers
	})
}

// Reconfigure sets template values from patch (a YAML mapping of names to
// values), re-renders the configuration and reloads the program.
func (n *ExternalNode) Reconfigure(_ context.Context, patch []byte, _ Topology) error {
	var vars map[string]string
	if err := yaml.Unmarshal(patch, &vars); err != nil {
		return fmt.Errorf("reconfigure %s: the patch is a mapping of template values (.Vars): %w", n.Name, err)
	}
	return n.change(func(d *ExternalData) {
		next := make(map[string]string, len(d.Vars)+len(vars))
		for k, v := range d.Vars {
			next[k] = v
		}
		for k, v := range vars {
			next[k] = v
		}
		d.Vars = next
	})
}

// lockedWriter serialises writes with readers of the same buffer.
type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
