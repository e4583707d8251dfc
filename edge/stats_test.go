package edge_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/wampedge/wampedge/edge"
	"github.com/wampedge/wampedge/edge/client"
)

// statsMoved waits until the router's counters are want ahead of before,
// then checks that they stay there: every event and call counted once.
func statsMoved(t *testing.T, r *edge.Router, before edge.Stats, want map[string]uint64) {
	t.Helper()
	moved := func() map[string]uint64 {
		st := r.Stats()
		got := map[string]uint64{
			"published": st.EventsPublished - before.EventsPublished,
			"delivered": st.EventsDelivered - before.EventsDelivered,
			"calls":     st.Calls - before.Calls,
		}
		for _, class := range edge.CallErrorClasses {
			got[class] = st.CallErrors[class] - before.CallErrors[class]
		}
		return got
	}
	same := func(got map[string]uint64) bool {
		for k, v := range got {
			if want[k] != v {
				return false
			}
		}
		return true
	}
	waitFor(t, "the counters", func() bool { return same(moved()) })
	time.Sleep(50 * time.Millisecond)
	if got := moved(); !same(got) {
		t.Fatalf("counters moved by %v, want %v", got, want)
	}
}

// TestStatsCount: the router counts each publication, each event
// delivered, each call and each call error by class, exactly, and its
// sessions by realm and transport.
func TestStatsCount(t *testing.T) {
	tb := newTestbed(t, nil)
	pub, subA, subB := tb.client(t, wires[0]), tb.client(t, wires[1]), tb.client(t, wires[3])
	ctx := opCtx(t)
	for _, c := range []*client.Client{subA, subB} {
		if _, err := c.Subscribe(ctx, "com.example.temp", func(*client.Event) {}); err != nil {
			t.Fatal(err)
		}
	}
	_, err := subA.Register(ctx, "com.example.fail", func(context.Context, *client.Invocation) (client.Payload, error) {
		return client.Payload{}, &client.Error{URI: "com.example.error.broken"}
	})
	if err != nil {
		t.Fatal(err)
	}
	subB.Register(ctx, "com.example.echo", func(_ context.Context, inv *client.Invocation) (client.Payload, error) { return inv.Payload, nil })
	tb.waitSessions(t, 3)

	st := tb.Stats()
	var tcp, unix int
	for _, c := range st.SessionsBy {
		if c.Realm == "realm1" && c.Transport == "tcp" {
			tcp = c.Sessions
		}
		if c.Realm == "realm1" && c.Transport == "unix" {
			unix = c.Sessions
		}
	}
	if tcp != 2 || unix != 1 {
		t.Errorf("sessions by transport: %+v, want 2 on tcp and 1 on unix", st.SessionsBy)
	}

	before := tb.Stats()
	for range 5 {
		if err := pub.Publish(ctx, "com.example.temp", client.Args(21.5), client.PublishOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := pub.Call(ctx, "com.example.echo", client.Args(1)); err != nil {
		t.Fatal(err)
	}
	var werr *client.Error
	if _, err := pub.Call(ctx, "com.example.nothing", client.Args(1)); !errors.As(err, &werr) {
		t.Fatalf("a call to no procedure: %v", err)
	}
	if _, err := pub.Call(ctx, "com.example.fail", client.Args(1)); !errors.As(err, &werr) {
		t.Fatalf("a call that fails: %v", err)
	}
	statsMoved(t, tb.Router, before, map[string]uint64{
		"published": 5, "delivered": 10, "calls": 3,
		"no_such_procedure": 1, "application": 1,
	})
	if after := tb.Stats(); after.BytesReceived <= before.BytesReceived || after.BytesSent <= before.BytesSent {
		t.Errorf("bytes did not move: %d/%d -> %d/%d", before.BytesReceived, before.BytesSent, after.BytesReceived, after.BytesSent)
	}

	// A session that leaves keeps its counts in the totals.
	before = tb.Stats()
	pub.Close()
	tb.waitSessions(t, 2)
	if after := tb.Stats(); after.EventsPublished != before.EventsPublished || after.Calls != before.Calls || after.BytesReceived < before.BytesReceived {
		t.Errorf("counts lost with the session: %+v -> %+v", before, after)
	}
}

// TestStatsProcedure: wampedge.stats answers with the figures as one
// dict, its keys in a fixed order, and no client may register it.
func TestStatsProcedure(t *testing.T) {
	tb := newTestbed(t, nil)
	for _, w := range []int{0, 1} {
		c := tb.client(t, wires[w])
		ctx := opCtx(t)
		c.Publish(ctx, "com.example.temp", client.Args(1), client.PublishOptions{})
		res, err := c.Call(ctx, edge.StatsProcedure, client.Payload{})
		if err != nil {
			t.Fatalf("%s: %v", wires[w].name, err)
		}
		if len(res.Args) != 1 {
			t.Fatalf("%s: %d results, want one dict", wires[w].name, len(res.Args))
		}
		d, _ := res.Args[0].(map[string]any)
		if n, _ := d["sessions"].(int64); n < 1 {
			t.Errorf("%s: sessions %v in %v", wires[w].name, d["sessions"], d)
		}
		// This session's publication and call are counted when it asks.
		if n, _ := d["calls"].(int64); n < int64(w+1) {
			t.Errorf("%s: calls %v, want at least %d", wires[w].name, d["calls"], w+1)
		}
		if n, _ := d["events_published"].(int64); n < int64(w+1) {
			t.Errorf("%s: events_published %v, want at least %d", wires[w].name, d["events_published"], w+1)
		}
		errs, _ := d["call_errors"].(map[string]any)
		if len(errs) != len(edge.CallErrorClasses) {
			t.Errorf("%s: call_errors %v", wires[w].name, d["call_errors"])
		}
		args, _, err := res.Payload.JSON()
		if err != nil {
			t.Fatal(err)
		}
		if want := `[{"sessions":`; len(args) < len(want) || args[:len(want)] != want {
			t.Errorf("%s: keys out of order: %s", wires[w].name, args)
		}
		_, err = c.Register(ctx, edge.StatsProcedure, func(context.Context, *client.Invocation) (client.Payload, error) { return client.Payload{}, nil })
		wampError(t, err, "wamp.error.procedure_already_exists")
	}
}
