package uplink

import (
	"fmt"
	"strings"
)

// Direction is what a rule forwards.
type Direction string

const (
	TopicsOut     Direction = "topics_out"     // local events → cloud
	TopicsIn      Direction = "topics_in"      // cloud events → local
	ProceduresOut Direction = "procedures_out" // local registrations → cloud
	ProceduresIn  Direction = "procedures_in"  // local calls → cloud
)

// Match policies of a rule's URIs.
const (
	MatchPrefix   = "prefix" // the default
	MatchExact    = "exact"
	MatchWildcard = "wildcard"
)

// Rule maps URIs between the local realm and the cloud realm.
type Rule struct {
	Direction Direction
	// Local and Cloud are URI prefixes (Match prefix: "com.plant." maps
	// com.plant.temp to Cloud+"temp"), exact URIs, or wildcard patterns
	// with the same number of empty components (the components a URI
	// has there carry over, in order).
	Local, Cloud string
	Match        string
}

// check names what is wrong with a rule.
func (r *Rule) check() error {
	switch r.Direction {
	case TopicsOut, TopicsIn, ProceduresOut, ProceduresIn:
	default:
		return fmt.Errorf("direction %q: want topics_out, topics_in, procedures_out or procedures_in", r.Direction)
	}
	switch r.Match {
	case "":
		r.Match = MatchPrefix
	case MatchPrefix, MatchExact, MatchWildcard:
	default:
		return fmt.Errorf("match %q: want prefix, exact or wildcard", r.Match)
	}
	if r.Match == MatchExact && (r.Local == "" || r.Cloud == "") {
		return fmt.Errorf("an exact rule needs both a local and a cloud URI")
	}
	if r.Match == MatchWildcard && wildcards(r.Local) != wildcards(r.Cloud) {
		return fmt.Errorf("wildcard patterns %q and %q have different numbers of empty components", r.Local, r.Cloud)
	}
	for _, u := range []string{r.Local, r.Cloud} {
		if internalURI(u) && u != "" {
			return fmt.Errorf("%q: wamp. and wampedge.uplink. URIs are not forwarded", u)
		}
	}
	return nil
}

func wildcards(pattern string) int {
	n := 0
	for c := range strings.SplitSeq(pattern, ".") {
		if c == "" {
			n++
		}
	}
	return n
}

// internalURI is a URI the bridge never forwards: the router's meta API
// and the bridge's own.
func internalURI(u string) bool {
	return strings.HasPrefix(u, "wamp.") || strings.HasPrefix(u, "wampedge.uplink.")
}

// toCloud maps a concrete local URI to the cloud, if the rule covers it.
func (r *Rule) toCloud(u string) (string, bool) { return mapURI(u, r.Local, r.Cloud, r.Match) }

// toLocal maps a concrete cloud URI to the local realm.
func (r *Rule) toLocal(u string) (string, bool) { return mapURI(u, r.Cloud, r.Local, r.Match) }

func mapURI(u, from, to, match string) (string, bool) {
	if internalURI(u) {
		return "", false
	}
	switch match {
	case MatchExact:
		if u != from {
			return "", false
		}
		return to, true
	case MatchWildcard:
		comps, pattern := strings.Split(u, "."), strings.Split(from, ".")
		if len(comps) != len(pattern) {
			return "", false
		}
		var fill []string
		for i, p := range pattern {
			switch {
			case p == "":
				fill = append(fill, comps[i])
			case p != comps[i]:
				return "", false
			}
		}
		out := strings.Split(to, ".")
		for i := range out {
			if out[i] == "" {
				out[i], fill = fill[0], fill[1:]
			}
		}
		return strings.Join(out, "."), true
	}
	if !strings.HasPrefix(u, from) {
		return "", false
	}
	return to + u[len(from):], true
}

// mapPattern maps a local registration (a URI with its own match policy)
// into the cloud for a procedures_out rule: an exact registration the
// rule covers, or a pattern registration inside a prefix rule.
func (r *Rule) mapPattern(uri, match string) (string, bool) {
	if match == MatchExact || match == "" {
		return r.toCloud(uri)
	}
	if r.Match != MatchPrefix || internalURI(uri) || !strings.HasPrefix(uri, r.Local) {
		return "", false
	}
	return r.Cloud + uri[len(r.Local):], true
}
