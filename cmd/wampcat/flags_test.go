package main

import (
	"bytes"
	"net"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/wampedge/wampedge/codec"
	"github.com/wampedge/wampedge/internal/testutil"
	"github.com/wampedge/wampedge/rawsocket"
)

// publishUntilEvent runs `publish` until the subscriber prints a line
// (events published before its subscription is up are lost), and
// returns that event.
func publishUntilEvent(t *testing.T, sub *background, publish ...string) event {
	t.Helper()
	return publishUntilEventWithin(t, readyTimeout, sub, publish...)
}

func publishUntilEventWithin(t *testing.T, d time.Duration, sub *background, publish ...string) event {
	t.Helper()
	for deadline := time.Now().Add(d); ; {
		wampcat(t, publish...).check(t, 0, "")
		if line, ok := sub.line(50 * time.Millisecond); ok {
			return parseEvent(t, line)
		}
		select {
		case <-sub.exited:
			t.Fatalf("the subscriber exited: %s", sub.stderr.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("no event after %v", d)
		}
	}
}

// TestKwargs: -kw gives publish and call keyword arguments, which
// subscribe prints and register echoes.
func TestKwargs(t *testing.T) {
	forEachClient(t, func(t *testing.T, flags []string) {
		topic, proc := uniqueURI("kw"), uniqueURI("kw")
		sub := start(t, cat([]string{"subscribe", topic}, otherClient(flags))...)
		e := publishUntilEvent(t, sub, cat(flags, []string{"publish", topic, "1", "-kw", `{"room":"kitchen","t":[21.5]}`})...)
		if want := map[string]any{"room": "kitchen", "t": []any{21.5}}; !reflect.DeepEqual(e.Kwargs, want) || !reflect.DeepEqual(e.Args, []any{1.0}) {
			t.Errorf("event %+v, want args [1] and kwargs %v", e, want)
		}
		callee := start(t, cat([]string{"register", proc}, otherClient(flags))...)
		callRegistered(t, callee, cat(flags, []string{"call", proc, "-kw", `{"a":{"b":null}}`})...).
			check(t, 0, `{"args":[],"kwargs":{"a":{"b":null}}}`+"\n")
		callRegistered(t, callee, cat(flags, []string{"call", proc, "x", "-kw", `{}`})...).
			check(t, 0, `{"args":["x"],"kwargs":{}}`+"\n")
	})
}

// TestRetained: publish -retain keeps the event at the router, and
// subscribe -retained prints it first; without -retained it is not sent.
func TestRetained(t *testing.T) {
	forEachClient(t, func(t *testing.T, flags []string) {
		topic := uniqueURI("retained")
		wampcat(t, cat(flags, []string{"publish", topic, "kept", "-retain", "-ack", "-kw", `{"n":1}`})...).check(t, 0, "")
		r := wampcat(t, cat(otherClient(flags), []string{"subscribe", topic, "-retained", "-count", "1"})...)
		r.check(t, 0, r.stdout)
		if e := parseEvent(t, strings.TrimSpace(r.stdout)); !reflect.DeepEqual(e.Args, []any{"kept"}) || e.Topic != topic || e.Kwargs["n"] != 1.0 {
			t.Errorf("retained event %+v, want args [kept] kwargs {n:1} on %s", e, topic)
		}

		// Without -retained, the first event is a new one.
		sub := start(t, cat(otherClient(flags), []string{"subscribe", topic, "-count", "1"})...)
		if e := publishUntilEvent(t, sub, cat(flags, []string{"publish", topic, "new"})...); !reflect.DeepEqual(e.Args, []any{"new"}) {
			t.Errorf("without -retained the first event is %+v, want the new one", e)
		}
	})
}

// TestMatch: subscribe and register with -match prefix and wildcard get
// what the pattern covers, and name the concrete topic or procedure.
func TestMatch(t *testing.T) {
	forEachClient(t, func(t *testing.T, flags []string) {
		for _, tc := range []struct{ match, pattern, concrete string }{ // after a URI of the test's own
			{"prefix", ".", ".a.b"},
			{"wildcard", "..temp", ".kitchen.temp"},
		} {
			t.Run(tc.match, func(t *testing.T) {
				base := uniqueURI(tc.match)
				pattern, concrete := base+tc.pattern, base+tc.concrete
				sub := start(t, cat([]string{"subscribe", pattern, "-match", tc.match}, otherClient(flags))...)
				if e := publishUntilEvent(t, sub, cat(flags, []string{"publish", concrete, "1"})...); e.Topic != concrete {
					t.Errorf("event on %q, want %q", e.Topic, concrete)
				}
				callee := start(t, cat([]string{"register", pattern, "-match", tc.match, "-exec", `printf '"%s"' "$WAMP_PROCEDURE"`}, otherClient(flags))...)
				callRegistered(t, callee, cat(flags, []string{"call", concrete})...).check(t, 0, `{"args":["`+concrete+`"],"kwargs":{}}`+"\n")
			})
		}
	})
}

// TestExcludeMeOnTheWire: -exclude-me=false is exclude_me false in
// PUBLISH.Options, and -retain retain true; the default leaves both out.
// Its effect cannot be seen from another session, so a fake router reads
// what wampcat sends.
func TestExcludeMeOnTheWire(t *testing.T) {
	for _, tc := range []struct {
		name  string
		flags []string
		want  codec.PublishOptions
	}{
		{"default", nil, codec.PublishOptions{}},
		{"include me", []string{"-exclude-me=false"}, codec.PublishOptions{ExcludeMe: codec.False}},
		{"include me and retain", []string{"-exclude-me=false", "-retain"}, codec.PublishOptions{ExcludeMe: codec.False, Retain: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			url, got := fakeRouter(t)
			wampcat(t, cat([]string{"-url", url, "publish", "com.example.t", "1"}, tc.flags)...).check(t, 0, "")
			if p, ok := received[*codec.Publish](t, got); ok {
				var o codec.PublishOptions
				if err := o.Decode(p.Options); err != nil || !reflect.DeepEqual(o, tc.want) {
					t.Errorf("PUBLISH options %+v (%v), want %+v", o, err, tc.want)
				}
			}
		})
	}
}

// TestAuthRoleOnTheWire: -authid and -authrole are HELLO's authid and
// authrole (the router takes a user's role from its config, whatever the
// client asks for), next to the methods the credentials offer.
func TestAuthRoleOnTheWire(t *testing.T) {
	url, got := fakeRouter(t)
	wampcat(t, "-url", url, "-authid", "op", "-authrole", "operator", "-ticket", "t", "publish", "com.example.t").check(t, 0, "")
	if h, ok := received[*codec.Hello](t, got); ok {
		var d codec.HelloDetails
		if err := d.Decode(h.Details); err != nil || d.AuthID != "op" || d.AuthRole != "operator" || !reflect.DeepEqual(d.AuthMethods, []string{"ticket"}) {
			t.Errorf("HELLO details %+v (%v), want authid op, authrole operator, authmethods [ticket]", d, err)
		}
	}
}

// received is the first message of type M that the fake router got.
func received[M codec.Message](t *testing.T, got <-chan codec.Message) (M, bool) {
	t.Helper()
	for {
		select {
		case m := <-got:
			if m, ok := m.(M); ok {
				return m, true
			}
		default:
			var none M
			t.Errorf("the fake router got no %T", none)
			return none, false
		}
	}
}

// fakeRouter takes one session on a Unix socket: it welcomes it, hands
// each message to the test, and answers GOODBYE. By the time wampcat
// exits, what it sent is in the channel.
func fakeRouter(t *testing.T) (string, <-chan codec.Message) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "fake.sock")
	ln, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan codec.Message, 16)
	done := make(chan struct{})
	t.Cleanup(func() { ln.Close(); <-done })
	go func() {
		defer close(done)
		nc, err := ln.Accept()
		if err != nil {
			return
		}
		defer nc.Close()
		nc.SetDeadline(time.Now().Add(runTimeout))
		conn, err := rawsocket.Accept(nc, rawsocket.Config{PingInterval: -1})
		if err != nil {
			return
		}
		details, _ := (&codec.WelcomeDetails{Roles: map[string]codec.Role{"broker": {}}}).MarshalMsg(nil)
		for {
			frame, err := conn.ReadMsg()
			if err != nil {
				return
			}
			msg, err := codec.Decode(bytes.Clone(frame))
			if err != nil {
				t.Errorf("fake router: %v", err)
				return
			}
			got <- msg
			switch msg.(type) {
			case *codec.Hello:
				conn.WriteMsg((&codec.Welcome{Session: 1, Details: details}).Append(nil))
			case *codec.Goodbye:
				conn.WriteMsg((&codec.Goodbye{Reason: []byte("wamp.close.goodbye_and_out")}).Append(nil))
				return
			}
		}
	}()
	return "unix://" + path, got
}

// TestPrintRouters: discover with nothing found prints an empty list for
// -json, nothing for the table, and fails either way.
func TestPrintRouters(t *testing.T) {
	for _, asJSON := range []bool{false, true} {
		var out bytes.Buffer
		err := printRouters(nil, asJSON, time.Second, &out)
		want := map[bool]string{false: "", true: "[]\n"}[asJSON]
		if err == nil || err.Error() != "no router answered within 1s" || out.String() != want {
			t.Errorf("json %v: printed %q, error %v; want %q and an error", asJSON, out.String(), err, want)
		}
	}
	var out bytes.Buffer
	if err := printRouters([]discoveredRouter{{Instance: "a"}, {Instance: "b"}}, true, time.Second, &out); err != nil || !strings.HasPrefix(out.String(), "[\n{\"instance\":\"a\"") || !strings.HasSuffix(out.String(), "}\n]\n") {
		t.Errorf("printed %q, error %v", out.String(), err)
	}
}

// TestVersion: -version prints what the Makefile's -ldflags set.
func TestVersion(t *testing.T) {
	wampcat(t, "-version").check(t, 0, "wampcat dev\n")
	dir := t.TempDir()
	if err := testutil.GoBuild(dir, "-X main.version=v1.2.3 -X main.commit=abc1234 -X main.board=rpi4", "."); err != nil {
		t.Fatal(err)
	}
	runProgram(t, filepath.Join(dir, "wampcat"), "-version").check(t, 0, "wampcat v1.2.3 (commit abc1234, board rpi4)\n")
}
