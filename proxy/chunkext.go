package proxy

import (
	"strconv"
	"strings"
)

// The chunked grammar the framing check holds chunk lines to (RFC 9112
// §7.1): net/http reads the size and skips everything after ';' unparsed,
// so a line another parser reads differently (an unclosed quote swallowing
// the CRLF) would pass through it.

// chunkSize parses a chunk-size line (with its line end): hex digits, then
// optional extensions ;name[=token|"quoted"], CRLF. Only what net/http would
// accept while ignoring the extensions is checked here.
func chunkSize(line []byte) (int64, bool) {
	s := string(line)
	if !strings.HasSuffix(s, "\r\n") {
		return 0, false
	}
	s = s[:len(s)-2]
	hex, ext, hasExt := strings.Cut(s, ";")
	hex = strings.TrimRight(hex, " \t")
	if hex == "" || len(hex) > 16 {
		return 0, false
	}
	n, err := strconv.ParseUint(hex, 16, 63)
	if err != nil {
		return 0, false
	}
	if hasExt && !validExtensions(ext) {
		return 0, false
	}
	return int64(n), true
}

// validExtensions checks chunk-ext after the first ';' (RFC 9112 §7.1.1):
// *( BWS ";" BWS name [ BWS "=" BWS ( token / quoted-string ) ] ).
func validExtensions(s string) bool {
	for {
		s = strings.TrimLeft(s, " \t")
		name := tokenPrefix(s)
		if name == "" {
			return false
		}
		s = strings.TrimLeft(s[len(name):], " \t")
		if strings.HasPrefix(s, "=") {
			s = strings.TrimLeft(s[1:], " \t")
			if strings.HasPrefix(s, `"`) {
				end, ok := quotedEnd(s)
				if !ok {
					return false
				}
				s = s[end:]
			} else {
				v := tokenPrefix(s)
				if v == "" {
					return false
				}
				s = s[len(v):]
			}
			s = strings.TrimLeft(s, " \t")
		}
		if s == "" {
			return true
		}
		if s[0] != ';' {
			return false
		}
		s = s[1:]
	}
}

// quotedEnd returns the index just past the closing quote of the
// quoted-string s starts with.
func quotedEnd(s string) (int, bool) {
	for i := 1; i < len(s); i++ {
		switch c := s[i]; {
		case c == '"':
			return i + 1, true
		case c == '\\':
			i++
		case c < 0x20 && c != '\t', c == 0x7f:
			return 0, false
		}
	}
	return 0, false
}

func tokenPrefix(s string) string {
	i := 0
	for i < len(s) && isTokenByte(s[i]) {
		i++
	}
	return s[:i]
}

func isTokenByte(c byte) bool {
	if c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' {
		return true
	}
	return strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0
}
