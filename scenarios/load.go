package scenarios

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"

	"github.com/proxylab/proxylab/proxy/balance"
)

// UnmarshalYAML reads a policy name or a whole balance.Config.
func (b *BalanceSpec) UnmarshalYAML(data []byte) error {
	var name string
	if err := yaml.Unmarshal(data, &name); err == nil {
		b.Config = balance.Config{Policy: strings.TrimSpace(name)}
		b.Set = true
		return nil
	}
	var cfg balance.Config
	if err := yaml.UnmarshalWithOptions(data, &cfg, yaml.Strict()); err != nil {
		return err
	}
	b.Config, b.Set = cfg, true
	return nil
}

// Load reads and validates a scenario file.
func Load(path string) (*Scenario, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return Parse(path, data)
}

// Files lists the scenario files named: files as given, and every *.yaml
// and *.yml below directories, sorted.
func Files(paths ...string) ([]string, error) {
	var files []string
	for _, p := range paths {
		st, err := os.Stat(p)
		if err != nil {
			return nil, err
		}
		if !st.IsDir() {
			files = append(files, p)
			continue
		}
		err = filepath.WalkDir(p, func(f string, d os.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if !d.IsDir() && (strings.HasSuffix(f, ".yaml") || strings.HasSuffix(f, ".yml")) {
				files = append(files, f)
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	sort.Strings(files)
	return files, nil
}

// LoadAll reads every scenario named (see Files). It returns the scenarios
// that loaded and an error joining every problem of those that did not.
func LoadAll(paths ...string) ([]*Scenario, error) {
	files, err := Files(paths...)
	if err != nil {
		return nil, err
	}
	var out []*Scenario
	var errs []error
	for _, f := range files {
		sc, err := Load(f)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		out = append(out, sc)
	}
	return out, errors.Join(errs...)
}

// Parse reads a scenario from data; name is used in error messages. Every
// problem found is reported, each as file:line:col: message.
func Parse(name string, data []byte) (sc *Scenario, err error) {
	defer func() {
		if r := recover(); r != nil {
			// The YAML library panics on some broken anchors, aliases and
			// tags (found by FuzzParse); a file gets a problem, never a crash.
			sc, err = nil, Problems{{File: name, Pos: Pos{Line: 1, Col: 1},
				Msg: fmt.Sprintf("the YAML could not be read (%v); look for a stray anchor (&), alias (*) or tag (!)", r)}}
		}
	}()
	c := &collector{file: name, pos: positions{}}
	f, err := parser.ParseBytes(data, 0)
	if err != nil {
		c.list = append(c.list, yamlProblem(name, err, Pos{Line: 1, Col: 1}))
		return nil, c.err()
	}
	if len(f.Docs) == 0 || f.Docs[0].Body == nil {
		c.add("", "the file is empty; a scenario needs at least name, proxy, servers, load and expect")
		return nil, c.err()
	}
	if len(f.Docs) > 1 {
		c.addAt(posOf(f.Docs[1].Body), "one scenario per file; move this document to a file of its own")
	}
	root, ok := unwrap(f.Docs[0].Body).(*ast.MappingNode)
	if !ok {
		c.addAt(posOf(f.Docs[0].Body), "a scenario is a mapping (name:, proxy:, servers:, load:, expect:)")
		return nil, c.err()
	}
	c.pos[""] = posOf(root)

	sc = &Scenario{File: name}
	proxyNode, mode := findProxy(root, c)
	sc.Proxy.Mode = mode
	walkRoot(root, mode, c)
	if c.badValues > 0 {
		// Values that do not parse were reported with their positions; the
		// decoder would stop at the first of them without one.
		return nil, c.err()
	}
	if err := yaml.UnmarshalWithOptions(data, sc); err != nil {
		c.list = append(c.list, yamlProblem(name, err, c.pos[""]))
		return nil, c.err()
	}
	if proxyNode != nil {
		if err := decodeProxy(proxyNode, &sc.Proxy); err != nil {
			c.list = append(c.list, yamlProblem(name, err, c.pos[""]))
			return nil, c.err()
		}
	}
	if sc.Proxy.Reverse == nil && mode == ModeReverse {
		sc.Proxy.Reverse = &ReverseSpec{Mode: ModeReverse}
	}
	sc.pos = c.pos
	if sc.Name == "" {
		sc.Name = strings.TrimSuffix(filepath.Base(name), filepath.Ext(name))
	}
	if sc.Area == "" {
		sc.Area = mode
		if mode == ModeExternal && sc.Proxy.External != nil {
			sc.Area = "external"
		}
	}
	expandServers(sc, c)
	validate(sc, c)
	if err := c.err(); err != nil {
		return nil, err
	}
	return sc, nil
}

// findProxy returns the proxy node and its mode (reverse when there is no proxy section).
func findProxy(root *ast.MappingNode, c *collector) (ast.Node, string) {
	for _, mv := range root.Values {
		if keyName(mv) != "proxy" {
			continue
		}
		m, ok := unwrap(mv.Value).(*ast.MappingNode)
		if !ok {
			c.addAt(posOf(mv.Value), "proxy is a mapping starting with mode: reverse, forward, external or none")
			return nil, ModeReverse
		}
		for _, kv := range m.Values {
			if keyName(kv) == "mode" {
				mode := strings.TrimSpace(kv.Value.GetToken().Value)
				switch mode {
				case ModeReverse, ModeForward, ModeExternal, ModeNone:
					return m, mode
				}
				c.addAt(posOf(kv.Value), "proxy mode %q is not known; write reverse, forward, external or none", mode)
				return nil, ModeReverse
			}
		}
		c.addAt(posOf(mv.Key), "proxy has no mode; write mode: reverse, forward, external or none")
		return nil, ModeReverse
	}
	return nil, ModeReverse
}

func proxyType(mode string) reflect.Type {
	switch mode {
	case ModeForward:
		return reflect.TypeFor[ForwardSpec]()
	case ModeExternal:
		return reflect.TypeFor[ExternalSpec]()
	case ModeNone:
		return reflect.TypeFor[struct {
			Mode string `yaml:"mode"`
		}]()
	}
	return reflect.TypeFor[ReverseSpec]()
}

func walkRoot(root *ast.MappingNode, mode string, c *collector) {
	fields := yamlFields(reflect.TypeFor[Scenario]())
	fields["proxy"] = proxyType(mode)
	for _, mv := range root.Values {
		name := keyName(mv)
		c.pos[name] = posOf(mv.Key)
		ft, ok := fields[name]
		if !ok {
			c.addAt(posOf(mv.Key), "%s", unknownKey(name, "", fields))
			continue
		}
		walk(mv.Value, ft, name, c.pos, c)
	}
}

func decodeProxy(n ast.Node, p *ProxySpec) error {
	switch p.Mode {
	case ModeForward:
		p.Forward = &ForwardSpec{}
		return yaml.NodeToValue(n, p.Forward)
	case ModeExternal:
		p.External = &ExternalSpec{}
		return yaml.NodeToValue(n, p.External)
	case ModeNone:
		return nil
	}
	p.Reverse = &ReverseSpec{}
	return yaml.NodeToValue(n, p.Reverse)
}

// yamlProblem turns a YAML library error into a positioned problem; an error
// that carries no token is placed at at (the document, when nothing nearer
// is known).
func yamlProblem(file string, err error, at Pos) Problem {
	var ye yaml.Error
	if errors.As(err, &ye) && ye.GetToken() != nil {
		tk := ye.GetToken()
		msg := ye.GetMessage()
		return Problem{File: file, Pos: Pos{Line: tk.Position.Line, Col: tk.Position.Column}, Msg: friendly(msg)}
	}
	return Problem{File: file, Pos: at, Msg: fmt.Sprint(err)}
}

// friendly rewords the YAML library's messages where a user needs a hint.
func friendly(msg string) string {
	switch {
	case strings.Contains(msg, "time.Duration"):
		return msg + "; write a duration like 250ms or 2s"
	case strings.Contains(msg, "cannot unmarshal") && strings.Contains(msg, "[]string"):
		return msg + "; write a list like [a, b]"
	}
	return msg
}
