package scenarios

import (
	"github.com/proxylab/proxylab/proxy/balance"
	"github.com/proxylab/proxylab/proxy/forward"
	"github.com/proxylab/proxylab/proxy/health"
	"github.com/proxylab/proxylab/proxy/reverse"
	"github.com/proxylab/proxylab/sim/netfault"
	"github.com/proxylab/proxylab/sim/server"
)

// Scenario is one scenario file: a topology, load phases, a timeline and
// expectations. Load fills it in with defaults applied and server ranges
// expanded; positions of its parts are kept for error messages.
type Scenario struct {
	// Name identifies the scenario; empty means the file name without extension.
	Name string `yaml:"name"`
	// About is a paragraph a learner reads: what happens and what must hold.
	About string `yaml:"about"`
	// Area labels the scenario in suites (forward, reverse, external, …);
	// empty means the proxy's mode.
	Area string `yaml:"area"`
	// Seed derives every random choice of the run; 0 is a seed like any other
	// (the CLI's --seed overrides it).
	Seed uint64 `yaml:"seed"`
	// Proxy is the proxy node; decoded by its mode (see ProxySpec).
	Proxy ProxySpec `yaml:"-"`
	// Servers are the simulated servers; "server1..3" names a range.
	Servers []ServerSpec `yaml:"servers"`
	// Clients are the simulated clients; a count makes cli1..N.
	Clients ClientsSpec `yaml:"clients"`
	// Links put fault-injecting links on edges.
	Links []LinkSpec `yaml:"links"`
	// Load is the phases, back to back.
	Load []PhaseSpec `yaml:"load"`
	// Events is the timeline, offsets from the start of the first phase.
	Events []EventSpec `yaml:"events"`
	// Expect lists the expressions that must all hold.
	Expect []string `yaml:"expect"`

	// File is where the scenario was read from.
	File string `yaml:"-"`
	pos  positions
}

// ProxySpec is the `proxy:` section. Mode picks how the rest is read:
// reverse → Reverse (a reverse.Config, plus shorthands for the default pool),
// forward → Forward (a forward.Config), external → External, none → no proxy
// (clients talk to servers directly).
type ProxySpec struct {
	Mode     string
	Reverse  *ReverseSpec
	Forward  *ForwardSpec
	External *ExternalSpec
}

// Proxy modes.
const (
	ModeReverse  = "reverse"
	ModeForward  = "forward"
	ModeExternal = "external"
	ModeNone     = "none"
)

// ReverseSpec is a reverse proxy: the whole reverse.Config inline, plus
// shorthands that apply to the pool built from the world's servers.
type ReverseSpec struct {
	Mode           string `yaml:"mode"`
	reverse.Config `yaml:",inline"`
	// Balance is a policy name ("least_conn") or a balance.Config.
	Balance BalanceSpec            `yaml:"balance"`
	Health  *health.ActiveConfig   `yaml:"health"`
	Outlier *health.OutlierConfig  `yaml:"outlier"`
	Retries *reverse.RetryConfig   `yaml:"retries"`
	Breaker *reverse.BreakerConfig `yaml:"breaker"`
}

// BalanceSpec is a balance.Config that may be written as just a policy name.
type BalanceSpec struct {
	balance.Config
	Set bool
}

// ForwardSpec is a forward proxy: the whole forward.Config inline.
type ForwardSpec struct {
	Mode           string `yaml:"mode"`
	forward.Config `yaml:",inline"`
	// ParentProxy starts a second built-in forward proxy that this one chains
	// every request through, using the parent's first credentials.
	ParentProxy *forward.Config `yaml:"parent_proxy"`
}

// ExternalSpec is a proxy program started for the run.
type ExternalSpec struct {
	Mode string `yaml:"mode"`
	// As is the drawing the program plays: reverse or forward.
	As string `yaml:"as"`
	// Program names it, such as nginx; when it is not on PATH the scenario is
	// skipped with a message saying how to install it.
	Program string `yaml:"program"`
	// Install tells a user how to get the program (shown when it is missing).
	Install string `yaml:"install"`
	// Command is the argv; each element is a Go template (see sim.ExternalData).
	Command []string `yaml:"command"`
	// Config is the configuration file template.
	Config string `yaml:"config"`
	// ConfigName is the rendered file's name; empty means proxy.conf.
	ConfigName string `yaml:"config_name"`
	// Reload is the argv that makes it re-read its configuration; empty means SIGHUP.
	Reload []string `yaml:"reload"`
	// Ready bounds the start; zero means 10s.
	Ready Duration `yaml:"ready"`
	// Vars are free values the templates see as .Vars; a reconfigure event
	// on an external proxy sets them and reloads it.
	Vars map[string]string `yaml:"vars"`
}

// ServerSpec is one server, or a range of them ("server1..3"), with a
// behaviour (latency, status, size, … as in sim/server).
type ServerSpec struct {
	Name             string `yaml:"name"`
	Weight           int    `yaml:"weight"`
	server.Behaviour `yaml:",inline"`
	// Unhealthy starts the server with /healthz answering 503.
	Unhealthy bool `yaml:"unhealthy"`
	// TLS serves HTTPS with a throwaway certificate (forward scenarios reach
	// it through a CONNECT tunnel).
	TLS bool `yaml:"tls"`
}

// ClientsSpec is the clients: `count: 3` makes cli1..cli3; List names them.
type ClientsSpec struct {
	Count int          `yaml:"count"`
	List  []ClientSpec `yaml:"list"`
	// Defaults for every client.
	ClientSpec `yaml:",inline"`
}

// ClientSpec is one client's settings.
type ClientSpec struct {
	Name string `yaml:"name"`
	// Auth is "user:pass" sent to a forward proxy.
	Auth string `yaml:"auth"`
	// NoKeepAlive opens a connection per request.
	NoKeepAlive bool `yaml:"no_keepalive"`
	// Timeout bounds each request; zero means 5s.
	Timeout Duration `yaml:"timeout"`
	// H2C speaks cleartext HTTP/2.
	H2C bool `yaml:"h2c"`
	// Cookies keeps and returns cookies, as a browser does (sticky sessions).
	Cookies bool `yaml:"cookies"`
}

// LinkSpec is a fault-injecting link on the edge From → To.
type LinkSpec struct {
	// Name identifies the link in events; empty means "FROM->TO".
	Name string `yaml:"name"`
	// From is a client name, "clients" (every client) or "proxy".
	From string `yaml:"from"`
	// To is "proxy" or a server name.
	To     string           `yaml:"to"`
	Toxics []netfault.Toxic `yaml:"toxics"`
}

// PhaseSpec is one load phase.
type PhaseSpec struct {
	Phase    string   `yaml:"phase"`
	Duration Duration `yaml:"duration"`
	// Rate makes the phase open loop: "400/s", "10/s..200/s", "poisson 100/s".
	Rate Rate `yaml:"rate"`
	// Connections makes it closed loop: N workers back to back.
	Connections int      `yaml:"connections"`
	Think       Duration `yaml:"think"`
	// MaxInFlight caps open-loop concurrency; zero means 1000.
	MaxInFlight int `yaml:"max_in_flight"`
	// Clients send the phase's requests in turn; empty means every client.
	Clients []string `yaml:"clients"`
	// Requests is the weighted request mix; empty means GET /.
	Requests []RequestSpec `yaml:"requests"`
}

// RequestSpec is one kind of request in a phase's mix.
type RequestSpec struct {
	Method string `yaml:"method"`
	// Path is the request path (and query), such as /api?x=1.
	Path string `yaml:"path"`
	// Server is the server the URL names in a forward world ("server1"), or a
	// list to rotate over; empty rotates over every server. A full URL may be
	// given with URL instead.
	Server string `yaml:"server"`
	// URL overrides everything: the exact URL to request.
	URL     string            `yaml:"url"`
	Headers map[string]string `yaml:"headers"`
	Body    Size              `yaml:"body"`
	Weight  int               `yaml:"weight"`
	// WebSocket, when above zero, opens a WebSocket to the path (the servers
	// echo on /ws) and exchanges this many messages instead of one request.
	WebSocket int `yaml:"websocket"`
}

// EventSpec is one timeline event: At and exactly one action.
type EventSpec struct {
	At Duration `yaml:"at"`
	// Label names the event in reports and expectations; empty means a description.
	Label     string          `yaml:"label"`
	Crash     string          `yaml:"crash"`
	Recover   string          `yaml:"recover"`
	Add       *ServerSpec     `yaml:"add"`
	Remove    string          `yaml:"remove"`
	Drain     string          `yaml:"drain"`
	Partition string          `yaml:"partition"`
	Heal      string          `yaml:"heal"`
	Toxic     *ToxicEvent     `yaml:"toxic"`
	Untoxic   *ToxicEvent     `yaml:"untoxic"`
	Behaviour *BehaviourEvent `yaml:"behaviour"`
	Healthy   string          `yaml:"healthy"`
	Unhealthy string          `yaml:"unhealthy"`
	Weight    *WeightEvent    `yaml:"weight"`
	// Reconfigure is a YAML patch laid over the proxy's configuration.
	Reconfigure map[string]any `yaml:"reconfigure"`
}

// ToxicEvent adds (toxic) or removes (untoxic, by name) a link fault.
type ToxicEvent struct {
	Link           string `yaml:"link"`
	netfault.Toxic `yaml:",inline"`
}

// BehaviourEvent changes a server's behaviour from now on.
type BehaviourEvent struct {
	Server           string `yaml:"server"`
	server.Behaviour `yaml:",inline"`
}

// WeightEvent changes a server's weight at the proxy.
type WeightEvent struct {
	Server string `yaml:"server"`
	Weight int    `yaml:"weight"`
}
