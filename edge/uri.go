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

// validPattern reports whether u is a valid URI for a subscription or
// registration with the given match policy: a wildcard may have empty
// components anywhere, a prefix only at the end ("com.example." as
// Autobahn allows; "" matches every URI).
func validPattern(u []byte, strict bool, match string) bool {
	if match == matchExact {
		return validURI(u, strict)
	}
	for {
		comp, rest, more := cutDot(u)
		switch {
		case len(comp) > 0:
			if !validURI(comp, strict) {
				return false
			}
		case match == matchPrefix && more:
			return false
		}
		if !more {
			return true
		}
		u = rest
	}
}
