package edge

import (
	"slices"
	"strings"
	"sync/atomic"

	"github.com/tinylib/msgp/msgp"
)

// Counting what is routed costs the routing nothing it can feel: a
// session's reader counts in plain fields of its own, and shows them to
// Router.Stats once per burst through atomics only it writes, on its
// own cache line. No counter is shared by the readers of several cores.
// A session that ends folds its counts into the router's totals, under
// the lock Stats reads them with, so that none is counted twice or lost.

// StatsProcedure is the router's own procedure, in every realm: its one
// positional result is a dict of the figures in Stats.
const StatsProcedure = "wampedge.stats"

// counts are what a session's reader counted.
type counts struct {
	published uint64 // PUBLISHes routed
	delivered uint64 // EVENTs they queued for subscribers
	calls     uint64 // CALLs (the later chunks of a progressive call invocation are not counted)
}

func (c *counts) add(o counts) {
	c.published += o.published
	c.delivered += o.delivered
	c.calls += o.calls
}

// shownCounts are a reader's counts as Stats may read them.
type shownCounts struct{ published, delivered, calls atomic.Uint64 }

// showCounts publishes the reader's counts; those that did not change
// cost a load.
func (s *session) showCounts() {
	c, sh := &s.counted, &s.shown
	if sh.published.Load() != c.published {
		sh.published.Store(c.published)
	}
	if sh.delivered.Load() != c.delivered {
		sh.delivered.Store(c.delivered)
	}
	if sh.calls.Load() != c.calls {
		sh.calls.Store(c.calls)
	}
}

func (sh *shownCounts) load() counts {
	return counts{sh.published.Load(), sh.delivered.Load(), sh.calls.Load()}
}

// byteCounter is a transport that counts its bytes (rawsocket.Conn).
type byteCounter interface {
	Bytes() (received, sent uint64)
}

// The classes of the ERRORs callers get, in the order Stats lists them.
var CallErrorClasses = []string{"no_such_procedure", "canceled", "timeout", "not_authorized", "application", "other"}

const (
	classNoSuchProcedure = iota
	classCanceled
	classTimeout
	classNotAuthorized
	classApplication
	classOther
	numClasses
)

// callErrorClass classes an ERROR's URI; fallback is the class of a URI
// that is none of the router's: application for a callee's, other for
// the router's own.
func callErrorClass(uri string, fallback int) int {
	switch uri {
	case errNoSuchProcedure:
		return classNoSuchProcedure
	case errCanceled:
		return classCanceled
	case errTimeout:
		return classTimeout
	case errNotAuthorized:
		return classNotAuthorized
	}
	return fallback
}

// countCallError counts an ERROR a caller gets. Not on the routing path:
// a router-wide atomic will do.
func (r *Router) countCallError(uri string, fallback int) {
	r.callErrors[callErrorClass(uri, fallback)].Add(1)
}

// Transports are the transports wampedge_sessions is broken down by,
// each listed in every realm even with no session.
var Transports = []string{"tcp", "tls", "unix", "serial"}

// transportOf names the transport of a session that came in on a
// listener (its URL): its scheme; a session in the router's own process
// is "internal".
func transportOf(listener string, internal bool) string {
	if scheme, _, ok := strings.Cut(listener, "://"); ok && !internal {
		return scheme
	}
	return "internal"
}

// Stats are the router's figures: gauges now, and counters since it
// started.
type Stats struct {
	Sessions           int            // sessions now joined to a realm
	SessionsBy         []SessionCount // by realm (in name order) and transport (Transports, then any other)
	EventsPublished    uint64         // PUBLISHes routed
	EventsDelivered    uint64         // EVENTs queued for subscribers: one per subscriber reached
	Calls              uint64         // CALLs
	CallErrors         map[string]uint64
	BytesReceived      uint64 // by the router, on its clients' connections (RawSocket frames)
	BytesSent          uint64
	AuthFailures       uint64 // joins refused for a wrong secret or signature
	SlowConsumerKills  uint64 // sessions disconnected for a full queue
	DroppedEvents      uint64 // events dropped: queue full (drop policy) or too large for the peer
	ProtocolViolations uint64 // sessions aborted for protocol violations
}

// SessionCount is the number of sessions of one realm on one transport.
type SessionCount struct {
	Realm, Transport string
	Sessions         int
}

// Stats returns the router's figures.
func (r *Router) Stats() Stats {
	st := Stats{
		AuthFailures:       r.authFailures.Load(),
		SlowConsumerKills:  r.slowKills.Load(),
		DroppedEvents:      r.droppedEvents.Load(),
		ProtocolViolations: r.violations.Load(),
		CallErrors:         make(map[string]uint64, numClasses),
	}
	for i, class := range CallErrorClasses {
		st.CallErrors[class] = r.callErrors[i].Load()
	}
	r.mu.Lock()
	total, bytesIn, bytesOut := r.ended, r.endedBytes[0], r.endedBytes[1]
	for s := range r.sessions {
		total.add(s.shown.load())
		if bc, ok := s.t.(byteCounter); ok && !s.internal {
			in, out := bc.Bytes()
			bytesIn, bytesOut = bytesIn+in, bytesOut+out
		}
	}
	realms := make([]*realm, 0, len(r.realms))
	for _, rl := range r.realms {
		realms = append(realms, rl)
	}
	r.mu.Unlock()
	st.EventsPublished, st.EventsDelivered, st.Calls = total.published, total.delivered, total.calls
	st.BytesReceived, st.BytesSent = bytesIn, bytesOut
	slices.SortFunc(realms, func(a, b *realm) int { return strings.Compare(a.name, b.name) })
	for _, rl := range realms {
		st.SessionsBy = append(st.SessionsBy, rl.sessionCounts()...)
	}
	for _, c := range st.SessionsBy {
		st.Sessions += c.Sessions
	}
	return st
}

// foldLocked adds the counts of a session that ends to the router's totals;
// r.mu is held.
func (r *Router) foldLocked(s *session) {
	r.ended.add(s.counted)
	if bc, ok := s.t.(byteCounter); ok && !s.internal {
		in, out := bc.Bytes()
		r.endedBytes[0] += in
		r.endedBytes[1] += out
	}
}

// sessionCounts are the realm's sessions by transport: every one of
// Transports, then the others there are.
func (rl *realm) sessionCounts() []SessionCount {
	out := make([]SessionCount, len(Transports))
	for i, t := range Transports {
		out[i] = SessionCount{Realm: rl.name, Transport: t}
	}
	rl.mu.Lock()
	defer rl.mu.Unlock()
	for _, s := range rl.sessions {
		i := slices.IndexFunc(out, func(c SessionCount) bool { return c.Transport == s.transport })
		if i < 0 {
			out = append(out, SessionCount{Realm: rl.name, Transport: s.transport})
			i = len(out) - 1
		}
		out[i].Sessions++
	}
	return out
}

// Dict is the figures as wampedge.stats answers them, keys in a fixed
// order.
func (st Stats) Dict() Dict {
	by := make([]any, len(st.SessionsBy))
	for i, c := range st.SessionsBy {
		by[i] = Dict{{"realm", c.Realm}, {"transport", c.Transport}, {"sessions", c.Sessions}}
	}
	errs := make(Dict, len(CallErrorClasses))
	for i, class := range CallErrorClasses {
		errs[i] = Field{class, st.CallErrors[class]}
	}
	return Dict{
		{"sessions", st.Sessions},
		{"sessions_by", by},
		{"events_published", st.EventsPublished},
		{"events_delivered", st.EventsDelivered},
		{"events_dropped", st.DroppedEvents},
		{"calls", st.Calls},
		{"call_errors", errs},
		{"bytes_received", st.BytesReceived},
		{"bytes_sent", st.BytesSent},
		{"slow_consumer_disconnections", st.SlowConsumerKills},
		{"protocol_violations", st.ProtocolViolations},
		{"auth_failures", st.AuthFailures},
	}
}

// statsResult is what wampedge.stats answers: Config.Stats's dict, or
// the router's figures alone.
func (r *Router) statsResult() Dict {
	st := r.Stats()
	if r.cfg.Stats != nil {
		return r.cfg.Stats(st)
	}
	return st.Dict()
}

// Dict is a WAMP dict whose keys go on the wire in the order given, for
// answers people read (a Go map's order changes from call to call).
// Values are what msgp.AppendIntf encodes, Dicts included.
type Dict []Field

// Field is one key of a Dict.
type Field struct {
	Key   string
	Value any
}

// MarshalMsg appends the dict as MessagePack (msgp.Marshaler).
func (d Dict) MarshalMsg(b []byte) ([]byte, error) {
	b = msgp.AppendMapHeader(b, uint32(len(d)))
	for _, f := range d {
		var err error
		if b, err = msgp.AppendIntf(msgp.AppendString(b, f.Key), f.Value); err != nil {
			return b, err
		}
	}
	return b, nil
}

// Map is the dict as a Go map, nested Dicts too.
func (d Dict) Map() map[string]any {
	m := make(map[string]any, len(d))
	for _, f := range d {
		if sub, ok := f.Value.(Dict); ok {
			m[f.Key] = sub.Map()
		} else {
			m[f.Key] = f.Value
		}
	}
	return m
}
