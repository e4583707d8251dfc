package cloud

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/wampedge/wampedge/codec"
	"github.com/wampedge/wampedge/edge/client"
)

// eachWire runs f over every wire, all against one nexus.
func eachWire(t *testing.T, f func(t *testing.T, w wire)) {
	n := StartNexus(t, NexusConfig{Anonymous: true})
	for _, w := range wiresOf(n) {
		t.Run(w.name, func(t *testing.T) { f(t, w) })
	}
}

func TestPubSubAndCalls(t *testing.T) {
	args := []any{int64(1), "two", []any{true, nil}, 2.5}
	kwargs := map[string]any{"room": "kitchen", "celsius": int64(21)}
	eachWire(t, func(t *testing.T, w wire) {
		sub, pub := dial(t, w, client.Config{}), dial(t, w, client.Config{})
		events := make(chan *client.Event, 1)
		if _, err := sub.Subscribe(opCtx(t), "com.example.temp", func(ev *client.Event) { events <- ev }); err != nil {
			t.Fatal(err)
		}
		if err := pub.Publish(opCtx(t), "com.example.temp", client.ArgsKw(args, kwargs), client.PublishOptions{Acknowledge: true}); err != nil {
			t.Fatal(err)
		}
		ev := receive(t, events, "event")
		if ev.Topic != "com.example.temp" || !reflect.DeepEqual(ev.Args, args) || !reflect.DeepEqual(ev.Kwargs, kwargs) {
			t.Errorf("event on %s: %#v %#v", ev.Topic, ev.Args, ev.Kwargs)
		}
		if ev.Publisher != 0 {
			t.Errorf("publisher %d disclosed unasked", ev.Publisher)
		}

		if _, err := sub.Register(opCtx(t), "com.example.echo", func(_ context.Context, inv *client.Invocation) (client.Payload, error) {
			return inv.Payload, nil
		}); err != nil {
			t.Fatal(err)
		}
		res, err := pub.Call(opCtx(t), "com.example.echo", client.ArgsKw(args, kwargs))
		if err != nil || !reflect.DeepEqual(res.Args, args) || !reflect.DeepEqual(res.Kwargs, kwargs) {
			t.Errorf("Call: %v; %#v %#v", err, res.Args, res.Kwargs)
		}
	})
}

func TestRawPayloads(t *testing.T) {
	eachWire(t, func(t *testing.T, w wire) {
		bridge, peer := dial(t, w, client.Config{RawPayloads: true}), dial(t, w, client.Config{})
		want := client.ArgsKw([]any{"raw", int64(7)}, map[string]any{"k": "v"})
		events := make(chan *client.Event, 1)
		if _, err := bridge.Subscribe(opCtx(t), "com.example.raw", func(ev *client.Event) { events <- ev }); err != nil {
			t.Fatal(err)
		}
		if err := peer.Publish(opCtx(t), "com.example.raw", want, client.PublishOptions{Acknowledge: true}); err != nil {
			t.Fatal(err)
		}
		ev := receive(t, events, "event")
		if ev.Args != nil || ev.Kwargs != nil || !samePayload(ev.Payload, want) {
			t.Errorf("raw event: Args %v Kwargs %v Payload %x %x", ev.Args, ev.Kwargs, ev.Payload.Args, ev.Payload.Kwargs)
		}
		// The bridge answers with the payload untouched, as it forwards.
		if _, err := bridge.Register(opCtx(t), "com.example.raw", func(_ context.Context, inv *client.Invocation) (client.Payload, error) {
			if inv.Args != nil || inv.Kwargs != nil {
				return client.Payload{}, errors.New("decoded")
			}
			return inv.Payload, nil
		}); err != nil {
			t.Fatal(err)
		}
		res, err := bridge.Call(opCtx(t), "com.example.raw", want)
		if err != nil || res.Args != nil || !samePayload(res.Payload, want) {
			t.Errorf("raw call: %v; Args %v Payload %x %x", err, res.Args, res.Payload.Args, res.Payload.Kwargs)
		}
	})
}

// samePayload compares payloads by value: a router may re-encode them.
func samePayload(a, b client.Payload) bool {
	aa, ak, errA := a.Decode()
	ba, bk, errB := b.Decode()
	return errA == nil && errB == nil && reflect.DeepEqual(aa, ba) && reflect.DeepEqual(ak, bk)
}

func TestPatternSubscriptions(t *testing.T) {
	eachWire(t, func(t *testing.T, w wire) {
		sub, pub := dial(t, w, client.Config{}), dial(t, w, client.Config{})
		type got struct{ match, topic string }
		events := make(chan got, 8)
		for _, s := range []struct{ topic, match string }{
			{"com.example.sensor.", "prefix"},
			{"com.example..temp", "wildcard"},
		} {
			subscription, err := sub.SubscribeWith(opCtx(t), s.topic, client.SubscribeOptions{Match: s.match}, func(ev *client.Event) {
				events <- got{s.match, ev.Topic}
			})
			if err != nil {
				t.Fatalf("SubscribeWith %s %s: %v", s.match, s.topic, err)
			}
			if subscription.Match != s.match || subscription.Topic != s.topic {
				t.Errorf("subscription %+v", subscription)
			}
		}
		for _, topic := range []string{"com.example.sensor.a.b", "com.example.kitchen.temp", "com.example.kitchen.humidity"} {
			if err := pub.Publish(opCtx(t), topic, client.Payload{}, client.PublishOptions{Acknowledge: true}); err != nil {
				t.Fatal(err)
			}
		}
		want := []got{{"prefix", "com.example.sensor.a.b"}, {"wildcard", "com.example.kitchen.temp"}}
		for _, w := range want {
			if g := receive(t, events, "event"); g != w {
				t.Errorf("event %+v, want %+v", g, w)
			}
		}
		if _, err := sub.SubscribeWith(opCtx(t), "com.example", client.SubscribeOptions{Match: "regex"}, func(*client.Event) {}); err == nil {
			t.Error("SubscribeWith an unknown policy succeeded")
		}
	})
}

func TestPatternRegistrationAndDisclosure(t *testing.T) {
	eachWire(t, func(t *testing.T, w wire) {
		callee, caller := dial(t, w, client.Config{}), dial(t, w, client.Config{})
		invocations := make(chan *client.Invocation, 1)
		reg, err := callee.RegisterWith(opCtx(t), "com.example.device.", client.RegisterOptions{Match: "prefix"}, func(_ context.Context, inv *client.Invocation) (client.Payload, error) {
			invocations <- inv
			return client.Args(inv.Procedure), nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if reg.Match != "prefix" {
			t.Errorf("registration %+v", reg)
		}
		res, err := caller.CallWith(opCtx(t), "com.example.device.7.reboot", client.Payload{}, client.CallOptions{DiscloseMe: true})
		if err != nil || len(res.Args) != 1 || res.Args[0] != "com.example.device.7.reboot" {
			t.Fatalf("CallWith: %v, %v", res, err)
		}
		inv := receive(t, invocations, "invocation")
		if inv.Procedure != "com.example.device.7.reboot" || inv.Caller != caller.ID() || inv.CallerAuthRole != "anonymous" {
			t.Errorf("invocation of %q by %d (%q), want the concrete procedure by %d", inv.Procedure, inv.Caller, inv.CallerAuthRole, caller.ID())
		}
		if _, err := caller.Call(opCtx(t), "com.example.device.8", client.Payload{}); err != nil {
			t.Fatal(err)
		}
		if inv := receive(t, invocations, "invocation"); inv.Caller != 0 {
			t.Errorf("caller %d disclosed unasked", inv.Caller)
		}

		// Publisher disclosure.
		events := make(chan *client.Event, 1)
		if _, err := callee.Subscribe(opCtx(t), "com.example.who", func(ev *client.Event) { events <- ev }); err != nil {
			t.Fatal(err)
		}
		if err := caller.Publish(opCtx(t), "com.example.who", client.Payload{}, client.PublishOptions{Acknowledge: true, DiscloseMe: true}); err != nil {
			t.Fatal(err)
		}
		ev := receive(t, events, "event")
		if ev.Publisher != caller.ID() || ev.PublisherAuthRole != "anonymous" || ev.PublisherAuthID == "" {
			t.Errorf("event published by %d (%q, %q), want %d", ev.Publisher, ev.PublisherAuthID, ev.PublisherAuthRole, caller.ID())
		}
		var d codec.EventDetails
		if err := d.Decode(ev.Details); err != nil || d.Publisher != caller.ID() {
			t.Errorf("Event.Details %x: %+v, %v", ev.Details, d, err)
		}
	})
}

func TestProgressiveResults(t *testing.T) {
	eachWire(t, func(t *testing.T, w wire) {
		callee, caller := dial(t, w, client.Config{}), dial(t, w, client.Config{})
		const steps = 20
		refused := make(chan error, 1)
		if _, err := callee.Register(opCtx(t), "com.example.count", func(ctx context.Context, inv *client.Invocation) (client.Payload, error) {
			if !inv.ReceiveProgress {
				refused <- inv.Progress(ctx, client.Args(0))
				return client.Args("no progress"), nil
			}
			for i := range steps {
				if err := inv.Progress(ctx, client.Args(i)); err != nil {
					return client.Payload{}, err
				}
			}
			return client.Args("done"), nil
		}); err != nil {
			t.Fatal(err)
		}
		var progress []any
		res, err := caller.CallWith(opCtx(t), "com.example.count", client.Payload{}, client.CallOptions{Progress: func(r *client.Result) {
			if !r.Progress || len(r.Args) != 1 {
				t.Errorf("progressive result %+v", r)
				return
			}
			progress = append(progress, r.Args[0])
		}})
		if err != nil || res.Progress || len(res.Args) != 1 || res.Args[0] != "done" {
			t.Fatalf("CallWith: %+v, %v", res, err)
		}
		var want []any
		for i := range steps {
			want = append(want, int64(i))
		}
		if !slices.Equal(progress, want) {
			t.Errorf("progressive results %v, want %v in order", progress, want)
		}

		// A caller that did not ask gets none, and the callee is told so.
		res, err = caller.Call(opCtx(t), "com.example.count", client.Payload{})
		if err != nil || res.Args[0] != "no progress" {
			t.Fatalf("Call: %+v, %v", res, err)
		}
		if err := receive(t, refused, "Progress error"); err == nil {
			t.Error("Progress without receive_progress succeeded")
		}
	})
}

func TestCancel(t *testing.T) {
	eachWire(t, func(t *testing.T, w wire) {
		callee, caller := dial(t, w, client.Config{}), dial(t, w, client.Config{})
		if !caller.RouterFeature("dealer", "call_canceling") {
			t.Fatal("nexus does not announce call_canceling")
		}
		started := make(chan struct{}, 1)
		causes := make(chan error, 1)
		if _, err := callee.Register(opCtx(t), "com.example.slow", func(ctx context.Context, inv *client.Invocation) (client.Payload, error) {
			started <- struct{}{}
			select {
			case <-ctx.Done():
				causes <- context.Cause(ctx)
			case <-time.After(ioTimeout):
				causes <- errors.New("never interrupted")
			}
			return client.Args("late"), nil
		}); err != nil {
			t.Fatal(err)
		}

		// The caller gives up: CANCEL, and nexus interrupts the callee.
		ctx, cancel := context.WithCancel(context.Background())
		go func() { <-started; cancel() }()
		if _, err := caller.Call(ctx, "com.example.slow", client.Payload{}); !errors.Is(err, context.Canceled) {
			t.Fatalf("Call: %v, want context.Canceled", err)
		}
		if cause := receive(t, causes, "the callee's end"); !errors.Is(cause, client.ErrInterrupted) {
			t.Errorf("the callee's context ended by %v, want ErrInterrupted", cause)
		}

		// The router's timeout interrupts the callee the same way.
		_, err := caller.CallWith(opCtx(t), "com.example.slow", client.Payload{}, client.CallOptions{Timeout: 50 * time.Millisecond})
		wampError(t, err, "wamp.error.timeout")
		<-started
		if cause := receive(t, causes, "the callee's end"); !errors.Is(cause, client.ErrInterrupted) {
			t.Errorf("the callee's context ended by %v, want ErrInterrupted", cause)
		}

		// Both sessions go on.
		if _, err := callee.Register(opCtx(t), "com.example.fast", func(context.Context, *client.Invocation) (client.Payload, error) {
			return client.Args("fine"), nil
		}); err != nil {
			t.Fatal(err)
		}
		if res, err := caller.Call(opCtx(t), "com.example.fast", client.Payload{}); err != nil || res.Args[0] != "fine" {
			t.Errorf("Call after cancelling: %v, %v", res, err)
		}
	})
}

func TestErrorsIntact(t *testing.T) {
	eachWire(t, func(t *testing.T, w wire) {
		for _, raw := range []bool{false, true} {
			t.Run(fmt.Sprintf("raw=%v", raw), func(t *testing.T) {
				callee, caller := dial(t, w, client.Config{RawPayloads: raw}), dial(t, w, client.Config{RawPayloads: raw})
				sent := &client.Error{URI: "com.example.error.overheated", Payload: client.ArgsKw([]any{"too hot", int64(97)}, map[string]any{"sensor": "s1"})}
				procedure := fmt.Sprintf("com.example.hot.%v", raw)
				if _, err := callee.Register(opCtx(t), procedure, func(context.Context, *client.Invocation) (client.Payload, error) {
					return client.Payload{}, sent
				}); err != nil {
					t.Fatal(err)
				}
				_, err := caller.Call(opCtx(t), procedure, client.Payload{})
				e := wampError(t, err, sent.URI)
				if !samePayload(e.Payload, sent.Payload) {
					t.Errorf("error payload %x %x, want %x %x", e.Args, e.Kwargs, sent.Args, sent.Kwargs)
				}
				_, err = caller.Call(opCtx(t), "com.example.nothing", client.Payload{})
				wampError(t, err, "wamp.error.no_such_procedure")
			})
		}
	})
}
