package uplink

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/wampedge/wampedge/edge/client"
	"github.com/wampedge/wampedge/edge/uplink"
	"github.com/wampedge/wampedge/test/cloud"
)

func errorsAs(err error, target any) bool { return errors.As(err, target) }

// The cloud dies; 500 events are published meanwhile; it comes back: the
// bridge reconnects, every mapping is back, and the events arrive in
// order — or, with a smaller queue, exactly the newest ones, the rest
// dropped and counted.
func TestUplinkOffline(t *testing.T) {
	const published = 500
	for _, tc := range []struct {
		name  string
		queue int
	}{{"queue holds all", 0}, {"queue of 100", 100}} {
		t.Run(tc.name, func(t *testing.T) {
			// The cloud's observer joins before the ports open, each time
			// the router starts: it is there before the bridge comes back.
			var mu sync.Mutex
			var got []int64
			var observer *client.Client
			n := cloud.StartNexus(t, cloud.NexusConfig{Realm: "cloud", OnStart: func(n *cloud.Nexus) {
				c, err := joinPipe(n, "cloud")
				if err != nil {
					t.Error(err)
					return
				}
				c.Subscribe(context.Background(), "site1.dev.seq", func(e *client.Event) {
					mu.Lock()
					got = append(got, e.Args[0].(int64))
					mu.Unlock()
				})
				mu.Lock()
				observer = c
				mu.Unlock()
			}})
			t.Cleanup(func() { mu.Lock(); observer.Close(); mu.Unlock() })
			e := startEdge(t)
			startUplink(t, e, uplink.Config{URL: n.RawSocketURL, Realm: "cloud", Rules: siteRules, QueueEvents: tc.queue})
			device := join(t, e.url, "realm1", client.Config{})
			ctx := ctxFor(t)
			if _, err := device.Register(ctx, "dev.ping", func(context.Context, *client.Invocation) (client.Payload, error) {
				return client.Args("pong"), nil
			}); err != nil {
				t.Fatal(err)
			}
			waitState(t, device, uplink.StateConnected)

			n.Kill()
			waitState(t, device, uplink.StateDisconnected)
			// Forwarded calls fail at once, with a clear error.
			_, err := device.Call(ctx, "cloud.anything", client.Payload{})
			wampError(t, err, uplink.ErrUnavailable)
			for i := range published {
				if err := device.Publish(ctx, "dev.seq", client.Args(i), client.PublishOptions{}); err != nil {
					t.Fatal(err)
				}
			}
			want := published
			if tc.queue > 0 {
				want = tc.queue
			}
			waitFor(t, "the events queued", func() bool { return status(t, device)["queued"] == int64(want) })

			n.Restart(t)
			waitFor(t, "the queued events in the cloud", func() bool {
				mu.Lock()
				defer mu.Unlock()
				return len(got) >= want
			})
			mu.Lock()
			first := int64(published - want)
			for i, v := range got {
				if v != first+int64(i) {
					t.Fatalf("event %d is %d, want %d (in order, oldest dropped): %v", i, v, first+int64(i), got)
				}
			}
			mu.Unlock()
			st := waitState(t, device, uplink.StateConnected)
			if st["dropped"] != int64(published-want) || st["reconnects"] != int64(1) {
				t.Errorf("status after the restart: %v", st)
			}
			// Every mapping is back: a cloud call reaches the device.
			operator := join(t, n.RawSocketURL, "cloud", client.Config{})
			waitFor(t, "site1.dev.ping registered again", func() bool {
				res, err := operator.Call(ctx, "site1.dev.ping", client.Payload{})
				return err == nil && res.Args[0] == "pong"
			})
		})
	}
}

// Two edges on one cloud, with rules that overlap both ways: an event
// from a device on one reaches the other edge and the cloud once, and
// nothing comes back.
func TestUplinkNoLoops(t *testing.T) {
	n := cloud.StartNexus(t, cloud.NexusConfig{Realm: "cloud"})
	rules := []uplink.Rule{
		{Direction: uplink.TopicsOut, Local: "dev.", Cloud: "plant.dev."},
		{Direction: uplink.TopicsIn, Local: "dev.", Cloud: "plant.dev."},
		{Direction: uplink.ProceduresOut, Local: "dev.", Cloud: "plant.dev."},
		{Direction: uplink.ProceduresIn, Local: "plant.", Cloud: "plant."},
	}
	var edges []*edgeRouter
	var locals []*collector
	var publishers []*client.Client
	for range 2 {
		e := startEdge(t)
		startUplink(t, e, uplink.Config{URL: n.RawSocketURL, Realm: "cloud", Rules: rules})
		c := join(t, e.url, "realm1", client.Config{})
		waitState(t, c, uplink.StateConnected)
		edges = append(edges, e)
		locals = append(locals, subscribe(t, join(t, e.url, "realm1", client.Config{}), "dev.", "prefix"))
		publishers = append(publishers, c)
	}
	inCloud := subscribe(t, join(t, n.RawSocketURL, "cloud", client.Config{}), "plant.dev.", "prefix")
	if err := publishers[0].Publish(ctxFor(t), "dev.temp", client.Args(1), client.PublishOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the event everywhere", func() bool { return inCloud.len() == 1 && locals[0].len() == 1 && locals[1].len() == 1 })
	// A second, later event is the marker: anything echoed would have
	// arrived before it.
	if err := publishers[1].Publish(ctxFor(t), "dev.marker", client.Args(2), client.PublishOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the marker everywhere", func() bool { return inCloud.len() == 2 && locals[0].len() >= 2 && locals[1].len() >= 2 })
	for i, col := range append(locals, inCloud) {
		if got := col.len(); got != 2 {
			var topics []string
			for _, e := range col.all() {
				topics = append(topics, e.Topic)
			}
			t.Errorf("subscriber %d got %d events, want 2: %v", i, got, topics)
		}
	}
	// A procedure on edge 0 is callable from edge 1 through the cloud,
	// and edge 0's own forwarding registration is not exported back.
	ctx := ctxFor(t)
	if _, err := publishers[0].Register(ctx, "dev.where", func(context.Context, *client.Invocation) (client.Payload, error) {
		return client.Args("edge0"), nil
	}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "plant.dev.where from edge 1", func() bool {
		res, err := publishers[1].Call(ctx, "plant.dev.where", client.Payload{})
		return err == nil && res.Args[0] == "edge0"
	})
}

// A cloud that refuses the credentials: a clear log line once per
// change, retries with backoff, and the router serves its clients.
func TestUplinkWrongCredentials(t *testing.T) {
	n := cloud.StartNexus(t, cloud.NexusConfig{Realm: "cloud", Tickets: map[string]string{"edge": "right"}})
	e := startEdge(t)
	startUplink(t, e, uplink.Config{URL: n.RawSocketURL, Realm: "cloud", AuthID: "edge", Ticket: "wrong", Rules: siteRules})
	device := join(t, e.url, "realm1", client.Config{})
	waitFor(t, "several refused attempts", func() bool {
		return countLines(e.log.String(), "cloud session failed") >= 1 && status(t, device)["last_error"] != nil
	})
	// Several backoff periods later: still one line for the one reason.
	waitFor(t, "more attempts", func() bool { return n.Connections() >= 4 })
	if got := countLines(e.log.String(), "cloud session failed"); got != 1 {
		t.Errorf("%d log lines for the same refusal, want 1:\n%s", got, e.log)
	}
	st := status(t, device)
	if st["state"] != uplink.StateConnecting {
		t.Errorf("status %v", st)
	}
	// Local routing goes on.
	got := subscribe(t, device, "dev.x", "")
	other := join(t, e.url, "realm1", client.Config{})
	other.Publish(ctxFor(t), "dev.x", client.Args(1), client.PublishOptions{})
	waitFor(t, "a local event", func() bool { return got.len() == 1 })
	_, err := other.Call(ctxFor(t), "cloud.svc", client.Payload{})
	wampError(t, err, uplink.ErrUnavailable)
}
