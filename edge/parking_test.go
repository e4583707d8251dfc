package edge_test

import (
	"runtime"
	"testing"
	"time"

	"github.com/wampedge/wampedge/codec"
	"github.com/wampedge/wampedge/edge"
	"github.com/wampedge/wampedge/edge/client"
	"github.com/wampedge/wampedge/rawsocket"
)

// Idle sessions park (their connections wait without a goroutine) and
// lose nothing: events and invocations reach a parked session, a parked
// caller's call goes through, and a parked session whose peer hangs up
// leaves its realm. Several rounds, so that sessions park, wake and park
// again.
func TestIdleSessionsPark(t *testing.T) {
	eachWire(t, func(t *testing.T, w wire) {
		tb := newTestbed(t, &edge.Config{IdleAfter: 20 * time.Millisecond})
		// Parks counts every connection that parked: each round, the
		// caller wakes twice (PUBLISH, CALL) and the callee once (YIELD).
		base := rawsocket.Parks()
		sub, callee, caller := tb.joined(t, w), tb.joined(t, w), tb.joined(t, w)
		sub.subscribe("com.test.idle")
		reg := callee.register("com.test.idle.echo")
		for round := range 3 {
			parked := base + 3 + 3*uint64(round)
			waitFor(t, "the three sessions parked", func() bool { return rawsocket.Parks() >= parked })
			pl := client.Args(int64(round))
			caller.publishAck("com.test.idle", pl)
			ev := expect[*codec.Event](sub)
			if seq, _ := eventSeq(ev); seq != int64(round) {
				t.Fatalf("round %d: event %d", round, seq)
			}
			waitFor(t, "the caller parked again", func() bool { return rawsocket.Parks() >= parked+1 })
			req := caller.request(codec.TypeCall, "com.test.idle.echo", nil, pl)
			inv := expect[*codec.Invocation](callee)
			if inv.Registration != reg {
				t.Fatalf("INVOCATION for registration %d, want %d", inv.Registration, reg)
			}
			callee.send(&codec.Yield{Request: inv.Request, Args: inv.Args})
			if res := expect[*codec.Result](caller); res.Request != req {
				t.Fatalf("RESULT for request %d, want %d", res.Request, req)
			}
		}
		parked := rawsocket.Parks()
		waitFor(t, "the subscriber parked", func() bool { return rawsocket.Parks() > parked })
		sub.close()
		tb.waitSessions(t, 2)
	})
}

// A thousand idle sessions do not hold a thousand goroutines.
func TestIdleSessionsHoldNoGoroutine(t *testing.T) {
	tb := newTestbed(t, &edge.Config{IdleAfter: 10 * time.Millisecond})
	w := wires[1] // tcp/msgpack
	before := runtime.NumGoroutine()
	const n = 200
	for i := range n {
		p := tb.joined(t, w)
		if i%2 == 0 {
			p.subscribe("com.test.idle")
		}
	}
	waitFor(t, "the sessions parked", func() bool { return runtime.NumGoroutine() < before+n/10 })
	tb.waitSessions(t, n)
}
