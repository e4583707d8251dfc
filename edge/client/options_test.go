package client_test

import (
	"context"
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/wampedge/wampedge/codec"
	"github.com/wampedge/wampedge/edge/client"
	"github.com/wampedge/wampedge/rawsocket"
)

// fakeSession is a fake router that welcomes one client with details,
// then passes each message it gets to got and sends what answer returns,
// up to GOODBYE. got also has the HELLO, first.
func fakeSession(t *testing.T, details codec.WelcomeDetails, answer func(codec.Message) []codec.Message) (url string, got <-chan codec.Message) {
	t.Helper()
	ch := make(chan codec.Message, 64)
	url = fakeRouter(t, func(conn *rawsocket.Conn, wire codec.Codec) { serveFake(conn, wire, details, answer, ch) })
	return url, ch
}

func serveFake(conn msgConn, wire codec.Codec, details codec.WelcomeDetails, answer func(codec.Message) []codec.Message, got chan<- codec.Message) {
	hello, err := fakeRead(conn, wire)
	if err != nil {
		return
	}
	got <- hello
	d, _ := details.MarshalMsg(nil)
	if fakeSend(conn, wire, &codec.Welcome{Session: 1, Details: d}) != nil {
		return
	}
	for {
		m, err := fakeRead(conn, wire)
		if err != nil {
			return
		}
		got <- m
		if _, ok := m.(*codec.Goodbye); ok {
			fakeSend(conn, wire, &codec.Goodbye{Reason: []byte("wamp.close.goodbye_and_out")})
			return
		}
		for _, out := range answer(m) {
			if fakeSend(conn, wire, out) != nil {
				return
			}
		}
	}
}

// next returns the next message the fake router got, as a T, or fails.
func next[T codec.Message](t *testing.T, got <-chan codec.Message) T {
	t.Helper()
	m := receive(t, got, "message at the router")
	v, ok := m.(T)
	if !ok {
		t.Fatalf("the router got %v, want %T", m.Type(), v)
	}
	return v
}

func dict(t *testing.T, v interface{ MarshalMsg([]byte) ([]byte, error) }) []byte {
	t.Helper()
	b, err := v.MarshalMsg(nil)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// answerRequests answers what a client sends as a router would, with
// three progressive results before the final one to a CALL that asks.
func answerRequests(t *testing.T) func(codec.Message) []codec.Message {
	return func(m codec.Message) []codec.Message {
		switch m := m.(type) {
		case *codec.Subscribe:
			return []codec.Message{&codec.Subscribed{Request: m.Request, Subscription: 1}}
		case *codec.Register:
			return []codec.Message{&codec.Registered{Request: m.Request, Registration: 2}}
		case *codec.Publish:
			var o codec.PublishOptions
			if o.Decode(m.Options) == nil && o.Acknowledge {
				return []codec.Message{&codec.Published{Request: m.Request, Publication: 3}}
			}
		case *codec.Call:
			var o codec.CallOptions
			o.Decode(m.Options)
			var out []codec.Message
			if o.ReceiveProgress {
				progress := dict(t, &codec.ResultDetails{Progress: true})
				for i := range 3 {
					out = append(out, &codec.Result{Request: m.Request, Details: progress, Args: client.Args(i).Args})
				}
			}
			return append(out, &codec.Result{Request: m.Request, Args: client.Args("final").Args})
		}
		return nil
	}
}

func TestOptionsOnTheWire(t *testing.T) {
	for _, ser := range []codec.Serializer{codec.JSON, codec.MsgPack} {
		t.Run(ser.String(), func(t *testing.T) {
			url, got := fakeSession(t, codec.WelcomeDetails{Roles: map[string]codec.Role{"broker": {}, "dealer": {}}}, answerRequests(t))
			c, err := client.Dial(opCtx(t), url, client.Config{Serializer: ser})
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()

			hello := next[*codec.Hello](t, got)
			var hd codec.HelloDetails
			if err := hd.Decode(hello.Details); err != nil {
				t.Fatal(err)
			}
			if len(hd.AuthMethods) != 0 || hd.AuthID != "" || hd.AuthExtra != nil {
				t.Errorf("an anonymous HELLO offers %v as %q (%v)", hd.AuthMethods, hd.AuthID, hd.AuthExtra)
			}
			for role, feature := range map[string]string{
				"callee": "call_canceling", "caller": "progressive_call_results", "subscriber": "pattern_based_subscription", "publisher": "publisher_identification",
			} {
				if !hd.Roles[role].Features[feature] {
					t.Errorf("HELLO does not announce %s.%s", role, feature)
				}
			}

			hops := []codec.ForwardFor{{Session: 5, AuthID: "edge-7", AuthRole: "bridge"}}
			if err := c.Publish(opCtx(t), "com.example.t", client.Payload{}, client.PublishOptions{Acknowledge: true, IncludeMe: true, DiscloseMe: true, ForwardFor: hops, Retain: true}); err != nil {
				t.Fatal(err)
			}
			var po codec.PublishOptions
			if err := po.Decode(next[*codec.Publish](t, got).Options); err != nil || !po.Acknowledge || po.ExcludeMe != codec.False || !po.DiscloseMe || !reflect.DeepEqual(po.ForwardFor, hops) || !po.Retain {
				t.Errorf("PUBLISH options %+v, %v", po, err)
			}

			for match, want := range map[string]string{"": "", "exact": "", "prefix": "prefix", "wildcard": "wildcard"} {
				if _, err := c.SubscribeWith(opCtx(t), "com.example", client.SubscribeOptions{Match: match}, func(*client.Event) {}); err != nil {
					t.Fatal(err)
				}
				var so codec.SubscribeOptions
				if err := so.Decode(next[*codec.Subscribe](t, got).Options); err != nil || so.Match != want {
					t.Errorf("SubscribeWith %q: SUBSCRIBE options %+v, %v", match, so, err)
				}
			}
			if _, err := c.SubscribeWith(opCtx(t), "com.example", client.SubscribeOptions{GetRetained: true}, func(*client.Event) {}); err != nil {
				t.Fatal(err)
			}
			var so codec.SubscribeOptions
			if err := so.Decode(next[*codec.Subscribe](t, got).Options); err != nil || !so.GetRetained {
				t.Errorf("SubscribeWith GetRetained: SUBSCRIBE options %+v, %v", so, err)
			}
			if _, err := c.SubscribeWith(opCtx(t), "com.example", client.SubscribeOptions{Match: "regex"}, func(*client.Event) {}); err == nil {
				t.Error("SubscribeWith an unknown policy succeeded")
			}

			if _, err := c.RegisterWith(opCtx(t), "com.example..get", client.RegisterOptions{Match: "wildcard", Invoke: "roundrobin"}, nil); err != nil {
				t.Fatal(err)
			}
			var ro codec.RegisterOptions
			if err := ro.Decode(next[*codec.Register](t, got).Options); err != nil || ro.Match != "wildcard" || ro.Invoke != "roundrobin" {
				t.Errorf("REGISTER options %+v, %v", ro, err)
			}
			for _, bad := range []client.RegisterOptions{{Invoke: "sometimes"}, {Match: "glob"}} {
				if _, err := c.RegisterWith(opCtx(t), "com.example.p", bad, nil); err == nil {
					t.Errorf("RegisterWith %+v succeeded", bad)
				}
			}

			var progress []any
			res, err := c.CallWith(opCtx(t), "com.example.p", client.Payload{}, client.CallOptions{
				Timeout: 1500 * time.Microsecond, DiscloseMe: true, ForwardFor: hops,
				Progress: func(r *client.Result) { progress = append(progress, r.Args...) },
			})
			if err != nil || res.Args[0] != "final" || res.Progress {
				t.Fatalf("CallWith: %+v, %v", res, err)
			}
			if !slices.Equal(progress, []any{int64(0), int64(1), int64(2)}) {
				t.Errorf("progressive results %v, want 0 1 2 in order", progress)
			}
			var co codec.CallOptions
			if err := co.Decode(next[*codec.Call](t, got).Options); err != nil ||
				!reflect.DeepEqual(co, codec.CallOptions{Timeout: 2, ReceiveProgress: true, DiscloseMe: true, ForwardFor: hops}) {
				t.Errorf("CALL options %+v, %v; want timeout 2 (ms, rounded up), receive_progress, disclose_me, forward_for", co, err)
			}

			// Progressive results a call did not ask for are dropped.
			if res, err := c.Call(opCtx(t), "com.example.p", client.Payload{}); err != nil || res.Args[0] != "final" {
				t.Fatalf("Call: %+v, %v", res, err)
			}
			call := next[*codec.Call](t, got)
			if err := co.Decode(call.Options); err != nil || !reflect.DeepEqual(co, codec.CallOptions{}) {
				t.Errorf("Call sends options %+v, %v; want none", co, err)
			}
			if _, err := c.CallWith(opCtx(t), "com.example.p", client.Payload{}, client.CallOptions{Timeout: 3 * time.Second}); err != nil {
				t.Fatal(err)
			}
			if err := co.Decode(next[*codec.Call](t, got).Options); err != nil || co.Timeout != 3000 {
				t.Errorf("CALL options %+v, %v; want timeout 3000", co, err)
			}
		})
	}
}

// TestCancelOnlyWhenAnnounced: a call given up on is cancelled at a
// router that announced call_canceling (in either spelling), and at no
// other.
func TestCancelOnlyWhenAnnounced(t *testing.T) {
	for _, tc := range []struct {
		name     string
		features map[string]bool
		cancels  bool
	}{
		{"not announced", nil, false},
		{"call_canceling", map[string]bool{"call_canceling": true}, true},
		{"call_cancelling", map[string]bool{"call_cancelling": true}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			details := codec.WelcomeDetails{Roles: map[string]codec.Role{"dealer": {Features: tc.features}}}
			url, got := fakeSession(t, details, func(codec.Message) []codec.Message { return nil }) // never answers
			c, err := client.Dial(opCtx(t), url, client.Config{})
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if c.RouterFeature("dealer", "call_canceling") != tc.cancels {
				t.Errorf("RouterFeature(dealer, call_canceling) = %v", !tc.cancels)
			}
			next[*codec.Hello](t, got)
			ctx, cancel := context.WithCancel(context.Background())
			result := make(chan error, 1)
			go func() {
				_, err := c.Call(ctx, "com.example.slow", client.Payload{})
				result <- err
			}()
			call := next[*codec.Call](t, got)
			cancel()
			if err := receive(t, result, "Call's return"); !errors.Is(err, context.Canceled) {
				t.Fatalf("Call: %v, want context.Canceled", err)
			}
			// A marker: whatever the client sent before it comes first.
			if err := c.Publish(opCtx(t), "com.example.marker", client.Payload{}, client.PublishOptions{}); err != nil {
				t.Fatal(err)
			}
			if tc.cancels {
				m := next[*codec.Cancel](t, got)
				var o codec.CancelOptions
				if err := o.Decode(codec.TypeCancel, m.Options); err != nil || m.Request != call.Request || o.Mode != "killnowait" {
					t.Errorf("CANCEL for request %d with %+v (%v), want %d killnowait", m.Request, o, err, call.Request)
				}
			}
			next[*codec.Publish](t, got)
		})
	}
}

// TestInvocationDetails: what INVOCATION says reaches the handler;
// progressive results go out before the answer; an INTERRUPT cancels the
// handler and answers wamp.error.canceled.
func TestInvocationDetails(t *testing.T) {
	hops := []codec.ForwardFor{{Session: 8, AuthID: "cloud"}}
	progressive := dict(t, &codec.InvocationDetails{
		Procedure: "com.example.dev.7.status", Caller: 99, CallerAuthID: "alice", CallerAuthRole: "ops",
		ReceiveProgress: true, ForwardFor: hops,
	})
	answer := func(m codec.Message) []codec.Message {
		switch m := m.(type) {
		case *codec.Register:
			return []codec.Message{
				&codec.Registered{Request: m.Request, Registration: 2},
				&codec.Invocation{Request: 10, Registration: 2, Details: progressive, Args: client.Args("x").Args},
			}
		case *codec.Yield:
			var o codec.YieldOptions
			if m.Request == 10 && o.Decode(m.Options) == nil && !o.Progress { // answered: the next one
				return []codec.Message{
					&codec.Invocation{Request: 11, Registration: 2, Details: progressive},
					&codec.Interrupt{Request: 11, Options: dict(t, &codec.CancelOptions{Mode: "killnowait"})},
				}
			}
		}
		return nil
	}
	url, got := fakeSession(t, codec.WelcomeDetails{Roles: map[string]codec.Role{"dealer": {}}}, answer)
	c, err := client.Dial(opCtx(t), url, client.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	next[*codec.Hello](t, got)

	invocations := make(chan *client.Invocation, 2)
	causes := make(chan error, 1)
	_, err = c.RegisterWith(opCtx(t), "com.example.dev.", client.RegisterOptions{Match: "prefix"}, func(ctx context.Context, inv *client.Invocation) (client.Payload, error) {
		invocations <- inv
		if inv.Args != nil { // the first
			for _, p := range []string{"a", "b"} {
				if err := inv.Progress(ctx, client.Args(p)); err != nil {
					return client.Payload{}, err
				}
			}
			return client.Args("done"), nil
		}
		<-ctx.Done()
		causes <- inv.Progress(context.Background(), client.Args("too late"))
		return client.Args("ignored"), nil
	})
	if err != nil {
		t.Fatal(err)
	}
	next[*codec.Register](t, got)

	inv := receive(t, invocations, "invocation")
	if inv.Procedure != "com.example.dev.7.status" || inv.Caller != 99 || inv.CallerAuthID != "alice" || inv.CallerAuthRole != "ops" ||
		!inv.ReceiveProgress || !reflect.DeepEqual(inv.ForwardFor, hops) || len(inv.Details) == 0 || !reflect.DeepEqual(inv.Args, []any{"x"}) {
		t.Errorf("invocation %+v", inv)
	}
	for _, want := range []struct {
		progress bool
		arg      string
	}{{true, "a"}, {true, "b"}, {false, "done"}} {
		y := next[*codec.Yield](t, got)
		var o codec.YieldOptions
		args, _, _ := client.Payload{Args: y.Args}.Decode()
		if err := o.Decode(y.Options); err != nil || y.Request != 10 || o.Progress != want.progress || !reflect.DeepEqual(args, []any{want.arg}) {
			t.Errorf("YIELD %d %+v %v, want progress %v with %q", y.Request, o, args, want.progress, want.arg)
		}
	}
	if err := inv.Progress(opCtx(t), client.Args("after")); err == nil {
		t.Error("Progress after the answer succeeded")
	}

	receive(t, invocations, "the second invocation")
	if err := receive(t, causes, "the handler's end"); !errors.Is(err, client.ErrInterrupted) {
		t.Errorf("Progress after INTERRUPT: %v, want ErrInterrupted", err)
	}
	e := next[*codec.Error](t, got)
	if e.RequestType != codec.TypeInvocation || e.Request != 11 || string(e.Error) != "wamp.error.canceled" {
		t.Errorf("an interrupted invocation answered %v %d %s, want ERROR wamp.error.canceled", e.RequestType, e.Request, e.Error)
	}
}

func TestRawPayloads(t *testing.T) {
	eachWire(t, func(t *testing.T, r *router, w wire) {
		bridge, err := client.Dial(opCtx(t), r.urls[w.transport], client.Config{Serializer: w.ser, RawPayloads: true})
		if err != nil {
			t.Fatal(err)
		}
		defer bridge.Close()
		peer := r.dial(t, w)
		want := client.ArgsKw([]any{"raw", int64(7)}, map[string]any{"k": []any{1.5}})

		events := make(chan *client.Event, 1)
		if _, err := bridge.Subscribe(opCtx(t), "com.example.raw", func(ev *client.Event) { events <- ev }); err != nil {
			t.Fatal(err)
		}
		if err := peer.Publish(opCtx(t), "com.example.raw", want, client.PublishOptions{Acknowledge: true}); err != nil {
			t.Fatal(err)
		}
		ev := receive(t, events, "event")
		if ev.Args != nil || ev.Kwargs != nil || !samePayload(ev.Payload, want) {
			t.Errorf("event: Args %v, Kwargs %v, Payload %x %x", ev.Args, ev.Kwargs, ev.Payload.Args, ev.Payload.Kwargs)
		}

		register(t, bridge, "com.example.raw", func(_ context.Context, inv *client.Invocation) (client.Payload, error) {
			if inv.Args != nil || inv.Kwargs != nil {
				return client.Payload{}, errors.New("decoded")
			}
			return inv.Payload, nil // forwarded as it came
		})
		res, err := bridge.Call(opCtx(t), "com.example.raw", want)
		if err != nil || res.Args != nil || res.Kwargs != nil || !samePayload(res.Payload, want) {
			t.Errorf("call: %v; Args %v, Payload %x %x", err, res.Args, res.Payload.Args, res.Payload.Kwargs)
		}
		// The decoding side is unchanged.
		res, err = peer.Call(opCtx(t), "com.example.raw", want)
		if err != nil || !reflect.DeepEqual(res.Args, []any{"raw", int64(7)}) {
			t.Errorf("decoded call: %v, %v", res, err)
		}
	})
}

// samePayload compares payloads by value (JSON re-encodes them).
func samePayload(a, b client.Payload) bool {
	aa, ak, errA := a.Decode()
	ba, bk, errB := b.Decode()
	return errA == nil && errB == nil && reflect.DeepEqual(aa, ba) && reflect.DeepEqual(ak, bk)
}

func TestProgressNotAskedFor(t *testing.T) {
	eachWire(t, func(t *testing.T, r *router, w wire) {
		callee, caller := r.dial(t, w), r.dial(t, w)
		refused := make(chan error, 1)
		register(t, callee, "com.example.steps", func(ctx context.Context, inv *client.Invocation) (client.Payload, error) {
			if inv.ReceiveProgress {
				refused <- errors.New("ReceiveProgress set")
			} else {
				refused <- inv.Progress(ctx, client.Args(1))
			}
			return client.Args("final"), nil
		})
		res, err := caller.Call(opCtx(t), "com.example.steps", client.Payload{})
		if err != nil || res.Args[0] != "final" {
			t.Fatalf("Call: %v, %v", res, err)
		}
		if err := receive(t, refused, "Progress's answer"); err == nil || !strings.Contains(err.Error(), "progressive") {
			t.Errorf("Progress when not asked for: %v", err)
		}
	})
}

func TestWelcomeAgainstEdge(t *testing.T) {
	r := startRouter(t)
	c := r.dial(t, wires[1])
	if !c.RouterFeature("broker", "publisher_exclusion") || c.RouterFeature("dealer", "no_such_feature") {
		t.Error("RouterFeature does not match what wampedge announces")
	}
	// wampedge does not announce call_canceling (yet): a call given up on
	// is not cancelled, and the session goes on.
	if !c.RouterFeature("dealer", "call_canceling") {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
		defer cancel()
		register(t, c, "com.example.never", func(ctx context.Context, _ *client.Invocation) (client.Payload, error) {
			<-ctx.Done()
			return client.Payload{}, nil
		})
		if _, err := c.Call(ctx, "com.example.never", client.Payload{}); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Call: %v", err)
		}
		if err := c.Publish(opCtx(t), "com.example.alive", client.Payload{}, client.PublishOptions{Acknowledge: true}); err != nil {
			t.Errorf("the session after giving up on a call: %v", err)
		}
	}
}

func TestPublishAck(t *testing.T) {
	eachWire(t, func(t *testing.T, r *router, w wire) {
		c := r.dial(t, w)
		var acks []<-chan error
		for _, topic := range []string{"com.example.a", "bad topic", "com.example.b"} {
			ack, err := c.PublishAck(topic, client.Args(topic), client.PublishOptions{})
			if err != nil {
				t.Fatal(err)
			}
			acks = append(acks, ack)
		}
		for i, want := range []string{"", "wamp.error.invalid_uri", ""} {
			err := receive(t, acks[i], "acknowledgement")
			if want == "" && err != nil {
				t.Errorf("publication %d: %v", i, err)
			} else if want != "" {
				wampError(t, err, want)
			}
		}
	})
	t.Run("session ends first", func(t *testing.T) {
		url, got := fakeSession(t, codec.WelcomeDetails{Roles: map[string]codec.Role{"broker": {}}}, func(m codec.Message) []codec.Message {
			if _, ok := m.(*codec.Publish); ok {
				return []codec.Message{&codec.Abort{Reason: []byte("wamp.close.system_shutdown")}}
			}
			return nil
		})
		c, err := client.Dial(opCtx(t), url, client.Config{})
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		ack, err := c.PublishAck("com.example.a", client.Payload{}, client.PublishOptions{})
		if err != nil {
			t.Fatal(err)
		}
		next[*codec.Hello](t, got)
		next[*codec.Publish](t, got)
		if err := receive(t, ack, "acknowledgement"); !errors.Is(err, client.ErrClosed) {
			t.Errorf("ack: %v, want ErrClosed", err)
		}
		if _, err := c.PublishAck("com.example.a", client.Payload{}, client.PublishOptions{}); !errors.Is(err, client.ErrClosed) {
			t.Errorf("PublishAck after the end: %v, want ErrClosed", err)
		}
	})
}
