package uplink

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/wampedge/wampedge/edge"
	"github.com/wampedge/wampedge/edge/client"
	"github.com/wampedge/wampedge/internal/testutil"
	"github.com/wampedge/wampedge/rawsocket"
)

// A wampedge as the cloud, in-process, under the race detector: events
// both ways, calls both ways, a cloud that goes away and comes back.
// (test/uplink runs the bridge against nexus, over every transport.)
func TestBridgeToWampedge(t *testing.T) {
	ctx := testutil.Ctx(t, 20*time.Second)
	cloudAddr := freeAddr(t)
	startCloud := func() *edge.Router {
		r := edge.New(&edge.Config{Realms: []string{"cloud"}})
		if _, err := r.Listen("tcp://"+cloudAddr, rawsocket.ListenConfig{}); err != nil {
			t.Fatal(err)
		}
		return r
	}
	cloudRouter := startCloud()
	local := edge.New(nil)
	t.Cleanup(func() { local.Close(context.Background()) })
	l, err := local.Listen("tcp://127.0.0.1:0", rawsocket.ListenConfig{})
	if err != nil {
		t.Fatal(err)
	}
	u, err := Start(local, Config{
		URL: "tcp://" + cloudAddr, Realm: "cloud",
		BackoffMin: 20 * time.Millisecond, BackoffMax: 100 * time.Millisecond,
		Rules: []Rule{
			{Direction: TopicsOut, Local: "dev.", Cloud: "s.dev."},
			{Direction: TopicsIn, Local: "cmd.", Cloud: "s.cmd."},
			{Direction: ProceduresOut, Local: "dev.", Cloud: "s.dev."},
			{Direction: ProceduresIn, Local: "cloud.", Cloud: "svc."},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(u.Close)
	device, err := client.Dial(ctx, "tcp://"+l.Addr().String(), client.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer device.Close()
	waitState := func(state string) {
		testutil.WaitFor(t, 10*time.Second, "state "+state, func() bool { return u.Status()["state"] == state })
	}
	waitState(StateConnected)

	operator, err := client.Dial(ctx, "tcp://"+cloudAddr, client.Config{Realm: "cloud"})
	if err != nil {
		t.Fatal(err)
	}
	up, down := make(chan *client.Event, 10), make(chan *client.Event, 10)
	operator.SubscribeWith(ctx, "s.dev.", client.SubscribeOptions{Match: "prefix"}, func(e *client.Event) { up <- e })
	device.Subscribe(ctx, "cmd.go", func(e *client.Event) { down <- e })
	device.Publish(ctx, "dev.t", client.Args(1), client.PublishOptions{})
	operator.Publish(ctx, "s.cmd.go", client.Args(2), client.PublishOptions{})
	for _, ch := range []chan *client.Event{up, down} {
		select {
		case <-ch:
		case <-ctx.Done():
			t.Fatal("an event did not cross the bridge")
		}
	}
	device.Register(ctx, "dev.echo", func(_ context.Context, inv *client.Invocation) (client.Payload, error) { return inv.Payload, nil })
	operator.Register(ctx, "svc.echo", func(_ context.Context, inv *client.Invocation) (client.Payload, error) { return inv.Payload, nil })
	testutil.WaitFor(t, 10*time.Second, "a cloud call to the device", func() bool {
		res, err := operator.Call(ctx, "s.dev.echo", client.Args("x"))
		return err == nil && res.Args[0] == "x"
	})
	if res, err := device.Call(ctx, "cloud.echo", client.Args("y")); err != nil || res.Args[0] != "y" {
		t.Fatalf("a device call to the cloud: %v %v", res, err)
	}

	// The cloud goes away: calls fail at once; it comes back: all is back.
	operator.Close()
	cloudRouter.Close(context.Background())
	waitState(StateDisconnected)
	var cerr *client.Error
	if _, err := device.Call(ctx, "cloud.echo", client.Args("y")); !errorsAs(err, &cerr) || cerr.URI != ErrUnavailable {
		t.Fatalf("a call while disconnected: %v", err)
	}
	device.Publish(ctx, "dev.t", client.Args(3), client.PublishOptions{})
	testutil.WaitFor(t, 5*time.Second, "the event queued", func() bool { return u.Status()["queued"] == 1 })
	cloudRouter = startCloud()
	defer cloudRouter.Close(context.Background())
	waitState(StateConnected)
	operator, err = client.Dial(ctx, "tcp://"+cloudAddr, client.Config{Realm: "cloud"})
	if err != nil {
		t.Fatal(err)
	}
	defer operator.Close()
	testutil.WaitFor(t, 10*time.Second, "the device procedure registered again", func() bool {
		res, err := operator.Call(ctx, "s.dev.echo", client.Args("z"))
		return err == nil && res.Args[0] == "z"
	})
	testutil.WaitFor(t, 10*time.Second, "the queued event confirmed", func() bool { return u.Status()["queued"] == 0 })
}

func freeAddr(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

func errorsAs(err error, target **client.Error) bool {
	e, ok := err.(*client.Error)
	*target = e
	return ok
}
