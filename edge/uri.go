package edge

import (
	"unicode"
	"unicode/utf8"
)

// URI checks (WAMP.md §4). Loose rules by default: components are
// non-empty and hold no '.', '#' or white space (Unicode's, which RE2's
// \s would miss). Strict rules: components of [0-9a-z_] only. Neither
// allocates.

// validURI reports whether u is a valid URI without empty components.
func validURI(u []byte, strict bool) bool {
	if len(u) == 0 {
		return false
	}
	n := 0 // length of the current component
	for i := 0; i < len(u); {
		c := u[i]
		if c == '.' {
			if n == 0 {
				return false
			}
			n, i = 0, i+1
			continue
		}
		if strict {
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_') {
				return false
			}
			n, i = n+1, i+1
			continue
		}
		if c == '#' {
			return false
		}
		if c < utf8.RuneSelf {
			if c == ' ' || c >= '\t' && c <= '\r' {
				return false
			}
			n, i = n+1, i+1
			continue
		}
		r, size := utf8.DecodeRune(u[i:])
		if r == utf8.RuneError && size == 1 || unicode.IsSpace(r) {
			return false
		}
		n, i = n+1, i+size
	}
	return n > 0
}

// reserved reports whether u is in the router's own wamp. namespace.
func reserved(u []byte) bool {
	return len(u) >= 5 && string(u[:5]) == "wamp." || string(u) == "wamp"
}
