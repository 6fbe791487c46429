package bench

import (
	"embed"
	"slices"
	"strings"
)

//go:embed templates/*.tmpl
var templates embed.FS

// Peer is a well-known proxy that bench can start beside the built-in ones.
type Peer struct {
	// Name is what --peer takes.
	Name string
	// Mode is "reverse" or "forward".
	Mode string
	// Program is the executable looked up on PATH.
	Program string
	// Install says how to install it.
	Install string
	// Command is the argv, each element a text/template over sim.ExternalData
	// (.Listen, .Dir, .ConfigFile, …).
	Command []string
	// ConfigName is the rendered file's name; Template the file's template.
	ConfigName, Template string
}

// peers is the one catalogue of peers, in the order they are measured.
var peers = []Peer{
	{
		Name: "nginx", Mode: Reverse, Program: "nginx", Install: "apt-get install nginx-light",
		Command:    []string{"nginx", "-p", "{{.Dir}}", "-e", "stderr", "-c", "{{.ConfigFile}}"},
		ConfigName: "nginx.conf", Template: "nginx.conf.tmpl",
	},
	{
		Name: "haproxy", Mode: Reverse, Program: "haproxy", Install: "apt-get install haproxy",
		Command:    []string{"haproxy", "-db", "-f", "{{.ConfigFile}}"},
		ConfigName: "haproxy.cfg", Template: "haproxy.cfg.tmpl",
	},
	{
		Name: "caddy", Mode: Reverse, Program: "caddy", Install: "apt-get install caddy",
		Command:    []string{"caddy", "run", "--adapter", "caddyfile", "--config", "{{.ConfigFile}}"},
		ConfigName: "Caddyfile", Template: "Caddyfile.tmpl",
	},
	{
		Name: "squid", Mode: Forward, Program: "squid", Install: "apt-get install squid",
		Command:    []string{"squid", "-N", "-f", "{{.ConfigFile}}"},
		ConfigName: "squid.conf", Template: "squid.conf.tmpl",
	},
	{
		Name: "tinyproxy", Mode: Forward, Program: "tinyproxy", Install: "apt-get install tinyproxy",
		Command:    []string{"tinyproxy", "-d", "-c", "{{.ConfigFile}}"},
		ConfigName: "tinyproxy.conf", Template: "tinyproxy.conf.tmpl",
	},
}

// Peers returns the names --peer accepts, in catalogue order.
func Peers() []string {
	names := make([]string, len(peers))
	for i, p := range peers {
		names[i] = p.Name
	}
	return names
}

// LookupPeer returns the named peer.
func LookupPeer(name string) (Peer, bool) { return lookupPeer(name) }

func lookupPeer(name string) (Peer, bool) {
	i := slices.IndexFunc(peers, func(p Peer) bool { return p.Name == strings.ToLower(name) })
	if i < 0 {
		return Peer{}, false
	}
	return peers[i], true
}

// ConfigTemplate returns the peer's configuration template.
func (p Peer) ConfigTemplate() (string, error) {
	b, err := templates.ReadFile("templates/" + p.Template)
	return string(b), err
}
