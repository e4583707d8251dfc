package edge

import (
	"slices"
	"strings"
)

// Match policies of SUBSCRIBE and REGISTER (WAMP.md §8.2, §8.3).
const (
	matchExact    = "exact"
	matchPrefix   = "prefix"
	matchWildcard = "wildcard"
)

// patterns indexes prefix and wildcard URIs so that matching a concrete
// URI costs one map lookup per distinct prefix length, and one trie walk
// along the URI's components — never a scan of every pattern. Neither
// lookup allocates. T is *subscription or *registration.
type patterns[T comparable] struct {
	prefix  map[string]T
	lengths []int       // distinct lengths of the prefixes, ascending
	count   map[int]int // prefixes of each length
	wild    wildNode[T]
	nwild   int
}

// wildNode is a trie over URI components; an empty component (the
// wildcard) is the any edge.
type wildNode[T comparable] struct {
	next map[string]*wildNode[T]
	any  *wildNode[T]
	val  T // the pattern ending here, or the zero T
}

func (p *patterns[T]) empty() bool { return len(p.prefix) == 0 && p.nwild == 0 }

func (p *patterns[T]) get(uri, match string) T {
	if match == matchPrefix {
		return p.prefix[uri]
	}
	n := &p.wild
	for comp := range strings.SplitSeq(uri, ".") {
		if n = n.child(comp); n == nil {
			var zero T
			return zero
		}
	}
	return n.val
}

func (p *patterns[T]) add(uri, match string, v T) {
	if match == matchPrefix {
		if p.prefix == nil {
			p.prefix, p.count = make(map[string]T), make(map[int]int)
		}
		p.prefix[uri] = v
		if p.count[len(uri)]++; p.count[len(uri)] == 1 {
			i, _ := slices.BinarySearch(p.lengths, len(uri))
			p.lengths = slices.Insert(p.lengths, i, len(uri))
		}
		return
	}
	n := &p.wild
	for comp := range strings.SplitSeq(uri, ".") {
		n = n.makeChild(comp)
	}
	n.val = v
	p.nwild++
}

func (p *patterns[T]) remove(uri, match string) {
	if match == matchPrefix {
		if _, ok := p.prefix[uri]; !ok {
			return
		}
		delete(p.prefix, uri)
		if p.count[len(uri)]--; p.count[len(uri)] == 0 {
			delete(p.count, len(uri))
			i, _ := slices.BinarySearch(p.lengths, len(uri))
			p.lengths = slices.Delete(p.lengths, i, i+1)
		}
		return
	}
	if p.wild.remove(uri) {
		p.nwild--
	}
}

func (n *wildNode[T]) child(comp string) *wildNode[T] {
	if comp == "" {
		return n.any
	}
	return n.next[comp]
}

func (n *wildNode[T]) makeChild(comp string) *wildNode[T] {
	if c := n.child(comp); c != nil {
		return c
	}
	c := &wildNode[T]{}
	if comp == "" {
		n.any = c
	} else {
		if n.next == nil {
			n.next = make(map[string]*wildNode[T])
		}
		n.next[comp] = c
	}
	return c
}

// remove clears the pattern uri below n and prunes the nodes left
// empty; it reports whether there was one.
func (n *wildNode[T]) remove(uri string) bool {
	var zero T
	comp, rest, more := strings.Cut(uri, ".")
	c := n.child(comp)
	if c == nil {
		return false
	}
	if more {
		if !c.remove(rest) {
			return false
		}
	} else {
		if c.val == zero {
			return false
		}
		c.val = zero
	}
	if c.val == zero && c.any == nil && len(c.next) == 0 {
		if comp == "" {
			n.any = nil
		} else {
			delete(n.next, comp)
		}
	}
	return true
}

// appendMatches appends every pattern that matches uri: the prefixes
// first, shortest first, then the wildcards.
func (p *patterns[T]) appendMatches(out []T, uri []byte) []T {
	for _, l := range p.lengths {
		if l > len(uri) {
			break
		}
		if v, ok := p.prefix[string(uri[:l])]; ok {
			out = append(out, v)
		}
	}
	if p.nwild > 0 {
		out = p.wild.appendMatches(out, uri)
	}
	return out
}

func (n *wildNode[T]) appendMatches(out []T, uri []byte) []T {
	var zero T
	comp, rest, more := cutDot(uri)
	if c := n.next[string(comp)]; c != nil {
		if !more {
			if c.val != zero {
				out = append(out, c.val)
			}
		} else {
			out = c.appendMatches(out, rest)
		}
	}
	if c := n.any; c != nil {
		if !more {
			if c.val != zero {
				out = append(out, c.val)
			}
		} else {
			out = c.appendMatches(out, rest)
		}
	}
	return out
}

// best returns the pattern a call to uri goes to: the longest prefix,
// else the wildcard whose literal components come earliest (WAMP.md
// §8.3: a literal beats a wildcard at the first place they differ).
func (p *patterns[T]) best(uri []byte) T {
	var zero T
	for i := len(p.lengths) - 1; i >= 0; i-- {
		l := p.lengths[i]
		if l > len(uri) {
			continue
		}
		if v, ok := p.prefix[string(uri[:l])]; ok {
			return v
		}
	}
	if p.nwild == 0 {
		return zero
	}
	return p.wild.best(uri)
}

func (n *wildNode[T]) best(uri []byte) T {
	var zero T
	comp, rest, more := cutDot(uri)
	for _, c := range [2]*wildNode[T]{n.next[string(comp)], n.any} { // literal first
		if c == nil {
			continue
		}
		if !more {
			if c.val != zero {
				return c.val
			}
			continue
		}
		if v := c.best(rest); v != zero {
			return v
		}
	}
	return zero
}

// cutDot splits off a URI's first component.
func cutDot(uri []byte) (comp, rest []byte, more bool) {
	for i, c := range uri {
		if c == '.' {
			return uri[:i], uri[i+1:], true
		}
	}
	return uri, nil, false
}
