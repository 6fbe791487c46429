package scenarios

import (
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/proxylab/proxylab/proxy/balance"
	"github.com/proxylab/proxylab/sim"
)

// DefaultClients is how many clients a scenario gets when it names none.
const DefaultClients = 3

var rangeName = regexp.MustCompile(`^(.*?)(\d+)\.\.(\d+)$`)

// expandServers turns "server1..3" into server1, server2, server3 and names
// unnamed servers serverN.
func expandServers(sc *Scenario, c *collector) {
	var out []ServerSpec
	for i, s := range sc.Servers {
		path := fmt.Sprintf("servers[%d]", i)
		m := rangeName.FindStringSubmatch(s.Name)
		if m == nil {
			if s.Name == "" {
				s.Name = "server" + strconv.Itoa(len(out)+1)
			}
			out = append(out, s)
			continue
		}
		lo, _ := strconv.Atoi(m[2])
		hi, _ := strconv.Atoi(m[3])
		if hi < lo || hi-lo > 999 {
			c.add(path+".name", "server range %q runs backwards or is too long; write one like server1..3", s.Name)
			continue
		}
		for n := lo; n <= hi; n++ {
			e := s
			e.Name = m[1] + strconv.Itoa(n)
			e.Behaviour = s.Behaviour.Clone()
			out = append(out, e)
		}
	}
	sc.Servers = out
	if sc.Clients.Count == 0 && len(sc.Clients.List) == 0 {
		sc.Clients.Count = DefaultClients
	}
}

// ClientNames returns the clients' names in order.
func (sc *Scenario) ClientNames() []string {
	if len(sc.Clients.List) > 0 {
		out := make([]string, len(sc.Clients.List))
		for i, cl := range sc.Clients.List {
			out[i] = cl.Name
			if out[i] == "" {
				out[i] = "cli" + strconv.Itoa(i+1)
			}
		}
		return out
	}
	out := make([]string, sc.Clients.Count)
	for i := range out {
		out[i] = "cli" + strconv.Itoa(i+1)
	}
	return out
}

// Duration is the run's length: the sum of its phases.
func (sc *Scenario) Duration() time.Duration {
	var d time.Duration
	for _, p := range sc.Load {
		d += p.Duration.D()
	}
	return d
}

// Pos returns where a path ("events[2].crash") is in the file.
func (sc *Scenario) Pos(path string) Pos { return sc.pos.at(path) }

func validate(sc *Scenario, c *collector) {
	validateProxy(sc, c)
	servers := map[string]bool{}
	for i, s := range sc.Servers {
		if servers[s.Name] {
			c.add(fmt.Sprintf("servers[%d]", i), "server %s is named twice; give each server its own name", s.Name)
		}
		servers[s.Name] = true
		if s.Weight < 0 {
			c.add(fmt.Sprintf("servers[%d].weight", i), "weight %d is negative; write 0 or more (0 means 1)", s.Weight)
		}
		if err := s.Behaviour.Validate(); err != nil {
			c.add(fmt.Sprintf("servers[%d]", i), "server %s: %v", s.Name, err)
		}
	}
	if len(sc.Servers) == 0 {
		c.add("servers", "no servers; add at least one, e.g. servers: [{name: server1..3}]")
	}
	clients := map[string]bool{}
	if sc.Clients.Count < 0 {
		c.add("clients.count", "client count %d is negative; write a count like 3", sc.Clients.Count)
	}
	for i, n := range sc.ClientNames() {
		if clients[n] {
			c.add(fmt.Sprintf("clients.list[%d]", i), "client %s is named twice", n)
		}
		clients[n] = true
	}
	for i, cl := range append([]ClientSpec{sc.Clients.ClientSpec}, sc.Clients.List...) {
		if cl.Auth != "" && !strings.Contains(cl.Auth, ":") {
			path := "clients.auth"
			if i > 0 {
				path = fmt.Sprintf("clients.list[%d].auth", i-1)
			}
			c.add(path, "auth %q has no colon; write user:password", cl.Auth)
		}
	}
	links := validateLinks(sc, c, servers, clients)
	validateLoad(sc, c, servers, clients)
	validateEvents(sc, c, servers, links)
	validateExpect(sc, c)
}

func validateProxy(sc *Scenario, c *collector) {
	switch {
	case sc.Proxy.Reverse != nil:
		r := sc.Proxy.Reverse
		if r.Balance.Set && r.Balance.Policy != "" && !slices.Contains(balance.Policies(), r.Balance.Policy) {
			c.add("proxy.balance", "balance policy %q is not known; write one of %s", r.Balance.Policy, strings.Join(balance.Policies(), ", "))
		}
	case sc.Proxy.External != nil:
		e := sc.Proxy.External
		if len(e.Command) == 0 {
			c.add("proxy.command", "an external proxy needs a command, e.g. command: [nginx, -c, \"{{.ConfigFile}}\"]")
		}
		if e.As != string(sim.Reverse) && e.As != string(sim.Forward) {
			c.add("proxy.as", "as %q is not a drawing; write as: reverse or as: forward", e.As)
		}
	}
}

func validateLinks(sc *Scenario, c *collector, servers, clients map[string]bool) map[string]bool {
	links := map[string]bool{}
	for i, l := range sc.Links {
		path := fmt.Sprintf("links[%d]", i)
		if !(l.From == "proxy" || l.From == "clients" || clients[l.From]) {
			c.add(path+".from", "link from %q: write proxy, clients, or a client's name", l.From)
		}
		if !(l.To == "proxy" || servers[l.To]) {
			c.add(path+".to", "link to %q: write proxy or a server's name (%s)", l.To, names(servers))
		}
		if l.From == "proxy" && l.To == "proxy" {
			c.add(path, "a link joins two different nodes")
		}
		name := l.Name
		if name == "" {
			name = l.From + "->" + l.To
			sc.Links[i].Name = name
		}
		if links[name] {
			c.add(path+".name", "link %s is named twice", name)
		}
		links[name] = true
		for j, t := range l.Toxics {
			if err := t.Validate(); err != nil {
				c.add(fmt.Sprintf("%s.toxics[%d]", path, j), "%v", err)
			}
		}
	}
	return links
}

func validateLoad(sc *Scenario, c *collector, servers, clients map[string]bool) {
	if len(sc.Load) == 0 {
		c.add("load", "no load phases; add one, e.g. load: [{phase: steady, duration: 5s, rate: 200/s}]")
	}
	phases := map[string]bool{}
	for i, p := range sc.Load {
		path := fmt.Sprintf("load[%d]", i)
		if p.Phase == "" {
			sc.Load[i].Phase = "phase" + strconv.Itoa(i+1)
		}
		if phases[sc.Load[i].Phase] {
			c.add(path+".phase", "phase %s is named twice", p.Phase)
		}
		phases[sc.Load[i].Phase] = true
		if p.Duration <= 0 {
			c.add(path+".duration", "phase needs a positive duration, e.g. duration: 5s")
		}
		switch {
		case p.Rate.IsZero() && p.Connections == 0:
			c.add(path, "phase %s has neither rate (open loop, e.g. rate: 200/s) nor connections (closed loop, e.g. connections: 8)", sc.Load[i].Phase)
		case !p.Rate.IsZero() && p.Connections != 0:
			c.add(path+".connections", "phase %s has both rate and connections; keep one (rate: open loop, connections: closed loop)", sc.Load[i].Phase)
		case p.Connections < 0:
			c.add(path+".connections", "connections %d is negative", p.Connections)
		case !p.Rate.IsZero() && (p.Rate.From <= 0 || p.Rate.To < 0):
			c.add(path+".rate", "rate %s must be positive", p.Rate.Text)
		}
		for j, cl := range p.Clients {
			if !clients[cl] {
				c.add(fmt.Sprintf("%s.clients[%d]", path, j), "no client named %q; the clients are %s", cl, strings.Join(sc.ClientNames(), ", "))
			}
		}
		for j, r := range p.Requests {
			rp := fmt.Sprintf("%s.requests[%d]", path, j)
			if r.Weight < 0 {
				c.add(rp+".weight", "weight %d is negative", r.Weight)
			}
			if r.Method != "" && strings.ToUpper(r.Method) != r.Method {
				c.add(rp+".method", "method %q: write it in capitals, like %s", r.Method, strings.ToUpper(r.Method))
			}
			if r.Server != "" && !servers[r.Server] && !addedLater(sc, r.Server) {
				c.add(rp+".server", "no server named %q; the servers are %s", r.Server, names(servers))
			}
			if r.Path != "" && !strings.HasPrefix(r.Path, "/") {
				c.add(rp+".path", "path %q must start with /", r.Path)
			}
		}
	}
}

func addedLater(sc *Scenario, name string) bool {
	for _, e := range sc.Events {
		if e.Add != nil && e.Add.Name == name {
			return true
		}
	}
	return false
}

func validateEvents(sc *Scenario, c *collector, servers, links map[string]bool) {
	end := sc.Duration()
	known := map[string]bool{}
	for k := range servers {
		known[k] = true
	}
	order := make([]int, len(sc.Events))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return int(sc.Events[a].At - sc.Events[b].At) })
	for _, i := range order {
		e := sc.Events[i]
		path := fmt.Sprintf("events[%d]", i)
		if e.At < 0 || (end > 0 && e.At.D() > end) {
			c.add(path+".at", "at %s is outside the run, which lasts %s; write an offset from 0s to %s", e.At, end, end)
		}
		actions := e.actions()
		if len(actions) != 1 {
			c.add(path, "an event has exactly one action (crash, recover, add, remove, drain, partition, heal, toxic, untoxic, behaviour, healthy, unhealthy, weight, reconfigure); this one has %d", len(actions))
			continue
		}
		server := func(key, name string) {
			if !known[name] {
				c.add(path+"."+key, "no server named %q at %s; the servers then are %s", name, e.At, names(known))
			}
		}
		link := func(key, name string) {
			if !links[name] {
				c.add(path+"."+key, "no link named %q; declare it under links: (links are %s)", name, names(links))
			}
		}
		switch actions[0] {
		case "crash", "recover", "remove", "drain", "healthy", "unhealthy":
			server(actions[0], e.target())
			if actions[0] == "remove" {
				delete(known, e.target())
			}
		case "add":
			if e.Add.Name == "" {
				c.add(path+".add", "add needs a name, e.g. add: {name: server4}")
			} else if known[e.Add.Name] {
				c.add(path+".add.name", "a server named %s exists already", e.Add.Name)
			}
			known[e.Add.Name] = true
		case "partition", "heal":
			link(actions[0], e.target())
		case "toxic", "untoxic":
			t := e.Toxic
			if t == nil {
				t = e.Untoxic
			}
			link(actions[0]+".link", t.Link)
			if actions[0] == "toxic" {
				if err := t.Toxic.Validate(); err != nil {
					c.add(path+".toxic", "%v", err)
				}
			} else if t.Name == "" {
				c.add(path+".untoxic", "untoxic needs the toxic's name")
			}
		case "behaviour":
			server("behaviour.server", e.Behaviour.Server)
		case "weight":
			server("weight.server", e.Weight.Server)
		case "reconfigure":
			if sc.Proxy.Reverse == nil && sc.Proxy.Forward == nil && sc.Proxy.External == nil {
				c.add(path+".reconfigure", "reconfigure needs a proxy (a built-in one, or an external one whose templates use .Vars)")
			}
		}
	}
}

// actions lists the actions an event sets.
func (e EventSpec) actions() []string {
	var out []string
	for name, set := range map[string]bool{
		"crash": e.Crash != "", "recover": e.Recover != "", "add": e.Add != nil, "remove": e.Remove != "",
		"drain": e.Drain != "", "partition": e.Partition != "", "heal": e.Heal != "", "toxic": e.Toxic != nil,
		"untoxic": e.Untoxic != nil, "behaviour": e.Behaviour != nil, "healthy": e.Healthy != "",
		"unhealthy": e.Unhealthy != "", "weight": e.Weight != nil, "reconfigure": e.Reconfigure != nil,
	} {
		if set {
			out = append(out, name)
		}
	}
	sort.Strings(out)
	return out
}

// target is the node or link a simple event names.
func (e EventSpec) target() string {
	for _, s := range []string{e.Crash, e.Recover, e.Remove, e.Drain, e.Partition, e.Heal, e.Healthy, e.Unhealthy} {
		if s != "" {
			return s
		}
	}
	return ""
}

// Describe says what the event does, as reports show it.
func (e EventSpec) Describe() string {
	if e.Label != "" {
		return e.Label
	}
	a := e.actions()
	if len(a) != 1 {
		return "event"
	}
	switch a[0] {
	case "add":
		return "add " + e.Add.Name
	case "toxic":
		return fmt.Sprintf("toxic %s on %s", e.Toxic.Type, e.Toxic.Link)
	case "untoxic":
		return fmt.Sprintf("untoxic %s on %s", e.Untoxic.Name, e.Untoxic.Link)
	case "behaviour":
		return "change " + e.Behaviour.Server
	case "weight":
		return fmt.Sprintf("weight %s=%d", e.Weight.Server, e.Weight.Weight)
	case "reconfigure":
		return "reconfigure proxy"
	}
	return a[0] + " " + e.target()
}

func names(set map[string]bool) string {
	out := make([]string, 0, len(set))
	for k := range set {
		out = append(out, k)
	}
	sort.Strings(out)
	if len(out) == 0 {
		return "(none)"
	}
	return strings.Join(out, ", ")
}
