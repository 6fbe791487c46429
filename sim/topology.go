package sim

import (
	"context"
	"fmt"
	"time"

	"github.com/proxylab/proxylab/sim/netfault"
	"github.com/proxylab/proxylab/sim/server"
)

// AnyNode stands for every node at the near end of a link ("*"): a link from
// AnyNode to the proxy carries every client's traffic.
const AnyNode = "*"

// AddLink puts a fault-injecting link on the edge from → to (node names:
// cliN, proxy, serverN, or AnyNode as from). Traffic on that edge then goes
// through the link; toxics can be given now or added while traffic flows.
// Links are added before Start, and exist (Link finds them) once it has run.
func (w *World) AddLink(name, from, to string, toxics ...netfault.Toxic) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.started {
		return fmt.Errorf("add link %s: links are added before the world starts", name)
	}
	if name == "" {
		name = from + "->" + to
	}
	if _, dup := w.linkEnds[name]; dup {
		return fmt.Errorf("add link %s: a link of that name exists", name)
	}
	for _, t := range toxics {
		if err := t.Validate(); err != nil {
			return fmt.Errorf("link %s: %w", name, err)
		}
	}
	w.linkEnds[name] = [2]string{from, to}
	w.linkToxics[name] = append([]netfault.Toxic(nil), toxics...)
	return nil
}

// Link returns the named link once the world has started.
func (w *World) Link(name string) (*netfault.Link, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	l, ok := w.links[name]
	return l, ok
}

// LinkNames returns every link's name with its ends.
func (w *World) LinkNames() map[string][2]string {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := make(map[string][2]string, len(w.linkEnds))
	for k, v := range w.linkEnds {
		out[k] = v
	}
	return out
}

// startLinks creates and starts every link whose far end has an address by now.
func (w *World) startLinks() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	for name, ends := range w.linkEnds {
		if _, done := w.links[name]; done {
			continue
		}
		var addr string
		if s, ok := w.servers[ends[1]]; ok {
			addr = s.Addr()
		} else if ends[1] == "proxy" && w.proxy != nil {
			addr = w.proxy.Addr()
		}
		if addr == "" {
			continue
		}
		l, err := netfault.NewLink(netfault.LinkConfig{
			Name:     name,
			Listen:   w.addrs.take(linkBlock) + ":0",
			Upstream: addr,
			Seed:     w.Seed("link/" + name),
		})
		if err != nil {
			return fmt.Errorf("link %s: %w", name, err)
		}
		for _, t := range w.linkToxics[name] {
			if err := l.AddToxic(t); err != nil {
				return fmt.Errorf("link %s: %w", name, err)
			}
		}
		if err := l.Start(); err != nil {
			return fmt.Errorf("start link %s: %w", name, err)
		}
		w.links[name] = l
	}
	return nil
}

// reach returns the address node from dials to get to node to, whose own
// address is addr: a link's address when a started link sits on that edge.
// The caller holds w.mu.
func (w *World) reach(from, to, addr string) string {
	for _, near := range []string{from, AnyNode} {
		for name, ends := range w.linkEnds {
			if ends[0] == near && ends[1] == to {
				if l, ok := w.links[name]; ok {
					return l.Addr()
				}
			}
		}
	}
	return addr
}

// Crash stops a server at once: its listener closes and open connections die.
func (w *World) Crash(name string) error {
	s, ok := w.Server(name)
	if !ok {
		return fmt.Errorf("crash: no server named %s", name)
	}
	s.Crash()
	return nil
}

// Recover restarts a crashed server on the same address.
func (w *World) Recover(name string) error {
	s, ok := w.Server(name)
	if !ok {
		return fmt.Errorf("recover: no server named %s", name)
	}
	if err := s.Recover(); err != nil {
		return fmt.Errorf("recover %s: %w", name, err)
	}
	return nil
}

// RemoveServer takes a server out of the proxy's pool (which drains it), then
// stops it gracefully.
func (w *World) RemoveServer(ctx context.Context, name string) error {
	s, ok := w.Server(name)
	if !ok {
		return fmt.Errorf("remove: no server named %s", name)
	}
	if pc, ok := w.Proxy().(PoolChanger); ok {
		if err := pc.RemoveServer(ctx, name); err != nil {
			return fmt.Errorf("remove %s from the proxy: %w", name, err)
		}
	}
	stopCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	return s.Stop(stopCtx)
}

// DrainServer asks the proxy to send a server no new requests.
func (w *World) DrainServer(ctx context.Context, name string) error {
	if _, ok := w.Server(name); !ok {
		return fmt.Errorf("drain: no server named %s", name)
	}
	pc, ok := w.Proxy().(PoolChanger)
	if !ok {
		return fmt.Errorf("drain %s: the proxy cannot change its pool at run time", name)
	}
	return pc.DrainServer(ctx, name)
}

// SetWeight changes a server's weight at the proxy.
func (w *World) SetWeight(ctx context.Context, name string, weight int) error {
	pc, ok := w.Proxy().(PoolChanger)
	if !ok {
		return fmt.Errorf("weight %s: the proxy cannot change its pool at run time", name)
	}
	return pc.SetWeight(ctx, name, weight)
}

// SetBehaviour changes what a server does with requests from now on.
func (w *World) SetBehaviour(name string, b server.Behaviour) error {
	s, ok := w.Server(name)
	if !ok {
		return fmt.Errorf("behaviour: no server named %s", name)
	}
	s.SetBehaviour(b)
	return nil
}

// SetHealthy flips a server's /healthz answer.
func (w *World) SetHealthy(name string, ok bool) error {
	s, found := w.Server(name)
	if !found {
		return fmt.Errorf("health: no server named %s", name)
	}
	s.SetHealthy(ok)
	return nil
}

// Partition cuts a link: nothing crosses it until Heal.
func (w *World) Partition(link string) error {
	l, ok := w.Link(link)
	if !ok {
		return fmt.Errorf("partition: no link named %s", link)
	}
	l.Partition()
	return nil
}

// Heal restores a partitioned link.
func (w *World) Heal(link string) error {
	l, ok := w.Link(link)
	if !ok {
		return fmt.Errorf("heal: no link named %s", link)
	}
	l.Heal()
	return nil
}

// Reconfigure hands the proxy a YAML patch of its configuration.
func (w *World) Reconfigure(ctx context.Context, patch []byte) error {
	rc, ok := w.Proxy().(Reconfigurer)
	if !ok {
		return fmt.Errorf("reconfigure: the proxy cannot be reconfigured at run time")
	}
	return rc.Reconfigure(ctx, patch, w.Topology())
}
