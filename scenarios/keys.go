package scenarios

import (
	"encoding"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/goccy/go-yaml/ast"

	"github.com/proxylab/proxylab/proxy/balance"
)

var (
	textUnmarshaler = reflect.TypeFor[encoding.TextUnmarshaler]()
	durationType    = reflect.TypeFor[time.Duration]()
	balanceSpecType = reflect.TypeFor[BalanceSpec]()
)

// unwrap strips anchors and tags from a node.
func unwrap(n ast.Node) ast.Node {
	for {
		switch v := n.(type) {
		case *ast.AnchorNode:
			n = v.Value
		case *ast.TagNode:
			n = v.Value
		default:
			return n
		}
	}
}

func posOf(n ast.Node) Pos {
	if n == nil || n.GetToken() == nil {
		return Pos{}
	}
	tk := n.GetToken()
	return Pos{Line: tk.Position.Line, Col: tk.Position.Column}
}

func keyName(mv *ast.MappingValueNode) string {
	if tk := mv.Key.GetToken(); tk != nil {
		return tk.Value
	}
	return mv.Key.String()
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// yamlFields returns the YAML keys of struct type t with their field types,
// following inline fields.
func yamlFields(t reflect.Type) map[string]reflect.Type {
	out := map[string]reflect.Type{}
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("yaml")
		name, opts, _ := strings.Cut(tag, ",")
		if name == "-" {
			continue
		}
		if strings.Contains(opts, "inline") || (f.Anonymous && tag == "") {
			ft := f.Type
			if ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct {
				for k, v := range yamlFields(ft) {
					if _, taken := out[k]; !taken {
						out[k] = v
					}
				}
			}
			continue
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		out[name] = f.Type
	}
	return out
}

// walk records the position of every node under n at path and reports keys
// that type t does not have.
func walk(n ast.Node, t reflect.Type, path string, pos positions, c *collector) {
	n = unwrap(n)
	if n == nil {
		return
	}
	if _, seen := pos[path]; !seen {
		pos[path] = posOf(n)
	}
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == nil {
		return
	}
	if t == balanceSpecType {
		t = reflect.TypeFor[balance.Config]()
		if _, scalar := n.(*ast.MappingNode); !scalar {
			return
		}
	}
	if t == durationType || reflect.PointerTo(t).Implements(textUnmarshaler) {
		checkScalar(n, t, path, c)
		return
	}
	if t.Kind() == reflect.Interface {
		return
	}
	switch v := n.(type) {
	case *ast.MappingNode:
		walkMapping(v.Values, t, path, pos, c)
	case *ast.MappingValueNode:
		walkMapping([]*ast.MappingValueNode{v}, t, path, pos, c)
	case *ast.SequenceNode:
		if t.Kind() != reflect.Slice && t.Kind() != reflect.Array {
			return
		}
		for i, e := range v.Values {
			walk(e, t.Elem(), path+"["+strconv.Itoa(i)+"]", pos, c)
		}
	}
}

func walkMapping(values []*ast.MappingValueNode, t reflect.Type, path string, pos positions, c *collector) {
	switch t.Kind() {
	case reflect.Map:
		for _, mv := range values {
			k := join(path, keyName(mv))
			pos[k] = posOf(mv.Key)
			walk(mv.Value, t.Elem(), k, pos, c)
		}
	case reflect.Struct:
		fields := yamlFields(t)
		for _, mv := range values {
			name := keyName(mv)
			k := join(path, name)
			pos[k] = posOf(mv.Key)
			ft, ok := fields[name]
			if !ok {
				if c != nil {
					c.addAt(posOf(mv.Key), "%s", unknownKey(name, path, fields))
				}
				continue
			}
			walk(mv.Value, ft, k, pos, c)
		}
	}
}

func unknownKey(name, path string, fields map[string]reflect.Type) string {
	known := make([]string, 0, len(fields))
	for k := range fields {
		known = append(known, k)
	}
	sort.Strings(known)
	where := "here"
	if path != "" {
		where = "in " + path
	}
	msg := "unknown key " + strconv.Quote(name) + " " + where
	if s := closest(name, known); s != "" {
		msg += "; did you mean " + strconv.Quote(s) + "?"
	}
	return msg + " (known keys: " + strings.Join(known, ", ") + ")"
}

// checkScalar parses a leaf value the way decoding will, so that a bad value
// is reported at its own position.
func checkScalar(n ast.Node, t reflect.Type, path string, c *collector) {
	if c == nil {
		return
	}
	switch n.(type) {
	case *ast.MappingNode, *ast.SequenceNode, *ast.NullNode:
		return
	}
	tk := n.GetToken()
	if tk == nil {
		return
	}
	if t == durationType {
		if _, err := time.ParseDuration(tk.Value); err != nil {
			c.addAt(posOf(n), "%s: %q is not a duration; write one like 250ms, 2s or 1m30s", lastKey(path), tk.Value)
			c.badValues++
		}
		return
	}
	v, ok := reflect.New(t).Interface().(encoding.TextUnmarshaler)
	if !ok {
		return
	}
	if err := v.UnmarshalText([]byte(tk.Value)); err != nil {
		c.addAt(posOf(n), "%s: %v", lastKey(path), err)
		c.badValues++
	}
}

func lastKey(path string) string {
	if i := strings.LastIndex(path, "."); i >= 0 {
		return path[i+1:]
	}
	return path
}
