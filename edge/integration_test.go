package edge_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wampedge/wampedge/codec"
	"github.com/wampedge/wampedge/edge"
	"github.com/wampedge/wampedge/edge/client"
	"github.com/wampedge/wampedge/internal/testutil"
	"github.com/wampedge/wampedge/rawsocket"
)

// wire is one way a session reaches the router: a transport and a
// serializer.
type wire struct {
	name      string // "tcp/json"
	transport string // "tcp" or "unix"
	ser       codec.Serializer
}

var wires = []wire{
	{"tcp/json", "tcp", codec.JSON},
	{"tcp/msgpack", "tcp", codec.MsgPack},
	{"unix/json", "unix", codec.JSON},
	{"unix/msgpack", "unix", codec.MsgPack},
}

// eachWire runs f as a subtest per wire.
func eachWire(t *testing.T, f func(t *testing.T, w wire)) {
	for _, w := range wires {
		t.Run(w.name, func(t *testing.T) { f(t, w) })
	}
}

// eachPair runs f as a subtest per pair of serializers on each
// transport, "tcp/json->msgpack": a session speaking one and a session
// speaking the other.
func eachPair(t *testing.T, f func(t *testing.T, a, b wire)) {
	for _, a := range wires {
		for _, b := range wires {
			if a.transport != b.transport {
				continue
			}
			t.Run(a.name+"->"+b.ser.String(), func(t *testing.T) { f(t, a, b) })
		}
	}
}

// testbed is a router listening on TCP (loopback) and on a Unix socket
// in the test's temporary directory, closed when the test ends.
type testbed struct {
	*edge.Router
	urls map[string]string // by transport
	sock string            // the Unix socket's path
}

func newTestbed(t *testing.T, cfg *edge.Config) *testbed {
	t.Helper()
	r := edge.New(cfg)
	tb := &testbed{Router: r, urls: map[string]string{}, sock: filepath.Join(t.TempDir(), "wamp.sock")}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), ioTimeout)
		defer cancel()
		if err := r.Close(ctx); err != nil {
			t.Errorf("closing the router: %v", err)
		}
	})
	for transport, url := range map[string]string{"tcp": "tcp://127.0.0.1:0", "unix": "unix://" + tb.sock} {
		l, err := r.Listen(url, rawsocket.ListenConfig{})
		if err != nil {
			t.Fatal(err)
		}
		tb.urls[transport] = l.Endpoint().String()
	}
	return tb
}

// raw dials a raw peer that has not joined.
func (tb *testbed) raw(t *testing.T, w wire) *rawPeer {
	t.Helper()
	return dialRaw(t, tb.urls[w.transport], w.ser)
}

// joined dials a raw peer and joins realm1.
func (tb *testbed) joined(t *testing.T, w wire) *rawPeer {
	t.Helper()
	p := tb.raw(t, w)
	p.join("realm1")
	return p
}

// client dials an edge/client session in realm1.
func (tb *testbed) client(t *testing.T, w wire) *client.Client {
	t.Helper()
	return tb.clientIn(t, w, "realm1")
}

func (tb *testbed) clientIn(t *testing.T, w wire, realm string) *client.Client {
	t.Helper()
	c, err := client.Dial(opCtx(t), tb.urls[w.transport], client.Config{Realm: realm, Serializer: w.ser})
	if err != nil {
		t.Fatalf("joining %s over %s: %v", realm, w.name, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// waitSessions waits until n sessions are joined to the router's realms.
func (tb *testbed) waitSessions(t *testing.T, n int) {
	t.Helper()
	waitFor(t, fmt.Sprintf("%d sessions", n), func() bool { return tb.Stats().Sessions == n })
}

// opCtx bounds one client operation.
func opCtx(t testing.TB) context.Context { return testutil.Ctx(t, ioTimeout) }

// waitFor polls cond, bounded in count and time.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	testutil.WaitFor(t, ioTimeout, what, cond)
}

// receive takes the next value from ch, failing after ioTimeout.
func receive[T any](t testing.TB, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(ioTimeout):
		t.Fatalf("no %s within %v", what, ioTimeout)
		panic("unreachable")
	}
}

// eventsOf subscribes c to topic and returns the channel its events go to.
func eventsOf(t *testing.T, c *client.Client, topic string, capacity int) (<-chan *client.Event, *client.Subscription) {
	t.Helper()
	ch := make(chan *client.Event, capacity)
	sub, err := c.Subscribe(opCtx(t), topic, func(ev *client.Event) { ch <- ev })
	if err != nil {
		t.Fatalf("subscribing to %s: %v", topic, err)
	}
	return ch, sub
}

// seqOf is the first argument of an event, an integer.
func seqOf(t testing.TB, args []any) int64 {
	t.Helper()
	if len(args) == 0 {
		t.Fatalf("no arguments, want a sequence number")
	}
	switch n := args[0].(type) {
	case int64:
		return n
	case uint64:
		return int64(n)
	}
	t.Fatalf("argument %v (%T) is not an integer", args[0], args[0])
	return 0
}

// eventSeq is the sequence number an EVENT carries as its first argument.
func eventSeq(m codec.Message) (int64, error) {
	ev, ok := m.(*codec.Event)
	if !ok {
		return 0, fmt.Errorf("got %s, want an EVENT", describe(m))
	}
	args, _, err := client.Payload{Args: ev.Args}.Decode()
	if err != nil || len(args) == 0 {
		return 0, fmt.Errorf("EVENT arguments %x: %v", ev.Args, err)
	}
	if n, ok := normalize(args[0]).(int64); ok {
		return n, nil
	}
	return 0, fmt.Errorf("EVENT argument %v is not an integer", args[0])
}

// wampError returns err as a *client.Error with the given URI, or fails.
func wampError(t testing.TB, err error, uri string) *client.Error {
	t.Helper()
	var e *client.Error
	if !errors.As(err, &e) || e.URI != uri {
		t.Fatalf("got error %v, want %s", err, uri)
	}
	return e
}

// --- Session: HELLO, WELCOME, ABORT, GOODBYE ---

func TestWelcome(t *testing.T) {
	tb := newTestbed(t, &edge.Config{Agent: "wampedge-test"})
	cases := []struct {
		name, details string
		authid        string // "" means the session ID
	}{
		{"anonymous", helloRoles, ""},
		{"authid", `{"roles":{"subscriber":{}},"authid":"sensor-7"}`, "sensor-7"},
		{"authmethods with anonymous", `{"roles":{"caller":{}},"authmethods":["ticket","anonymous"]}`, ""},
	}
	eachWire(t, func(t *testing.T, w wire) {
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				p := tb.raw(t, w)
				p.hello("realm1", tc.details)
				m := expect[*codec.Welcome](p)
				checkID(t, "session", m.Session)
				var d codec.WelcomeDetails
				if err := d.Decode(m.Details); err != nil {
					t.Fatalf("WELCOME.Details: %v", err)
				}
				authid := tc.authid
				if authid == "" {
					authid = strconv.FormatUint(m.Session, 10)
				}
				_, broker := d.Roles["broker"]
				_, dealer := d.Roles["dealer"]
				if !broker || !dealer || d.AuthID != authid || d.AuthRole != "anonymous" ||
					d.AuthMethod != "anonymous" || d.Realm != "realm1" || d.Agent != "wampedge-test" {
					t.Errorf("WELCOME.Details = %+v, want roles broker and dealer, authid %q, authrole and authmethod anonymous", d, authid)
				}
				if !d.Roles["broker"].Features["publisher_exclusion"] {
					t.Errorf("broker features %v do not announce publisher_exclusion", d.Roles["broker"].Features)
				}
				p.goodbye()
			})
		}
	})
}

func TestHelloRefused(t *testing.T) {
	tb := newTestbed(t, nil)
	cases := []struct {
		name, realm, details string
		reason               string
		words                []string // the ABORT message names the problem
	}{
		{"unknown realm", "com.example.nowhere", helloRoles, "wamp.error.no_such_realm", []string{"com.example.nowhere"}},
		{"realm with empty component", "realm1..x", helloRoles, "wamp.error.invalid_uri", []string{"realm1..x"}},
		{"realm with space", "my realm", helloRoles, "wamp.error.invalid_uri", []string{"my realm"}},
		{"realm with hash", "com.#", helloRoles, "wamp.error.invalid_uri", []string{"com.#"}},
		{"no roles", "realm1", `{"agent":"x"}`, "wamp.error.protocol_violation", []string{"roles"}},
		{"empty roles", "realm1", `{"roles":{}}`, "wamp.error.protocol_violation", []string{"roles"}},
		{"unknown role", "realm1", `{"roles":{"publisher":{},"broker":{}}}`, "wamp.error.protocol_violation", []string{"broker"}},
		{"no anonymous authmethod", "realm1", `{"roles":{"caller":{}},"authmethods":["ticket","wampcra"]}`, "wamp.error.no_matching_auth_method", []string{"anonymous"}},
	}
	eachWire(t, func(t *testing.T, w wire) {
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				before := tb.Stats().ProtocolViolations
				p := tb.raw(t, w)
				p.hello(tc.realm, tc.details)
				mustContain(t, "ABORT message", p.expectAbort(tc.reason), tc.words...)
				p.expectClosed()
				want := before
				if tc.reason == "wamp.error.protocol_violation" {
					want++
				}
				if got := tb.Stats().ProtocolViolations; got != want {
					t.Errorf("ProtocolViolations = %d, want %d", got, want)
				}
			})
		}
	})
}

func TestAutoRealms(t *testing.T) {
	tb := newTestbed(t, &edge.Config{Realms: []string{"com.example.fixed"}, AutoRealms: true})
	eachWire(t, func(t *testing.T, w wire) {
		realm := "com.example.auto." + strconv.Itoa(int(w.ser)) + w.transport
		sub := tb.clientIn(t, w, realm)
		events, _ := eventsOf(t, sub, "com.example.topic", 1)
		pub := tb.raw(t, w)
		if m := pub.join(realm); m.Session == sub.ID() {
			t.Fatalf("two sessions share ID %d", m.Session)
		}
		pub.publishAck("com.example.topic", client.Args("created"))
		if ev := receive(t, events, "event in the new realm"); ev.Args[0] != "created" {
			t.Errorf("event args %v", ev.Args)
		}
		tb.raw(t, w).join("com.example.fixed")
		bad := tb.raw(t, w)
		bad.hello("com..auto", helloRoles)
		bad.expectAbort("wamp.error.invalid_uri")
	})
}

func TestHelloTimeout(t *testing.T) {
	tb := newTestbed(t, &edge.Config{HelloTimeout: 50 * time.Millisecond})
	eachWire(t, func(t *testing.T, w wire) {
		tb.raw(t, w).expectClosed()
	})
}

func TestGoodbye(t *testing.T) {
	tb := newTestbed(t, nil)
	eachWire(t, func(t *testing.T, w wire) {
		p := tb.joined(t, w)
		c := tb.client(t, w)
		tb.waitSessions(t, 2)
		p.goodbye()
		if err := c.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
		if err := c.Err(); err != nil {
			t.Errorf("after Close, Err() = %v, want nil", err)
		}
		tb.waitSessions(t, 0)
	})
}

func TestShutdown(t *testing.T) {
	tb := newTestbed(t, &edge.Config{GoodbyeTimeout: ioTimeout})
	var clients []*client.Client
	var peers []*rawPeer
	for _, w := range wires {
		clients = append(clients, tb.client(t, w))
		peers = append(peers, tb.joined(t, w))
	}
	notJoined := tb.raw(t, wires[0])
	tb.waitSessions(t, 2*len(wires))

	closed := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), ioTimeout)
		defer cancel()
		closed <- tb.Close(ctx)
	}()
	for _, p := range peers {
		g := expect[*codec.Goodbye](p)
		var d codec.CloseDetails
		d.Decode(codec.TypeGoodbye, g.Details)
		if string(g.Reason) != "wamp.close.system_shutdown" || d.Message == "" {
			t.Errorf("got %s, want GOODBYE wamp.close.system_shutdown with a message", describe(g))
		}
		p.sendJSON(`[6, {}, "wamp.close.goodbye_and_out"]`)
		p.expectClosed()
	}
	notJoined.expectClosed()
	for i, c := range clients {
		receive(t, c.Done(), "end of the client session on "+wires[i].name)
		var abort *client.AbortError
		if err := c.Err(); !errors.As(err, &abort) || abort.Reason != "wamp.close.system_shutdown" {
			t.Errorf("%s: client Err() = %v, want system_shutdown", wires[i].name, err)
		}
	}
	if err := receive(t, closed, "Close to return"); err != nil {
		t.Errorf("Close: %v", err)
	}
	if _, err := os.Stat(tb.sock); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Unix socket file after Close: %v, want it removed", err)
	}
	if st := tb.Stats(); st.Sessions != 0 {
		t.Errorf("Stats().Sessions = %d after Close", st.Sessions)
	}
	if _, err := tb.Listen("tcp://127.0.0.1:0", rawsocket.ListenConfig{}); err == nil {
		t.Error("Listen after Close succeeded")
	}
	for _, url := range tb.urls {
		if _, err := client.Dial(opCtx(t), url, client.Config{}); err == nil {
			t.Errorf("Dial %s after Close succeeded", url)
		}
	}
}

// --- Publish and subscribe ---

func TestSubscriptionShared(t *testing.T) {
	eachWire(t, func(t *testing.T, w wire) {
		tb := newTestbed(t, nil)
		p := tb.joined(t, w)
		id := p.subscribe("com.example.shared")
		checkID(t, "subscription", id)
		if again := p.subscribe("com.example.shared"); again != id {
			t.Errorf("subscribing twice: ID %d, then %d", id, again)
		}
		for _, other := range wires {
			_, sub := eventsOf(t, tb.client(t, other), "com.example.shared", 4)
			if sub.ID != id {
				t.Errorf("%s subscriber got subscription %d, want the shared %d", other.name, sub.ID, id)
			}
		}
		if other := p.subscribe("com.example.other"); other == id {
			t.Errorf("two topics share subscription %d", id)
		}
		pub := tb.joined(t, w)
		for i := range 2 {
			publication := pub.publishAck("com.example.shared", client.Args(i))
			ev := expect[*codec.Event](p)
			args, _, _ := client.Payload{Args: ev.Args}.Decode()
			if ev.Subscription != id || ev.Publication != publication || seqOf(t, args) != int64(i) {
				t.Fatalf("got %s, want event %d of publication %d on subscription %d, once", describe(ev), i, publication, id)
			}
		}
		p.barrier()
	})
}

func TestPublishAcknowledge(t *testing.T) {
	eachWire(t, func(t *testing.T, w wire) {
		tb := newTestbed(t, nil)
		p := tb.joined(t, w)
		p.request(codec.TypePublish, "com.example.topic", nil, client.Args("unacknowledged"))
		seen := map[uint64]bool{}
		for range 3 {
			id := p.publishAck("com.example.topic", client.Args("acknowledged"))
			if seen[id] {
				t.Errorf("publication ID %d used twice", id)
			}
			seen[id] = true
		}
	})
}

func TestPublisherExclusion(t *testing.T) {
	eachWire(t, func(t *testing.T, w wire) {
		tb := newTestbed(t, nil)
		p := tb.joined(t, w)
		sub := p.subscribe("com.example.self")
		for _, tc := range []struct {
			name      string
			excludeMe codec.Flag
			event     bool
		}{{"default", codec.Unset, false}, {"exclude_me true", codec.True, false}, {"exclude_me false", codec.False, true}} {
			req := p.request(codec.TypePublish, "com.example.self", ackOptions(tc.excludeMe), client.Args(tc.name))
			if tc.event {
				if ev := expect[*codec.Event](p); ev.Subscription != sub {
					t.Errorf("%s: got %s", tc.name, describe(ev))
				}
			}
			if m := expect[*codec.Published](p); m.Request != req {
				t.Errorf("%s: got %s, want PUBLISHED for %d", tc.name, describe(m), req)
			}
		}

		c := tb.client(t, w)
		events, _ := eventsOf(t, c, "com.example.self", 2)
		for i, opts := range []client.PublishOptions{{Acknowledge: true}, {Acknowledge: true, IncludeMe: true}} {
			if err := c.Publish(opCtx(t), "com.example.self", client.Args(i), opts); err != nil {
				t.Fatal(err)
			}
		}
		if ev := receive(t, events, "own event"); seqOf(t, ev.Args) != 1 {
			t.Errorf("the client got its own event %v, want only the one with IncludeMe", ev.Args)
		}
	})
}

// payloads are arguments that must cross the router unchanged, whatever
// the serializers of the two ends.
var payloads = []struct {
	name   string
	args   []any
	kwargs map[string]any
}{
	{"none", nil, nil},
	{"args", []any{
		"plain", "ünïcödé ✓ 😀 \u2028", "", "quote \" backslash \\ tab \t",
		[]byte{0, 1, 2, 0x7f, 0x80, 0xfe, 0xff}, []byte{},
		int64(0), int64(-1), int64(-9007199254740992), int64(math.MinInt64),
		uint64(1 << 53), uint64(math.MaxUint64), int64(255),
		3.25, -0.5, 1e-300, math.MaxFloat64,
		true, false, nil,
		[]any{int64(1), "two", []any{}, map[string]any{}, []any{[]any{nil}}},
		map[string]any{"nested": map[string]any{"list": []any{int64(-3), []byte("x")}}},
	}, nil},
	{"kwargs", nil, map[string]any{"name": "sensor ✓", "n": int64(-7), "big": uint64(1 << 53), "bin": []byte{0, 255}, "null": nil, "list": []any{1.5, "x"}}},
	{"both", []any{"a", int64(1)}, map[string]any{"k": map[string]any{"deep": []any{true}}}},
}

// normalize maps decoded values to one form: integers as int64 where
// they fit (MessagePack may carry a non-negative one either signed or
// unsigned), empty binary as []byte{} (the decoder gives nil).
func normalize(v any) any {
	switch x := v.(type) {
	case []byte:
		if len(x) == 0 {
			return []byte{}
		}
	case uint64:
		if x <= math.MaxInt64 {
			return int64(x)
		}
	case int:
		return int64(x)
	case []any:
		out := make([]any, len(x))
		for i := range x {
			out[i] = normalize(x[i])
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = normalize(e)
		}
		return out
	}
	return v
}

// checkPayload compares received arguments with what was sent.
func checkPayload(t testing.TB, what string, args []any, kwargs map[string]any, wantArgs []any, wantKwargs map[string]any) {
	t.Helper()
	norm := func(a []any, k map[string]any) (any, any) {
		var na, nk any
		if len(a) > 0 {
			na = normalize(a)
		}
		if len(k) > 0 {
			nk = normalize(k)
		}
		return na, nk
	}
	ga, gk := norm(args, kwargs)
	wa, wk := norm(wantArgs, wantKwargs)
	if !reflect.DeepEqual(ga, wa) {
		t.Errorf("%s args:\n got %#v\nwant %#v", what, ga, wa)
	}
	if !reflect.DeepEqual(gk, wk) {
		t.Errorf("%s kwargs:\n got %#v\nwant %#v", what, gk, wk)
	}
}

// sameBytes checks that a MessagePack payload crossed MessagePack
// sessions byte for byte.
func sameBytes(t testing.TB, what string, got, want client.Payload) {
	t.Helper()
	if !bytes.Equal(got.Args, want.Args) && !(len(want.Args) == 0 && bytes.Equal(got.Args, []byte{0x90})) {
		t.Errorf("%s: args bytes %x, want %x", what, got.Args, want.Args)
	}
	if !bytes.Equal(got.Kwargs, want.Kwargs) {
		t.Errorf("%s: kwargs bytes %x, want %x", what, got.Kwargs, want.Kwargs)
	}
}

func TestPayloadAcrossSerializers(t *testing.T) {
	eachPair(t, func(t *testing.T, a, b wire) {
		tb := newTestbed(t, nil)
		pub, sub := tb.client(t, a), tb.client(t, b)
		events, _ := eventsOf(t, sub, "com.example.payload", 1)
		invocations := make(chan *client.Invocation, 1)
		echo := func(_ context.Context, inv *client.Invocation) (client.Payload, error) {
			invocations <- inv
			return inv.Payload, nil
		}
		fail := func(_ context.Context, inv *client.Invocation) (client.Payload, error) {
			return client.Payload{}, &client.Error{URI: "com.example.error.rejected", Payload: inv.Payload}
		}
		for proc, h := range map[string]client.Handler{"com.example.echo": echo, "com.example.fail": fail} {
			if _, err := sub.Register(opCtx(t), proc, h); err != nil {
				t.Fatal(err)
			}
		}
		bothMsgpack := a.ser == codec.MsgPack && b.ser == codec.MsgPack
		for _, pl := range payloads {
			t.Run(pl.name, func(t *testing.T) {
				sent := client.ArgsKw(pl.args, pl.kwargs)
				if err := pub.Publish(opCtx(t), "com.example.payload", sent, client.PublishOptions{Acknowledge: true}); err != nil {
					t.Fatal(err)
				}
				ev := receive(t, events, "event")
				checkPayload(t, "EVENT", ev.Args, ev.Kwargs, pl.args, pl.kwargs)

				res, err := pub.Call(opCtx(t), "com.example.echo", sent)
				if err != nil {
					t.Fatal(err)
				}
				inv := receive(t, invocations, "invocation")
				checkPayload(t, "INVOCATION", inv.Args, inv.Kwargs, pl.args, pl.kwargs)
				checkPayload(t, "RESULT", res.Args, res.Kwargs, pl.args, pl.kwargs)

				_, err = pub.Call(opCtx(t), "com.example.fail", sent)
				e := wampError(t, err, "com.example.error.rejected")
				eargs, ekwargs, _ := e.Decode()
				checkPayload(t, "ERROR", eargs, ekwargs, pl.args, pl.kwargs)

				if bothMsgpack {
					sameBytes(t, "EVENT", ev.Payload, sent)
					sameBytes(t, "INVOCATION", inv.Payload, sent)
					sameBytes(t, "RESULT", res.Payload, sent)
					sameBytes(t, "ERROR", e.Payload, sent)
				}
			})
		}
	})
}

// TestPayloadUndeliverable: a message one peer cannot take (over the
// length it announced, or with values its serializer cannot carry) is
// dropped for that peer, as an event, or answered with ERROR to the
// caller, as a call or a result; the others get theirs, nobody hangs.
func TestPayloadUndeliverable(t *testing.T) {
	big := client.Args(bytes.Repeat([]byte{1}, 1024))
	nan := client.Args(math.NaN())
	cases := []struct {
		name    string
		ser     codec.Serializer // of the peer that cannot take it
		max     int              // the length it announces
		payload client.Payload
		uri     string // the caller's ERROR
	}{
		{"over the peer's maximum", codec.MsgPack, 512, big, "wamp.error.payload_size_exceeded"},
		{"NaN to JSON", codec.JSON, 0, nan, ""},
	}
	for _, transport := range []string{"tcp", "unix"} {
		for _, tc := range cases {
			t.Run(transport+"/"+tc.name, func(t *testing.T) {
				tb := newTestbed(t, nil)
				url := tb.urls[transport]
				full := tb.client(t, wire{transport, transport, codec.MsgPack})
				events, _ := eventsOf(t, full, "com.example.topic", 1)
				limited := dialRawMax(t, url, tc.ser, tc.max)
				limited.join("realm1")
				limited.subscribe("com.example.topic")
				limited.register("com.example.proc")
				other := dialRaw(t, url, codec.MsgPack)
				other.join("realm1")

				other.publishAck("com.example.topic", tc.payload)
				receive(t, events, "event for the session that can take it")
				limited.barrier()
				if st := tb.Stats(); st.DroppedEvents != 1 || st.SlowConsumerKills != 0 {
					t.Errorf("after the event: %+v, want one dropped event", st)
				}

				checkURI := func(e *codec.Error) {
					if tc.uri != "" && string(e.Error) != tc.uri {
						t.Errorf("got %s, want %s", describe(e), tc.uri)
					}
				}
				// A CALL it cannot take.
				req := other.call("com.example.proc", tc.payload)
				e := expect[*codec.Error](other)
				if e.RequestType != codec.TypeCall || e.Request != req {
					t.Fatalf("got %s, want ERROR for CALL %d", describe(e), req)
				}
				checkURI(e)
				// A RESULT it cannot take.
				other.register("com.example.back")
				req = limited.call("com.example.back", client.Payload{})
				inv := expect[*codec.Invocation](other)
				other.send(&codec.Yield{Request: inv.Request, Args: tc.payload.Args})
				e = expect[*codec.Error](limited)
				if e.RequestType != codec.TypeCall || e.Request != req {
					t.Fatalf("got %s, want ERROR for CALL %d", describe(e), req)
				}
				checkURI(e)
				limited.barrier()
				other.barrier()
			})
		}
	}
}

func TestEventOrder(t *testing.T) {
	const n = 1000
	eachWire(t, func(t *testing.T, w wire) {
		tb := newTestbed(t, nil)
		var subs []<-chan *client.Event
		for _, sw := range wires {
			if sw.transport == w.transport {
				events, _ := eventsOf(t, tb.client(t, sw), "com.example.order", n+1)
				subs = append(subs, events)
			}
		}
		pub := tb.client(t, w)
		for i := range n {
			if err := pub.Publish(opCtx(t), "com.example.order", client.Args(i), client.PublishOptions{}); err != nil {
				t.Fatal(err)
			}
		}
		if err := pub.Publish(opCtx(t), "com.example.order", client.Args(-1), client.PublishOptions{Acknowledge: true}); err != nil {
			t.Fatal(err)
		}
		for _, events := range subs {
			for i := range n + 1 {
				want := int64(i)
				if i == n {
					want = -1 // the last, acknowledged: nothing after it, nothing twice
				}
				if got := seqOf(t, receive(t, events, "event "+strconv.Itoa(i)).Args); got != want {
					t.Fatalf("event %d carries %d: out of order, lost or repeated", i, got)
				}
			}
		}
	})
}

func TestUnsubscribe(t *testing.T) {
	eachWire(t, func(t *testing.T, w wire) {
		tb := newTestbed(t, nil)
		p := tb.joined(t, w)
		id := p.subscribe("com.example.topic")
		stays := tb.client(t, w)
		events, staysSub := eventsOf(t, stays, "com.example.topic", 1)

		req := p.nextRequest()
		p.send(&codec.Unsubscribe{Request: req, Subscription: id})
		if m := expect[*codec.Unsubscribed](p); m.Request != req {
			t.Fatalf("got %s, want UNSUBSCRIBED for %d", describe(m), req)
		}
		tb.joined(t, w).publishAck("com.example.topic", client.Args("after"))
		receive(t, events, "event for the subscriber that stayed")
		p.barrier() // no EVENT for the one that left

		for _, tc := range []struct {
			name string
			id   uint64
		}{{"twice", id}, {"unknown", 4242424242}, {"another session's", staysSub.ID}} {
			req := p.nextRequest()
			p.send(&codec.Unsubscribe{Request: req, Subscription: tc.id})
			e := p.expectError(codec.TypeUnsubscribe, req, "wamp.error.no_such_subscription")
			mustContain(t, tc.name+": ERROR message", errorMessage(e), strconv.FormatUint(tc.id, 10))
		}
	})
}

// --- URIs and realms ---

func TestURIChecks(t *testing.T) {
	publishAck := ackOptions(codec.Unset)
	cases := []struct {
		name    string
		typ     codec.Type
		uri     string
		options []byte
		err     string // "" for success
	}{
		{"subscribe empty component", codec.TypeSubscribe, "com..topic", nil, "wamp.error.invalid_uri"},
		{"subscribe hash", codec.TypeSubscribe, "com.#", nil, "wamp.error.invalid_uri"},
		{"subscribe space", codec.TypeSubscribe, "com.my topic", nil, "wamp.error.invalid_uri"},
		{"subscribe unicode space", codec.TypeSubscribe, "com.my\u00a0topic", nil, "wamp.error.invalid_uri"},
		{"subscribe empty", codec.TypeSubscribe, "", nil, "wamp.error.invalid_uri"},
		{"subscribe trailing dot", codec.TypeSubscribe, "com.topic.", nil, "wamp.error.invalid_uri"},
		{"subscribe wamp meta topic", codec.TypeSubscribe, "wamp.session.on_join", nil, ""},
		{"subscribe unicode", codec.TypeSubscribe, "com.exämple.töpic", nil, ""},
		{"publish acknowledged invalid", codec.TypePublish, "com..topic", publishAck, "wamp.error.invalid_uri"},
		{"publish acknowledged reserved", codec.TypePublish, "wamp.session.on_join", publishAck, "wamp.error.invalid_uri"},
		{"publish acknowledged wamp", codec.TypePublish, "wamp", publishAck, "wamp.error.invalid_uri"},
		{"publish acknowledged wampish", codec.TypePublish, "wampedge.topic", publishAck, ""},
		{"register reserved", codec.TypeRegister, "wamp.session.count", nil, "wamp.error.invalid_uri"},
		{"register invalid", codec.TypeRegister, "com. proc", nil, "wamp.error.invalid_uri"},
		{"call invalid", codec.TypeCall, "com..proc", nil, "wamp.error.invalid_uri"},
		{"call reserved unknown", codec.TypeCall, "wamp.session.no_such_thing", nil, "wamp.error.no_such_procedure"},
	}
	success := map[codec.Type]codec.Type{codec.TypeSubscribe: codec.TypeSubscribed, codec.TypePublish: codec.TypePublished}
	eachWire(t, func(t *testing.T, w wire) {
		tb := newTestbed(t, nil)
		p := tb.joined(t, w)
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				req := p.request(tc.typ, tc.uri, tc.options, client.Payload{})
				if tc.err == "" {
					if m := p.recv(); m.Type() != success[tc.typ] {
						t.Fatalf("got %s, want %v", describe(m), success[tc.typ])
					}
					return
				}
				e := p.expectError(tc.typ, req, tc.err)
				if tc.err == "wamp.error.invalid_uri" {
					mustContain(t, "ERROR message", errorMessage(e), strconv.Quote(tc.uri))
				}
			})
		}
		t.Run("publish unacknowledged", func(t *testing.T) {
			for _, uri := range []string{"com..topic", "wamp.session.on_join", ""} {
				p.request(codec.TypePublish, uri, nil, client.Payload{})
			}
			p.barrier() // no ERROR for them
		})
	})
}

func TestStrictURIs(t *testing.T) {
	for _, strict := range []bool{true, false} {
		t.Run(fmt.Sprintf("strict=%v", strict), func(t *testing.T) {
			tb := newTestbed(t, &edge.Config{StrictURIs: strict})
			eachWire(t, func(t *testing.T, w wire) {
				p := tb.joined(t, w)
				for _, typ := range []codec.Type{codec.TypeSubscribe, codec.TypeRegister} {
					uri := fmt.Sprintf("com.Example.%v.%s", typ, strings.ReplaceAll(w.name, "/", "_"))
					req := p.request(typ, uri, nil, client.Payload{})
					if strict {
						p.expectError(typ, req, "wamp.error.invalid_uri")
					} else if m := p.recv(); m.Type() == codec.TypeError {
						t.Errorf("loose rules refused %q: %s", uri, describe(m))
					}
				}
				p.subscribe("com.example_1.topic_2") // valid under both
			})
		})
	}
}

func TestRealmIsolation(t *testing.T) {
	eachWire(t, func(t *testing.T, w wire) {
		tb := newTestbed(t, &edge.Config{Realms: []string{"realm1", "realm2"}})
		in1 := tb.clientIn(t, w, "realm1")
		events, _ := eventsOf(t, in1, "com.example.topic", 1)
		in2 := tb.raw(t, w)
		in2.join("realm2")
		in2.subscribe("com.example.topic")
		if _, err := in1.Register(opCtx(t), "com.example.proc", func(context.Context, *client.Invocation) (client.Payload, error) {
			return client.Args("realm1"), nil
		}); err != nil {
			t.Fatal(err)
		}

		tb.joined(t, w).publishAck("com.example.topic", client.Args("realm1 only"))
		receive(t, events, "event in realm1")
		in2.barrier() // nothing crossed from realm1

		req := in2.request(codec.TypeCall, "com.example.proc", nil, client.Payload{})
		in2.expectError(codec.TypeCall, req, "wamp.error.no_such_procedure")
		in2.register("com.example.proc") // realm2 has its own dealer
		res, err := in1.Call(opCtx(t), "com.example.proc", client.Payload{})
		if err != nil || len(res.Args) != 1 || res.Args[0] != "realm1" {
			t.Errorf("call in realm1: %v, %v", res, err)
		}
	})
}

// --- Remote procedure calls ---

// call sends CALL and returns its request ID.
func (p *rawPeer) call(procedure string, pl client.Payload) uint64 {
	p.t.Helper()
	return p.request(codec.TypeCall, procedure, nil, pl)
}

func TestCall(t *testing.T) {
	eachWire(t, func(t *testing.T, w wire) {
		tb := newTestbed(t, nil)
		callee, caller := tb.joined(t, w), tb.joined(t, w)
		reg := callee.register("com.example.add")
		checkID(t, "registration", reg)
		for i := range 3 {
			req := caller.call("com.example.add", client.ArgsKw([]any{i, 2}, map[string]any{"unit": "mV"}))
			inv := expect[*codec.Invocation](callee)
			if inv.Registration != reg || inv.Request != uint64(i+1) {
				t.Fatalf("got %s, want INVOCATION %d of registration %d", describe(inv), i+1, reg)
			}
			args, kwargs, _ := client.Payload{Args: inv.Args, Kwargs: inv.Kwargs}.Decode()
			checkPayload(t, "INVOCATION", args, kwargs, []any{i, 2}, map[string]any{"unit": "mV"})
			out := client.ArgsKw([]any{i + 2}, map[string]any{"unit": "mV"})
			callee.send(&codec.Yield{Request: inv.Request, Args: out.Args, Kwargs: out.Kwargs})
			res := expect[*codec.Result](caller)
			if res.Request != req {
				t.Fatalf("got %s, want RESULT for %d", describe(res), req)
			}
			args, kwargs, _ = client.Payload{Args: res.Args, Kwargs: res.Kwargs}.Decode()
			checkPayload(t, "RESULT", args, kwargs, []any{i + 2}, map[string]any{"unit": "mV"})
		}

		t.Run("callee error", func(t *testing.T) {
			req := caller.call("com.example.add", client.Args("x"))
			inv := expect[*codec.Invocation](callee)
			out := client.ArgsKw([]any{"not a number"}, map[string]any{"arg": int64(0)})
			callee.send(&codec.Error{RequestType: codec.TypeInvocation, Request: inv.Request, Error: []byte("com.example.error.invalid"), Args: out.Args, Kwargs: out.Kwargs})
			e := caller.expectError(codec.TypeCall, req, "com.example.error.invalid")
			args, kwargs, _ := client.Payload{Args: e.Args, Kwargs: e.Kwargs}.Decode()
			checkPayload(t, "ERROR", args, kwargs, []any{"not a number"}, map[string]any{"arg": int64(0)})
		})

		t.Run("duplicate yield dropped", func(t *testing.T) {
			req := caller.call("com.example.add", client.Payload{})
			inv := expect[*codec.Invocation](callee)
			for range 2 {
				callee.send(&codec.Yield{Request: inv.Request})
			}
			if res := expect[*codec.Result](caller); res.Request != req {
				t.Fatalf("got %s", describe(res))
			}
			caller.barrier() // no second RESULT
			callee.barrier() // the second YIELD was no violation
		})
	})
}

func TestRegistrationErrors(t *testing.T) {
	eachWire(t, func(t *testing.T, w wire) {
		tb := newTestbed(t, nil)
		callee, other := tb.joined(t, w), tb.joined(t, w)
		reg := callee.register("com.example.proc")
		otherReg := other.register("com.example.others")

		for _, p := range []*rawPeer{callee, other} {
			req := p.request(codec.TypeRegister, "com.example.proc", nil, client.Payload{})
			e := p.expectError(codec.TypeRegister, req, "wamp.error.procedure_already_exists")
			mustContain(t, "ERROR message", errorMessage(e), "com.example.proc")
		}
		req := other.call("com.example.nothing", client.Payload{})
		mustContain(t, "ERROR message", errorMessage(other.expectError(codec.TypeCall, req, "wamp.error.no_such_procedure")), "com.example.nothing")

		unregister := func(p *rawPeer, id uint64) uint64 {
			req := p.nextRequest()
			p.send(&codec.Unregister{Request: req, Registration: id})
			return req
		}
		req = unregister(callee, reg)
		if m := expect[*codec.Unregistered](callee); m.Request != req {
			t.Fatalf("got %s, want UNREGISTERED for %d", describe(m), req)
		}
		req = other.call("com.example.proc", client.Payload{})
		other.expectError(codec.TypeCall, req, "wamp.error.no_such_procedure")
		for _, id := range []uint64{reg, 4242424242, otherReg} {
			req = unregister(callee, id)
			callee.expectError(codec.TypeUnregister, req, "wamp.error.no_such_registration")
		}
		other.register("com.example.proc") // free again
	})
}

func TestConcurrentCalls(t *testing.T) {
	const callers, calls = 8, 100
	eachWire(t, func(t *testing.T, w wire) {
		tb := newTestbed(t, nil)
		callee := tb.client(t, w)
		if _, err := callee.Register(opCtx(t), "com.example.double", func(_ context.Context, inv *client.Invocation) (client.Payload, error) {
			if len(inv.Args) != 2 {
				return client.Payload{}, fmt.Errorf("want 2 arguments, got %v", inv.Args)
			}
			j, ok := normalize(inv.Args[1]).(int64)
			if !ok {
				return client.Payload{}, fmt.Errorf("argument %v is not an integer", inv.Args[1])
			}
			return client.Args(inv.Args[0], 2*j), nil
		}); err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		errs := make(chan error, callers*calls)
		for i := range callers {
			c := tb.client(t, wires[i%len(wires)])
			for j := range calls {
				wg.Add(1)
				go func() {
					defer wg.Done()
					ctx, cancel := context.WithTimeout(context.Background(), ioTimeout)
					defer cancel()
					res, err := c.Call(ctx, "com.example.double", client.Args(i, j))
					switch {
					case err != nil:
						errs <- fmt.Errorf("caller %d call %d: %w", i, j, err)
					case len(res.Args) != 2 || normalize(res.Args[0]) != int64(i) || normalize(res.Args[1]) != int64(2*j):
						errs <- fmt.Errorf("caller %d call %d: got %v, want [%d %d]", i, j, res.Args, i, 2*j)
					}
				}()
			}
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
	})
}

// leaveModes are the ways a session can leave: each ends it and its
// connection, and the router must clean up after all of them alike.
var leaveModes = []struct {
	name  string
	leave func(p *rawPeer)
}{
	{"goodbye", (*rawPeer).goodbye},
	{"abort", func(p *rawPeer) {
		p.sendJSON(`[3, {"message": "crashing"}, "wamp.close.system_shutdown"]`)
		p.expectClosed()
	}},
	{"violation", func(p *rawPeer) {
		p.sendJSON(`[99]`)
		p.expectAbort("wamp.error.protocol_violation")
		p.expectClosed()
	}},
	{"dropped", (*rawPeer).close},
}

func TestCalleeLeaves(t *testing.T) {
	const pending = 3
	eachWire(t, func(t *testing.T, w wire) {
		for _, mode := range leaveModes {
			t.Run(mode.name, func(t *testing.T) {
				tb := newTestbed(t, nil)
				callee := tb.joined(t, w)
				callee.register("com.example.slow")
				caller := tb.client(t, w)
				errs := make(chan error, pending)
				for range pending {
					ctx := opCtx(t)
					go func() {
						_, err := caller.Call(ctx, "com.example.slow", client.Payload{})
						errs <- err
					}()
				}
				for range pending {
					expect[*codec.Invocation](callee)
				}
				mode.leave(callee)
				for range pending {
					e := wampError(t, receive(t, errs, "the caller's error"), "wamp.error.canceled")
					mustContain(t, "ERROR message", e.Error(), "callee")
				}
				_, err := caller.Call(opCtx(t), "com.example.slow", client.Payload{})
				wampError(t, err, "wamp.error.no_such_procedure")
			})
		}
	})
}

func TestCallerLeaves(t *testing.T) {
	answers := []struct {
		name   string
		answer func(p *rawPeer, inv uint64)
	}{
		{"yield", func(p *rawPeer, inv uint64) { p.send(&codec.Yield{Request: inv, Args: client.Args("late").Args}) }},
		{"error", func(p *rawPeer, inv uint64) {
			p.send(&codec.Error{RequestType: codec.TypeInvocation, Request: inv, Error: []byte("com.example.error.late")})
		}},
	}
	eachWire(t, func(t *testing.T, w wire) {
		for _, mode := range leaveModes {
			for _, a := range answers {
				t.Run(mode.name+"/"+a.name, func(t *testing.T) {
					tb := newTestbed(t, nil)
					callee := tb.joined(t, w)
					callee.register("com.example.slow")
					caller := tb.joined(t, w)
					caller.call("com.example.slow", client.Payload{})
					first := expect[*codec.Invocation](callee)
					mode.leave(caller)
					tb.waitSessions(t, 1)
					a.answer(callee, first.Request)

					// The callee goes on: the next call reaches it, and no
					// ABORT came before.
					other := tb.client(t, w)
					result := make(chan error, 1)
					ctx := opCtx(t)
					go func() {
						_, err := other.Call(ctx, "com.example.slow", client.Payload{})
						result <- err
					}()
					inv := expect[*codec.Invocation](callee)
					if inv.Request != first.Request+1 {
						t.Errorf("INVOCATION request %d after %d", inv.Request, first.Request)
					}
					callee.send(&codec.Yield{Request: inv.Request})
					if err := receive(t, result, "result"); err != nil {
						t.Fatal(err)
					}
					callee.barrier()
					if v := tb.Stats().ProtocolViolations; v != boolCount(mode.name == "violation") {
						t.Errorf("ProtocolViolations = %d", v)
					}
				})
			}
		}
	})
}

func boolCount(b bool) uint64 {
	if b {
		return 1
	}
	return 0
}

func TestTeardown(t *testing.T) {
	eachWire(t, func(t *testing.T, w wire) {
		for _, mode := range leaveModes {
			t.Run(mode.name, func(t *testing.T) {
				tb := newTestbed(t, nil)
				first := tb.joined(t, w)
				sub := first.subscribe("com.example.topic")
				first.register("com.example.proc")
				mode.leave(first)
				tb.waitSessions(t, 0)

				next := tb.joined(t, w)
				if id := next.subscribe("com.example.topic"); id == sub {
					t.Errorf("new subscriber got the old subscription %d: it outlived its only subscriber", id)
				}
				next.register("com.example.proc")
			})
		}
	})
}

// --- Slow consumers ---

func TestSlowConsumer(t *testing.T) {
	const (
		queueBytes = 64 << 10
		eventBytes = 8 << 10
		batch      = 2     // events per round: fits a queue however the router reads them
		maxEvents  = 20000 // bound on the flood: far more than socket buffers hold
	)
	fill := bytes.Repeat([]byte{0xa5}, eventBytes)
	for _, policy := range []edge.SlowConsumerPolicy{edge.Disconnect, edge.DropEvents} {
		t.Run(string(policy), func(t *testing.T) {
			eachWire(t, func(t *testing.T, w wire) {
				tb := newTestbed(t, &edge.Config{QueueBytes: queueBytes, SlowConsumer: policy})
				slow := tb.joined(t, w)
				slow.subscribe("com.example.flood")
				// From here on slow reads nothing. The others speak
				// MessagePack, the cheap one to decode.
				fast := wire{w.transport + "/msgpack", w.transport, codec.MsgPack}
				normal, _ := eventsOf(t, tb.client(t, fast), "com.example.flood", batch)
				pub := tb.client(t, fast)

				published := 0
				// round publishes a batch, and waits for the normal
				// subscriber to have it: it never has more queued.
				round := func() {
					for range batch {
						if err := pub.Publish(opCtx(t), "com.example.flood", client.Args(published, fill), client.PublishOptions{}); err != nil {
							t.Fatal(err)
						}
						published++
					}
					for i := published - batch; i < published; i++ {
						if got := seqOf(t, receive(t, normal, "event for the normal subscriber").Args); got != int64(i) {
							t.Fatalf("normal subscriber got event %d, want %d", got, i)
						}
					}
				}
				hit := func() bool {
					st := tb.Stats()
					if policy == edge.Disconnect {
						return st.SlowConsumerKills > 0
					}
					return st.DroppedEvents > 0
				}
				for published < maxEvents && !hit() {
					round()
				}
				if !hit() {
					t.Fatalf("after %d events of %d bytes: %+v", published, eventBytes, tb.Stats())
				}

				if policy == edge.Disconnect {
					// slow gets what its socket held, then the end.
					if !slow.drainUntilClosed(published) {
						t.Fatal("slow consumer still connected after more events than were published")
					}
					tb.waitSessions(t, 2)
					round() // the others go on
					return
				}

				// Drop policy: slow stays, and gets events again once it
				// reads: keep publishing until one from after the drops
				// arrives.
				dropped := published
				seen := make(chan int64, maxEvents)
				readErr := make(chan error, 1)
				go func() {
					for {
						m, err := slow.next()
						var seq int64
						if err == nil {
							seq, err = eventSeq(m)
						}
						if err != nil {
							readErr <- err
							return
						}
						seen <- seq
					}
				}()
				last, count := int64(-1), 0
				for last < int64(dropped) {
					if published >= 2*maxEvents {
						t.Fatalf("slow consumer got no event after the drops; last %d", last)
					}
					round()
				drain:
					for {
						select {
						case s := <-seen:
							if s <= last {
								t.Fatalf("slow consumer got event %d after %d", s, last)
							}
							last = s
							count++
						case err := <-readErr:
							t.Fatalf("slow consumer disconnected: %v", err)
						default:
							break drain
						}
					}
				}
				st := tb.Stats()
				if st.SlowConsumerKills != 0 || count >= published || st.Sessions != 3 {
					t.Errorf("drop policy: %+v; slow got %d of %d events", st, count, published)
				}
			})
		})
	}
}
