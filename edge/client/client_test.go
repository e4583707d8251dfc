package client_test

import (
	"bytes"
	"context"
	"errors"
	"net"
	"path/filepath"
	"reflect"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/wampedge/wampedge/codec"
	"github.com/wampedge/wampedge/edge"
	"github.com/wampedge/wampedge/edge/client"
	"github.com/wampedge/wampedge/rawsocket"
)

// ioTimeout guards every wait: a bound on failure, never a measurement.
const ioTimeout = 10 * time.Second

type wire struct {
	name      string
	transport string
	ser       codec.Serializer
}

var wires = []wire{
	{"tcp/json", "tcp", codec.JSON},
	{"tcp/msgpack", "tcp", codec.MsgPack},
	{"unix/json", "unix", codec.JSON},
	{"unix/msgpack", "unix", codec.MsgPack},
}

// router is a real router on the loopback and on a Unix socket.
type router struct {
	*edge.Router
	urls map[string]string
}

func startRouter(t *testing.T) *router {
	t.Helper()
	r := &router{Router: edge.New(nil), urls: map[string]string{}}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), ioTimeout)
		defer cancel()
		r.Close(ctx)
	})
	sock := filepath.Join(t.TempDir(), "wamp.sock")
	for transport, url := range map[string]string{"tcp": "tcp://127.0.0.1:0", "unix": "unix://" + sock} {
		l, err := r.Listen(url, rawsocket.ListenConfig{})
		if err != nil {
			t.Fatal(err)
		}
		r.urls[transport] = l.Endpoint().String()
	}
	return r
}

// eachWire runs f per wire against a router of its own.
func eachWire(t *testing.T, f func(t *testing.T, r *router, w wire)) {
	for _, w := range wires {
		t.Run(w.name, func(t *testing.T) { f(t, startRouter(t), w) })
	}
}

func opCtx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), ioTimeout)
	t.Cleanup(cancel)
	return ctx
}

func (r *router) dial(t *testing.T, w wire) *client.Client {
	t.Helper()
	c, err := client.Dial(opCtx(t), r.urls[w.transport], client.Config{Serializer: w.ser})
	if err != nil {
		t.Fatalf("Dial over %s: %v", w.name, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

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

// wampError returns err as a *client.Error with uri, or fails.
func wampError(t testing.TB, err error, uri string) *client.Error {
	t.Helper()
	var e *client.Error
	if !errors.As(err, &e) || e.URI != uri {
		t.Fatalf("got error %v, want %s", err, uri)
	}
	return e
}

// register registers h for procedure or fails.
func register(t *testing.T, c *client.Client, procedure string, h client.Handler) *client.Registration {
	t.Helper()
	reg, err := c.Register(opCtx(t), procedure, h)
	if err != nil {
		t.Fatalf("Register %s: %v", procedure, err)
	}
	return reg
}

// fakeRouter accepts one RawSocket connection on the loopback and runs
// script on it: a router that misbehaves on purpose. It returns the URL.
func fakeRouter(t *testing.T, script func(conn *rawsocket.Conn, wire codec.Codec)) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	t.Cleanup(func() { ln.Close(); <-done })
	go func() {
		defer close(done)
		nc, err := ln.Accept()
		if err != nil {
			return
		}
		defer nc.Close()
		nc.SetDeadline(time.Now().Add(ioTimeout))
		conn, err := rawsocket.Accept(nc, rawsocket.Config{})
		if err != nil {
			return
		}
		script(conn, codec.NewCodec(conn.Serializer()))
	}()
	return "tcp://" + ln.Addr().String()
}

// msgConn is a fake router's side of a connection: RawSocket or WebSocket.
type msgConn interface {
	ReadMsg() ([]byte, error)
	WriteMsg(msg []byte) error
}

// fakeSend and fakeRead are a fake router's I/O; errors end the script.
func fakeSend(conn msgConn, wire codec.Codec, m codec.Message) error {
	frame, err := wire.Encode(nil, m.Append(nil))
	if err != nil {
		return err
	}
	return conn.WriteMsg(frame)
}

func fakeRead(conn msgConn, wire codec.Codec) (codec.Message, error) {
	frame, err := conn.ReadMsg()
	if err != nil {
		return nil, err
	}
	msg, err := wire.Decode(nil, frame)
	if err != nil {
		return nil, err
	}
	return codec.Decode(bytes.Clone(msg))
}

// welcome reads HELLO and answers WELCOME.
func welcome(conn msgConn, wire codec.Codec) error {
	if _, err := fakeRead(conn, wire); err != nil {
		return err
	}
	d, _ := (&codec.WelcomeDetails{Roles: map[string]codec.Role{"broker": {}, "dealer": {}}}).MarshalMsg(nil)
	return fakeSend(conn, wire, &codec.Welcome{Session: 1, Details: d})
}

func TestDialErrors(t *testing.T) {
	r := startRouter(t)
	closedPort := func() string {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		ln.Close()
		return "tcp://" + ln.Addr().String()
	}()
	silent := func() string { // accepts, never answers the handshake
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { ln.Close() })
		return "tcp://" + ln.Addr().String()
	}()
	// A router that never welcomes: Dial's context ends once it has the
	// HELLO.
	joining, hello := context.WithCancel(context.Background())
	t.Cleanup(hello)
	mute := fakeRouter(t, func(conn *rawsocket.Conn, wire codec.Codec) {
		conn.ReadMsg()
		hello()
		conn.ReadMsg()
	})
	wrong := fakeRouter(t, func(conn *rawsocket.Conn, wire codec.Codec) {
		conn.ReadMsg()
		fakeSend(conn, wire, &codec.Goodbye{Reason: []byte("wamp.close.system_shutdown")})
	})
	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	short := func() context.Context {
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		t.Cleanup(cancel)
		return ctx
	}

	cases := []struct {
		name string
		ctx  func() context.Context
		url  string
		cfg  client.Config
		is   error    // errors.Is target, or nil
		text []string // what the error says
	}{
		{"bad scheme", nil, "http://127.0.0.1:80", client.Config{}, nil, []string{"scheme"}},
		{"no port", nil, "tcp://127.0.0.1", client.Config{}, nil, []string{"HOST:PORT"}},
		{"refused", nil, closedPort, client.Config{}, syscall.ECONNREFUSED, nil},
		{"no socket file", nil, "unix://" + filepath.Join(t.TempDir(), "none.sock"), client.Config{}, syscall.ENOENT, nil},
		{"serializer unsupported", nil, r.urls["tcp"], client.Config{Serializer: 3}, rawsocket.ErrSerializerUnsupported, nil},
		{"canceled", func() context.Context { return canceled }, r.urls["tcp"], client.Config{}, context.Canceled, nil},
		{"handshake unanswered", short, silent, client.Config{}, nil, nil},
		{"welcome never comes", func() context.Context { return joining }, mute, client.Config{}, context.Canceled, []string{"joining realm1"}},
		{"goodbye instead of welcome", nil, wrong, client.Config{}, nil, []string{"GOODBYE instead of WELCOME"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ctx := opCtx(t)
			if tc.ctx != nil {
				ctx = tc.ctx()
			}
			c, err := client.Dial(ctx, tc.url, tc.cfg)
			if err == nil {
				c.Close()
				t.Fatal("Dial succeeded")
			}
			if tc.is != nil && !errors.Is(err, tc.is) {
				t.Errorf("Dial: %v, want %v", err, tc.is)
			}
			for _, s := range tc.text {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("Dial: %q does not say %q", err, s)
				}
			}
		})
	}
}

func TestJoinAbort(t *testing.T) {
	eachWire(t, func(t *testing.T, r *router, w wire) {
		for _, tc := range []struct{ realm, reason string }{
			{"com.example.nowhere", "wamp.error.no_such_realm"},
			{"bad realm", "wamp.error.invalid_uri"},
		} {
			_, err := client.Dial(opCtx(t), r.urls[w.transport], client.Config{Realm: tc.realm, Serializer: w.ser})
			var abort *client.AbortError
			if !errors.As(err, &abort) || abort.Reason != tc.reason || abort.Message == "" {
				t.Fatalf("joining %q: %v, want an *AbortError %s with a message", tc.realm, err, tc.reason)
			}
			if !strings.Contains(abort.Error(), tc.reason) || !strings.Contains(abort.Error(), abort.Message) {
				t.Errorf("AbortError.Error() = %q", abort.Error())
			}
		}
		c := r.dial(t, w) // the router is fine
		if c.ID() < 1 || c.ID() > codec.MaxID || c.Realm() != "realm1" {
			t.Errorf("session %d in %q", c.ID(), c.Realm())
		}
	})
}

func TestCallTimeout(t *testing.T) {
	eachWire(t, func(t *testing.T, r *router, w wire) {
		callee, caller := r.dial(t, w), r.dial(t, w)
		release := make(chan struct{})
		register(t, callee, "com.example.wait", func(ctx context.Context, _ *client.Invocation) (client.Payload, error) {
			select {
			case <-release:
			case <-ctx.Done():
			}
			return client.Args("late"), nil
		})
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		defer cancel()
		if _, err := caller.Call(ctx, "com.example.wait", client.Payload{}); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Call: %v, want context.DeadlineExceeded", err)
		}
		close(release) // the late RESULT comes to nobody
		res, err := caller.Call(opCtx(t), "com.example.wait", client.Payload{})
		if err != nil || len(res.Args) != 1 || res.Args[0] != "late" {
			t.Fatalf("the next call: %v, %v", res, err)
		}
	})
}

func TestHandlerErrors(t *testing.T) {
	custom := &client.Error{URI: "com.example.error.overheated", Payload: client.ArgsKw([]any{"too hot"}, map[string]any{"celsius": int64(97)})}
	cases := []struct {
		name    string
		handler client.Handler
		uri     string
		args    []any
		kwargs  map[string]any
		text    string // in the error's first argument
	}{
		{"panic", func(context.Context, *client.Invocation) (client.Payload, error) { panic("boom") }, "wamp.error.runtime_error", nil, nil, "boom"},
		{"plain error", func(context.Context, *client.Invocation) (client.Payload, error) {
			return client.Payload{}, errors.New("no sensor")
		},
			"wamp.error.runtime_error", []any{"no sensor"}, nil, "no sensor"},
		{"*client.Error", func(context.Context, *client.Invocation) (client.Payload, error) { return client.Payload{}, custom },
			"com.example.error.overheated", []any{"too hot"}, map[string]any{"celsius": int64(97)}, "too hot"},
	}
	eachWire(t, func(t *testing.T, r *router, w wire) {
		callee, caller := r.dial(t, w), r.dial(t, w)
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				procedure := "com.example." + strings.ReplaceAll(tc.name, " ", "_")
				register(t, callee, procedure, tc.handler)
				_, err := caller.Call(opCtx(t), procedure, client.Payload{})
				e := wampError(t, err, tc.uri)
				args, kwargs, derr := e.Decode()
				if derr != nil || len(args) == 0 {
					t.Fatalf("error payload: %v, %v", args, derr)
				}
				if s, _ := args[0].(string); !strings.Contains(s, tc.text) || !strings.Contains(e.Error(), tc.text) {
					t.Errorf("error %q, first argument %q: want them to say %q", e.Error(), s, tc.text)
				}
				if (tc.args != nil && !reflect.DeepEqual(args, tc.args)) || !reflect.DeepEqual(kwargs, tc.kwargs) {
					t.Errorf("error payload %v %v, want %v %v", args, kwargs, tc.args, tc.kwargs)
				}
			})
		}
		if _, err := caller.Call(opCtx(t), "com.example.panic", client.Payload{}); err == nil {
			t.Error("a panicking handler answered")
		}
		register(t, callee, "com.example.fine", func(context.Context, *client.Invocation) (client.Payload, error) {
			return client.Args("still here"), nil
		})
		if res, err := caller.Call(opCtx(t), "com.example.fine", client.Payload{}); err != nil || res.Args[0] != "still here" {
			t.Errorf("callee after a panic: %v, %v", res, err)
		}
	})
}

func TestClose(t *testing.T) {
	eachWire(t, func(t *testing.T, r *router, w wire) {
		c := r.dial(t, w)
		for i := range 3 {
			if err := c.Close(); err != nil {
				t.Errorf("Close #%d: %v", i+1, err)
			}
		}
		receive(t, c.Done(), "Done")
		if err := c.Err(); err != nil {
			t.Errorf("Err() after Close = %v, want nil", err)
		}
		if _, err := c.Call(opCtx(t), "com.example.any", client.Payload{}); !errors.Is(err, client.ErrClosed) {
			t.Errorf("Call after Close: %v, want ErrClosed", err)
		}
		if _, err := c.Subscribe(opCtx(t), "com.example.any", func(*client.Event) {}); !errors.Is(err, client.ErrClosed) {
			t.Errorf("Subscribe after Close: %v, want ErrClosed", err)
		}
		for _, opts := range []client.PublishOptions{{}, {Acknowledge: true}} {
			if err := c.Publish(opCtx(t), "com.example.any", client.Payload{}, opts); !errors.Is(err, client.ErrClosed) {
				t.Errorf("Publish %+v after Close: %v, want ErrClosed", opts, err)
			}
		}
	})
}

func TestSessionEnds(t *testing.T) {
	cases := []struct {
		name   string
		script func(conn *rawsocket.Conn, wire codec.Codec)
		reason string // the *AbortError's, or "" for a plain error
	}{
		{"abort", func(conn *rawsocket.Conn, wire codec.Codec) {
			conn.ReadMsg() // the CALL
			d, _ := (&codec.CloseDetails{Message: "you broke it"}).MarshalMsg(nil)
			fakeSend(conn, wire, &codec.Abort{Details: d, Reason: []byte("wamp.error.protocol_violation")})
		}, "wamp.error.protocol_violation"},
		{"connection lost", func(conn *rawsocket.Conn, wire codec.Codec) { conn.ReadMsg() }, ""},
	}
	for _, ser := range []codec.Serializer{codec.JSON, codec.MsgPack} {
		for _, tc := range cases {
			t.Run(ser.String()+"/"+tc.name, func(t *testing.T) {
				url := fakeRouter(t, func(conn *rawsocket.Conn, wire codec.Codec) {
					if welcome(conn, wire) == nil {
						tc.script(conn, wire)
					}
				})
				c, err := client.Dial(opCtx(t), url, client.Config{Serializer: ser})
				if err != nil {
					t.Fatal(err)
				}
				defer c.Close()
				_, err = c.Call(opCtx(t), "com.example.pending", client.Payload{})
				if !errors.Is(err, client.ErrClosed) {
					t.Errorf("pending Call: %v, want ErrClosed", err)
				}
				receive(t, c.Done(), "Done")
				var abort *client.AbortError
				isAbort := errors.As(c.Err(), &abort)
				switch {
				case c.Err() == nil:
					t.Error("Err() = nil after the router ended the session")
				case tc.reason != "" && (!isAbort || abort.Reason != tc.reason || abort.Message != "you broke it"):
					t.Errorf("Err() = %v, want ABORT %s", c.Err(), tc.reason)
				case tc.reason == "" && isAbort:
					t.Errorf("Err() = %v, want the transport's error", c.Err())
				}
			})
		}
	}
}

func TestUnknownInvocation(t *testing.T) {
	for _, ser := range []codec.Serializer{codec.JSON, codec.MsgPack} {
		t.Run(ser.String(), func(t *testing.T) {
			answer := make(chan codec.Message, 1)
			url := fakeRouter(t, func(conn *rawsocket.Conn, wire codec.Codec) {
				if welcome(conn, wire) != nil || fakeSend(conn, wire, &codec.Invocation{Request: 7, Registration: 999}) != nil {
					return
				}
				if m, err := fakeRead(conn, wire); err == nil {
					answer <- m
				}
			})
			c, err := client.Dial(opCtx(t), url, client.Config{Serializer: ser})
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			e, ok := receive(t, answer, "the client's answer").(*codec.Error)
			if !ok || e.RequestType != codec.TypeInvocation || e.Request != 7 || string(e.Error) != "wamp.error.no_such_registration" {
				t.Errorf("the client answered an INVOCATION for no registration with %v", e)
			}
		})
	}
}

func TestUnsubscribeUnregister(t *testing.T) {
	eachWire(t, func(t *testing.T, r *router, w wire) {
		c, pub := r.dial(t, w), r.dial(t, w)
		events := make(chan string, 4)
		subs := map[string]*client.Subscription{}
		for _, topic := range []string{"com.example.a", "com.example.b"} {
			sub, err := c.Subscribe(opCtx(t), topic, func(ev *client.Event) { events <- ev.Topic })
			if err != nil {
				t.Fatal(err)
			}
			subs[topic] = sub
		}
		if err := c.Unsubscribe(opCtx(t), subs["com.example.a"]); err != nil {
			t.Fatal(err)
		}
		for _, topic := range []string{"com.example.a", "com.example.b"} {
			if err := pub.Publish(opCtx(t), topic, client.Args(topic), client.PublishOptions{Acknowledge: true}); err != nil {
				t.Fatal(err)
			}
		}
		// Events from one publisher arrive in order: had a's come, it
		// would come first.
		if got := receive(t, events, "event"); got != "com.example.b" {
			t.Errorf("got an event on %s after unsubscribing", got)
		}
		err := c.Unsubscribe(opCtx(t), subs["com.example.a"])
		wampError(t, err, "wamp.error.no_such_subscription")

		reg := register(t, c, "com.example.proc", func(context.Context, *client.Invocation) (client.Payload, error) {
			return client.Payload{}, nil
		})
		if _, err := pub.Call(opCtx(t), "com.example.proc", client.Payload{}); err != nil {
			t.Fatal(err)
		}
		if err := c.Unregister(opCtx(t), reg); err != nil {
			t.Fatal(err)
		}
		_, err = pub.Call(opCtx(t), "com.example.proc", client.Payload{})
		wampError(t, err, "wamp.error.no_such_procedure")
		wampError(t, c.Unregister(opCtx(t), reg), "wamp.error.no_such_registration")
	})
}

// sameArgs and sameKwargs compare decoded payloads; an empty list or
// dict equals none (with keyword arguments only, the wire carries [] in
// place of the arguments).
func sameArgs(a, b []any) bool { return len(a) == 0 && len(b) == 0 || reflect.DeepEqual(a, b) }

func sameKwargs(a, b map[string]any) bool {
	return len(a) == 0 && len(b) == 0 || reflect.DeepEqual(a, b)
}

func TestPayload(t *testing.T) {
	cases := []struct {
		name         string
		payload      client.Payload
		args         []any
		kwargs       map[string]any
		jsonArgs     string
		jsonKwargs   string
		jsonFromWire bool // a JSON subscriber sees the same
	}{
		{"empty", client.Args(), nil, nil, "[]", "{}", true},
		{"args", client.Args(1, "two", []byte{0xff}, nil, true, 2.5),
			[]any{int64(1), "two", []byte{0xff}, nil, true, 2.5}, nil,
			`[1,"two","\u0000/w==",null,true,2.5]`, "{}", true},
		{"kwargs", client.ArgsKw(nil, map[string]any{"k": []any{"v"}}),
			nil, map[string]any{"k": []any{"v"}}, "[]", `{"k":["v"]}`, true},
		{"passthru", client.Payload{Args: []byte{0xa3, 'a', 'b', 'c'}}, []any{"abc"}, nil, `"abc"`, "{}", false},
	}
	r := startRouter(t)
	w := wires[0] // JSON
	sub, pub := r.dial(t, w), r.dial(t, w)
	events := make(chan *client.Event, 1)
	if _, err := sub.Subscribe(opCtx(t), "com.example.payload", func(ev *client.Event) { events <- ev }); err != nil {
		t.Fatal(err)
	}
	check := func(t *testing.T, p client.Payload, wantArgs []any, wantKwargs map[string]any, jsonArgs, jsonKwargs string) {
		t.Helper()
		args, kwargs, err := p.Decode()
		if err != nil || !sameArgs(args, wantArgs) || !reflect.DeepEqual(kwargs, wantKwargs) {
			t.Errorf("Decode() = %#v, %#v, %v; want %#v, %#v", args, kwargs, err, wantArgs, wantKwargs)
		}
		a, k, err := p.JSON()
		if err != nil || a != jsonArgs || k != jsonKwargs {
			t.Errorf("JSON() = %s, %s, %v; want %s, %s", a, k, err, jsonArgs, jsonKwargs)
		}
		// And back: the JSON texts make the same payload again.
		var back client.Payload
		if back.Args, err = codec.FromJSON(nil, []byte(a)); err == nil {
			back.Kwargs, err = codec.FromJSON(nil, []byte(k))
		}
		args, kwargs, derr := back.Decode()
		if err != nil || derr != nil || !sameArgs(args, wantArgs) || !sameKwargs(kwargs, wantKwargs) {
			t.Errorf("from JSON again: %#v, %#v, %v, %v", args, kwargs, err, derr)
		}
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			check(t, tc.payload, tc.args, tc.kwargs, tc.jsonArgs, tc.jsonKwargs)
			if !tc.jsonFromWire {
				return
			}
			if err := pub.Publish(opCtx(t), "com.example.payload", tc.payload, client.PublishOptions{Acknowledge: true}); err != nil {
				t.Fatal(err)
			}
			ev := receive(t, events, "event")
			check(t, ev.Payload, tc.args, tc.kwargs, tc.jsonArgs, tc.jsonKwargs)
			if !sameArgs(ev.Args, tc.args) || !reflect.DeepEqual(ev.Kwargs, tc.kwargs) {
				t.Errorf("Event = %#v %#v", ev.Args, ev.Kwargs)
			}
		})
	}
	t.Run("invalid", func(t *testing.T) {
		if _, _, err := (client.Payload{Args: []byte{0x92, 0x01}}).Decode(); err == nil {
			t.Error("Decode of a truncated list succeeded")
		}
		defer func() {
			if recover() == nil {
				t.Error("Args with a channel did not panic")
			}
		}()
		client.Args(make(chan int))
	})
}

// Events the router sent before its GOODBYE reach their handler, even
// one slower than the router: the session's end does not drop what was
// already read.
func TestEventsBeforeGoodbye(t *testing.T) {
	const n = 100
	url := fakeRouter(t, func(conn *rawsocket.Conn, wire codec.Codec) {
		if welcome(conn, wire) != nil {
			return
		}
		m, err := fakeRead(conn, wire)
		sub, ok := m.(*codec.Subscribe)
		if err != nil || !ok {
			return
		}
		fakeSend(conn, wire, &codec.Subscribed{Request: sub.Request, Subscription: 7})
		if _, err := fakeRead(conn, wire); err != nil { // the PUBLISH sent once Subscribe returned
			return
		}
		for i := range n {
			fakeSend(conn, wire, &codec.Event{Subscription: 7, Publication: uint64(i + 1), Args: client.Args(int64(i)).Args})
		}
		fakeSend(conn, wire, &codec.Goodbye{Reason: []byte("wamp.close.system_shutdown")})
		fakeRead(conn, wire) // the client's GOODBYE
	})
	c, err := client.Dial(opCtx(t), url, client.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	got := make(chan int64, n)
	if _, err := c.Subscribe(opCtx(t), "com.example.last", func(ev *client.Event) {
		time.Sleep(100 * time.Microsecond) // slower than the router
		got <- ev.Args[0].(int64)
	}); err != nil {
		t.Fatal(err)
	}
	if err := c.Publish(opCtx(t), "com.example.ready", client.Payload{}, client.PublishOptions{}); err != nil {
		t.Fatal(err)
	}
	receive(t, c.Done(), "Done")
	for i := range int64(n) {
		if seq := receive(t, got, "an event"); seq != i {
			t.Fatalf("event %d, want %d", seq, i)
		}
	}
}
