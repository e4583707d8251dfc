package interop

import (
	"errors"

	"fmt"
	"github.com/wampedge/wampedge/internal/testutil"
	"strings"
	"testing"
	"time"
)

// env is one row of the matrix (a peer kind over one transport with one
// serializer) while one scenario runs.
type env struct {
	t         *testing.T
	kind      peerKind
	transport string
	ser       string
	router    target
	dir       string
	prefix    string // URI prefix unique to this row and scenario
	peers     []Peer
	proxies   []*proxy
	log       *testutil.SyncBuffer // the frame log of this scenario
	// naWhy is why the scenario is n/a; reducedWhy what it left out.
	naWhy        string
	reducedWhy   []string
	modesLacking []string // cancel modes the library lacks, why
}

// peer starts a session of the row's kind and serializer.
func (e *env) peer(label string) Peer { return e.peerOf(e.kind, e.ser, label) }

// peerOf starts a session of any kind, through a proxy of its own.
func (e *env) peerOf(kind peerKind, ser, label string) Peer {
	e.t.Helper()
	px, err := newProxy(e.transport, e.dir, e.router.target(e.transport), label, e.log)
	if err != nil {
		e.t.Fatal(err)
	}
	e.proxies = append(e.proxies, px)
	p, err := kind.start(px.url, ser)
	if err != nil {
		e.t.Fatalf("%s (%s, %s): %v", kind.name, e.transport, ser, err)
	}
	if kind.inProcess {
		p = killViaProxy{p, px}
	}
	e.peers = append(e.peers, p)
	return p
}

// partner is a session with the other serializer: the same library when
// it speaks both, else wampedge's own client.
func (e *env) partner(label string) (Peer, string) {
	other := map[string]string{"json": "msgpack", "msgpack": "json"}[e.ser]
	kind := e.kind
	if !contains(kind.serializers, other) {
		kind = edgeKind
	}
	return e.peerOf(kind, other, label), kind.name + "/" + other
}

var edgeKind = peerKind{name: "wampedge-client", serializers: []string{"json", "msgpack"}, inProcess: true, start: startEdgePeer}

func contains(list []string, v string) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

// killViaProxy kills an in-process peer by dropping its connection.
type killViaProxy struct {
	Peer
	px *proxy
}

func (k killViaProxy) Kill() { k.px.drop() }

func (e *env) cleanup() {
	for _, p := range e.peers {
		if pp, ok := p.(*procPeer); ok {
			pp.stop()
		}
	}
	for _, px := range e.proxies {
		px.close()
	}
}

// uri is a name unique to this row and scenario.
func (e *env) uri(name string) string { return e.prefix + "." + name }

// lacks marks the scenario not applicable when the library lacks a
// feature.
func (e *env) lacks(feature string) {
	e.t.Helper()
	if why, ok := e.kind.lacks[feature]; ok {
		e.t.Skip(why)
	}
}

// ack is whether publishes can ask for acknowledge with this library.
func (e *env) ack() bool {
	_, lacks := e.kind.lacks["acknowledge"]
	return !lacks
}

// maxLen is the largest message this library accepts.
func (e *env) maxLen() int {
	if e.kind.maxLen > 0 {
		return e.kind.maxLen
	}
	return peerMaxLen
}

func (e *env) must(err error, what string) {
	e.t.Helper()
	if err != nil {
		e.unsupported(err, what)
		e.t.Fatalf("%s: %v", what, err)
	}
}

// unsupported ends the scenario as n/a when err is a library's refusal
// of something it does not have ("unsupported: ..."), with the reason.
func (e *env) unsupported(err error, what string) {
	e.t.Helper()
	if why, ok := unsupportedWhy(err); ok {
		e.na(fmt.Sprintf("%s: unsupported: %s", what, why))
	}
}

// na ends the scenario as not applicable, giving the reason for the
// matrix.
func (e *env) na(why string) {
	e.t.Helper()
	e.naWhy = why
	e.t.Skip(why)
}

// reduced notes a part of the scenario left out because the library
// lacks it; the matrix lists it.
func (e *env) reduced(why string) {
	e.t.Helper()
	e.t.Log("reduced: " + why)
	e.reducedWhy = append(e.reducedWhy, why)
}

// nextEvent waits for p's next event.
func (e *env) nextEvent(p Peer, what string) Event {
	e.t.Helper()
	select {
	case ev := <-p.Events():
		return ev
	case <-time.After(opTimeout):
		e.t.Fatalf("no event (%s) within %v", what, opTimeout)
	}
	return Event{}
}

// expectEvent waits for p's next event and checks its payload.
func (e *env) expectEvent(p Peer, want Payload, what string) {
	e.t.Helper()
	if err := samePayload(want, e.nextEvent(p, what).Payload); err != nil {
		e.t.Fatalf("%s: %v", what, err)
	}
}

// expectEvents waits for len(want) events of p, in order, or as a set
// when the library does not keep the order in which events arrive.
func (e *env) expectEvents(p Peer, what string, want ...Payload) {
	e.t.Helper()
	if _, unordered := e.kind.lacks["event_order"]; !unordered {
		for i, w := range want {
			e.expectEvent(p, w, fmt.Sprintf("%s %d", what, i))
		}
		return
	}
	left := append([]Payload{}, want...)
	for range want {
		ev := e.nextEvent(p, what)
		found := false
		for i, w := range left {
			if samePayload(w, ev.Payload) == nil {
				left, found = append(left[:i], left[i+1:]...), true
				break
			}
		}
		if !found {
			e.t.Fatalf("%s: an event that was not expected: %v", what, ev.Payload)
		}
	}
}

// barrier proves that p got no event before this point: a marker is
// published on a fresh topic, and it must be p's very next event.
func (e *env) barrier(p, publisher Peer, name string) {
	e.t.Helper()
	topic := e.uri("barrier." + strings.ReplaceAll(name, " ", "_"))
	_, err := p.Subscribe(topic)
	e.must(err, "subscribe to the barrier")
	marker := Payload{Args: []any{"barrier " + name}}
	e.must(publisher.Publish(topic, marker, e.ack(), nil), "publish the barrier")
	ev := e.nextEvent(p, "barrier "+name)
	if err := samePayload(marker, ev.Payload); err != nil {
		e.t.Fatalf("an event arrived that should not have: %v", err)
	}
}

func (e *env) expectError(err error, uri, what string) {
	e.t.Helper()
	e.unsupported(err, what)
	if got := errorURI(err); got != uri {
		e.t.Fatalf("%s: got %v, want the error %s", what, err, uri)
	}
}

// The payloads the scenarios send.
var (
	positional = Payload{Args: []any{"hello", num(42), num(-7), dec("1.5")}}
	keyword    = Payload{Kwargs: map[string]any{"name": "sensor-1", "ok": true}}
	both       = Payload{Args: []any{"temp", dec("21.25")}, Kwargs: map[string]any{"unit": "C", "id": num(7)}}
	// rich is the mixed-serializer payload: everything JSON and
	// MessagePack must carry alike.
	rich = Payload{
		Args: []any{
			"unicode: héllo wörld ☃ 日本語 🚀", bin([]byte{0, 1, 2, 0xfe, 0xff}), num(-42), dec("-9007199254740992"),
			dec("9007199254740992"), dec("3.14159"), dec("-0.25"), true, false, nil,
			[]any{num(1), []any{"nested", []any{}}, map[string]any{"k": []any{nil, true}}}, []any{},
			strings.Repeat("x", 1<<20),
		},
		Kwargs: map[string]any{
			"bin": bin([]byte("binary\x00data")), "max": dec("9007199254740992"), "neg": num(-1),
			"float": dec("2.5e-8"), "nested": map[string]any{"list": []any{num(1), "two", map[string]any{}}},
			"empty": []any{}, "null": nil, "text": "ünïcødé",
		},
	}
)

// scenario is one column of the matrix.
// withoutBinary returns p without its binary values.
func withoutBinary(p Payload) Payload {
	var args []any
	for _, v := range p.Args {
		if s, ok := v.(string); !ok || !strings.HasPrefix(s, "\x00") {
			args = append(args, v)
		}
	}
	kwargs := map[string]any{}
	for k, v := range p.Kwargs {
		if s, ok := v.(string); !ok || !strings.HasPrefix(s, "\x00") {
			kwargs[k] = v
		}
	}
	return Payload{Args: args, Kwargs: kwargs}
}

type scenario struct {
	name string
	run  func(e *env)
}

// scenarios are the matrix's columns: the Basic Profile ones, then the
// Advanced Profile ones (scenarios_advanced.go).
var scenarios = append(basicScenarios, advancedScenarios...)

var basicScenarios = []scenario{
	{"pubsub", func(e *env) {
		a, b := e.peer("sub"), e.peer("pub")
		topic := e.uri("t")
		_, err := a.Subscribe(topic)
		e.must(err, "subscribe")
		for i, p := range []Payload{positional, keyword, both} {
			e.must(b.Publish(topic, p, false, nil), "publish")
			e.expectEvent(a, p, fmt.Sprintf("event %d", i))
		}
	}},
	{"exclude_me", func(e *env) {
		a, b := e.peer("a"), e.peer("b")
		topic := e.uri("t")
		for _, p := range []Peer{a, b} {
			_, err := p.Subscribe(topic)
			e.must(err, "subscribe")
		}
		first, second := Payload{Args: []any{"excluded by default"}}, Payload{Args: []any{"exclude_me false"}}
		no := false
		e.must(a.Publish(topic, first, e.ack(), nil), "publish")
		e.must(a.Publish(topic, second, e.ack(), &no), "publish with exclude_me false")
		e.expectEvents(b, "the other subscriber's events", first, second)
		e.expectEvent(a, second, "the publisher's own event (exclude_me false), and not the first one")
	}},
	{"acknowledge", func(e *env) {
		e.lacks("acknowledge")
		a := e.peer("pub")
		e.must(a.Publish(e.uri("t"), both, true, nil), "acknowledged publish (PUBLISHED)")
		// The router answers invalid_uri; some libraries check URIs
		// themselves and refuse to send (a local error, no URI).
		err := a.Publish("bad..uri", both, true, nil)
		if err == nil || (errorURI(err) != "" && errorURI(err) != "wamp.error.invalid_uri") {
			e.t.Fatalf("acknowledged publish to an invalid URI: got %v, want wamp.error.invalid_uri or a local refusal", err)
		}
	}},
	{"shared_sub", func(e *env) {
		a, b, c := e.peer("a"), e.peer("b"), e.peer("pub")
		topic := e.uri("t")
		sa, err := a.Subscribe(topic)
		e.must(err, "subscribe a")
		sb, err := b.Subscribe(topic)
		e.must(err, "subscribe b")
		e.must(c.Publish(topic, both, false, nil), "publish")
		e.expectEvent(a, both, "a's event")
		e.expectEvent(b, both, "b's event")
		e.lacks("subscription_ids")
		if sa != sb {
			e.t.Fatalf("two subscribers of one topic got subscription IDs %d and %d", sa, sb)
		}
	}},
	{"unsubscribe", func(e *env) {
		a, b, c := e.peer("a"), e.peer("b"), e.peer("pub")
		topic := e.uri("t")
		sa, err := a.Subscribe(topic)
		e.must(err, "subscribe a")
		_, err = b.Subscribe(topic)
		e.must(err, "subscribe b")
		e.must(a.Unsubscribe(sa), "unsubscribe")
		e.must(c.Publish(topic, positional, e.ack(), nil), "publish")
		e.expectEvent(b, positional, "the remaining subscriber's event")
		e.barrier(a, c, "after unsubscribe")
	}},
	{"rpc", func(e *env) {
		callee, caller := e.peer("callee"), e.peer("caller")
		proc := e.uri("echo")
		_, err := callee.Register(proc, "echo")
		e.must(err, "register")
		for _, p := range []Payload{positional, keyword, both} {
			res, err := caller.Call(proc, p)
			e.must(err, "call")
			if err := samePayload(p, res); err != nil {
				e.t.Fatal(err)
			}
		}
	}},
	{"app_error", func(e *env) {
		callee, caller := e.peer("callee"), e.peer("caller")
		proc := e.uri("fail")
		_, err := callee.Register(proc, "error")
		e.must(err, "register")
		_, err = caller.Call(proc, both)
		var we *WampError
		if !errors.As(err, &we) || we.URI != "com.example.error" {
			e.t.Fatalf("call: got %v, want the error com.example.error", err)
		}
		if err := samePayload(both, we.Payload); err != nil {
			e.t.Fatalf("the error's arguments: %v", err)
		}
	}},
	{"no_such_proc", func(e *env) {
		_, err := e.peer("caller").Call(e.uri("nobody"), positional)
		e.expectError(err, "wamp.error.no_such_procedure", "call of an unregistered procedure")
	}},
	{"proc_exists", func(e *env) {
		a, b := e.peer("a"), e.peer("b")
		proc := e.uri("once")
		_, err := a.Register(proc, "echo")
		e.must(err, "register")
		_, err = b.Register(proc, "echo")
		e.expectError(err, "wamp.error.procedure_already_exists", "second register")
	}},
	{"unregister", func(e *env) {
		callee, caller := e.peer("callee"), e.peer("caller")
		proc := e.uri("gone")
		reg, err := callee.Register(proc, "echo")
		e.must(err, "register")
		_, err = caller.Call(proc, positional)
		e.must(err, "call before unregister")
		e.must(callee.Unregister(reg), "unregister")
		_, err = caller.Call(proc, positional)
		e.expectError(err, "wamp.error.no_such_procedure", "call after unregister")
	}},
	{"mixed_ser", func(e *env) {
		rich := rich
		if len(rich.Args[len(rich.Args)-1].(string)) > e.maxLen()/2 {
			e.t.Logf("the library accepts messages of %d bytes: a shorter long string", e.maxLen())
			rich.Args = append(append([]any{}, rich.Args[:len(rich.Args)-1]...), strings.Repeat("x", e.maxLen()/2))
		}
		for _, why := range []string{e.router.lacks()["binary_transcoding"], e.kind.lacks["json_binary"]} {
			if why != "" {
				e.t.Logf("without binary values: %s", why)
				rich = withoutBinary(rich)
			}
		}
		a := e.peer("this")
		b, name := e.partner("other")
		e.t.Logf("partner: %s", name)
		topic, procA, procB := e.uri("t"), e.uri("a"), e.uri("b")
		for _, p := range []Peer{a, b} {
			_, err := p.Subscribe(topic)
			e.must(err, "subscribe")
		}
		_, err := a.Register(procA, "echo")
		e.must(err, "register a")
		_, err = b.Register(procB, "echo")
		e.must(err, "register b")
		e.must(a.Publish(topic, rich, e.ack(), nil), "publish from this serializer")
		e.expectEvent(b, rich, "event in the other serializer")
		e.must(b.Publish(topic, rich, true, nil), "publish from the other serializer")
		e.expectEvent(a, rich, "event in this serializer")
		for _, c := range []struct {
			caller Peer
			proc   string
		}{{a, procB}, {b, procA}} {
			res, err := c.caller.Call(c.proc, rich)
			e.must(err, "call across serializers")
			if err := samePayload(rich, res); err != nil {
				e.t.Fatal(err)
			}
		}
	}},
	{"max_length", func(e *env) {
		a, b := e.peer("sub"), e.peer("pub")
		topic := e.uri("t")
		_, err := a.Subscribe(topic)
		e.must(err, "subscribe")
		// Just under the smaller of the router's and the library's limits.
		under := Payload{Args: []any{strings.Repeat("u", min(routerMaxLen, e.maxLen())-256)}}
		e.must(b.Publish(topic, under, e.ack(), nil), "publish just under the maximum")
		e.expectEvent(a, under, "the event just under the maximum")
		// Over the router's maximum: the router ends the sender's
		// connection (RawSocket cannot refuse one message), or the
		// sender's library refuses to send it.
		over := Payload{Args: []any{strings.Repeat("o", routerMaxLen+1024)}}
		if err := b.Publish(topic, over, e.ack(), nil); err == nil {
			if e.ack() {
				e.t.Fatal("a message over the maximum was acknowledged")
			}
			_, err := b.Call(e.uri("nobody"), positional)
			if errorURI(err) != "" {
				e.t.Fatalf("the sender's session went on after a message over the maximum (%v)", err)
			}
		}
		c := e.peer("witness")
		e.barrier(a, c, "after the oversized message")
	}},
	{"goodbye", func(e *env) {
		a := e.peer("leaver")
		e.must(a.Leave(), "leave with GOODBYE")
	}},
	{"sigkill", func(e *env) {
		a := e.peer("victim")
		topic, proc := e.uri("t"), e.uri("p")
		sa, err := a.Subscribe(topic)
		e.must(err, "subscribe")
		_, err = a.Register(proc, "echo")
		e.must(err, "register")
		a.Kill()
		b := e.peer("heir")
		for deadline := time.Now().Add(opTimeout); ; time.Sleep(20 * time.Millisecond) {
			_, err = b.Register(proc, "echo")
			if err == nil {
				break
			}
			if errorURI(err) != "wamp.error.procedure_already_exists" || time.Now().After(deadline) {
				e.t.Fatalf("the killed peer's registration stayed behind: %v", err)
			}
		}
		sb, err := b.Subscribe(topic)
		e.must(err, "subscribe")
		e.lacks("subscription_ids")
		if sb == sa {
			e.t.Fatalf("the killed peer's subscription %d stayed behind", sa)
		}
	}},
}
