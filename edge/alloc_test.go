package edge

import (
	"testing"

	"github.com/wampedge/wampedge/codec"
)

// memTransport is an in-memory transport for driving sessions directly:
// the test calls handle and drains queues itself, so what is measured
// is the router's own work.
type memTransport struct{ ser codec.Serializer }

func (m *memTransport) ReadMsg() ([]byte, error)     { select {} }
func (m *memTransport) Buffered() bool               { return false }
func (m *memTransport) WriteMsgs([][]byte) error     { return nil }
func (m *memTransport) MaxSend() int                 { return 1 << 20 }
func (m *memTransport) Serializer() codec.Serializer { return m.ser }
func (m *memTransport) Close() error                 { return nil }

// take swaps the queued messages into b, whether or not the caller is
// the writer: tests that drive sessions in memory drain queues this way.
func (q *outQueue) take(b *batch) {
	q.mu.Lock()
	q.swapLocked(b)
}

// testPeer is a session joined to realm1 over a memTransport.
type testPeer struct {
	t *testing.T
	s *session
	b batch
}

func joinPeer(t testing.TB, r *Router, ser codec.Serializer) *testPeer {
	p := &testPeer{s: newSession(r, &memTransport{ser: ser})}
	d, _ := (&codec.HelloDetails{Roles: map[string]codec.Role{"publisher": {}, "subscriber": {}, "caller": {}, "callee": {}}}).MarshalMsg(nil)
	p.send(t, &codec.Hello{Realm: []byte("realm1"), Details: d})
	if _, ok := p.next(t).(*codec.Welcome); !ok {
		t.Fatal("no WELCOME")
	}
	return p
}

// send routes one message from the peer, as its reader would.
func (p *testPeer) send(t testing.TB, m codec.Message) {
	p.sendRaw(t, m.Append(nil))
}

func (p *testPeer) sendRaw(t testing.TB, msg []byte) {
	if p.s.codec.Serializer() == codec.JSON {
		var err error
		if msg, err = codec.NewCodec(codec.JSON).Encode(nil, msg); err != nil {
			t.Fatal(err)
		}
		msg, _ = p.s.codec.Decode(nil, msg)
	}
	if !p.s.handle(msg) {
		t.Fatal("session ended")
	}
	p.s.endBurst()
}

// next takes the next message queued for the peer.
func (p *testPeer) next(t testing.TB) codec.Message {
	t.Helper()
	p.s.q.take(&p.b)
	if len(p.b.msgs) != 1 {
		t.Fatalf("%d messages queued, want 1", len(p.b.msgs))
	}
	msg := p.b.msgs[0]
	if p.s.codec.Serializer() == codec.JSON {
		var err error
		if msg, err = codec.NewCodec(codec.JSON).Decode(nil, msg); err != nil {
			t.Fatal(err)
		}
	}
	m, err := codec.Decode(msg)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

var (
	testArgs   = []byte{0x92, 0xa5, 'h', 'e', 'l', 'l', 'o', 0x2a}                       // ["hello", 42]
	testKwargs = []byte{0x81, 0xa1, 'k', 0x93, 0xc3, 0xc0, 0xcb, 0, 0, 0, 0, 0, 0, 0, 0} // {"k": [true, nil, 0.0]}
)

// TestRoutingDoesNotAllocate fails if routing a PUBLISH to a subscriber,
// or a CALL -> INVOCATION -> YIELD -> RESULT round trip, allocates on the
// router's side in steady state.
func TestRoutingDoesNotAllocate(t *testing.T) {
	for _, subSer := range []codec.Serializer{codec.MsgPack, codec.JSON} {
		t.Run("event/to="+subSer.String(), func(t *testing.T) {
			r := New(nil)
			pub, sub := joinPeer(t, r, codec.MsgPack), joinPeer(t, r, subSer)
			sub.send(t, &codec.Subscribe{Request: 1, Topic: []byte("com.example.temp")})
			sub.next(t)
			frame := (&codec.Publish{Request: 2, Topic: []byte("com.example.temp"), Args: testArgs, Kwargs: testKwargs}).Append(nil)
			route := func() {
				pub.s.handle(frame)
				pub.s.endBurst()
				sub.s.q.take(&sub.b)
				if len(sub.b.msgs) != 1 {
					t.Fatalf("%d events queued, want 1", len(sub.b.msgs))
				}
			}
			route()
			if n := testing.AllocsPerRun(1000, route); n != 0 {
				t.Fatalf("routing an event allocates %.1f times", n)
			}
		})
	}
	// A pattern subscription's EVENT carries the topic in its details,
	// written into the session's scratch: still no allocation.
	for _, match := range []string{matchPrefix, matchWildcard} {
		t.Run("event/match="+match, func(t *testing.T) {
			r := New(nil)
			pub, sub := joinPeer(t, r, codec.MsgPack), joinPeer(t, r, codec.MsgPack)
			subscribeWith(t, sub, 1, map[string]string{matchPrefix: "com.example", matchWildcard: "com..temp"}[match], match)
			frame := (&codec.Publish{Request: 2, Topic: []byte("com.example.temp"), Args: testArgs}).Append(nil)
			route := func() {
				pub.s.handle(frame)
				pub.s.endBurst()
				sub.s.q.take(&sub.b)
			}
			route()
			if n := testing.AllocsPerRun(1000, route); n != 0 {
				t.Fatalf("routing an event to a %s subscription allocates %.1f times", match, n)
			}
		})
	}
	t.Run("call", func(t *testing.T) {
		r := New(nil)
		caller, callee := joinPeer(t, r, codec.MsgPack), joinPeer(t, r, codec.MsgPack)
		callee.send(t, &codec.Register{Request: 1, Procedure: []byte("com.example.add")})
		callee.next(t)
		call := (&codec.Call{Request: 7, Procedure: []byte("com.example.add"), Args: testArgs}).Append(nil)
		var inv codec.Invocation
		var yield []byte
		var res codec.Result
		roundTrip := func() {
			caller.s.handle(call)
			caller.s.endBurst()
			callee.s.q.take(&callee.b)
			if err := inv.Decode(callee.b.msgs[0]); err != nil {
				t.Fatal(err)
			}
			yield = (&codec.Yield{Request: inv.Request, Args: inv.Args, Kwargs: testKwargs}).Append(yield[:0])
			callee.s.handle(yield)
			callee.s.endBurst()
			caller.s.q.take(&caller.b)
			if err := res.Decode(caller.b.msgs[0]); err != nil || res.Request != 7 {
				t.Fatalf("result %+v, %v", res, err)
			}
		}
		roundTrip()
		if n := testing.AllocsPerRun(1000, roundTrip); n != 0 {
			t.Fatalf("a call round trip allocates %.1f times", n)
		}
	})
}

// TestQueueTakesOneLargeMessage checks that a message larger than the
// queue's limit is queued when the queue is empty, and refused behind
// others.
func TestQueueTakesOneLargeMessage(t *testing.T) {
	q := newOutQueue(100)
	big := make([]byte, 500)
	if got := q.push(big); got != queued {
		t.Fatalf("a large message into an empty queue: %v, want queued", got)
	}
	if got := q.push([]byte("small")); got != full {
		t.Fatalf("a message behind a large one: %v, want full", got)
	}
}
