package edge_test

import (
	"context"
	"testing"

	"github.com/wampedge/wampedge/codec"
	"github.com/wampedge/wampedge/edge/client"
)

// violation is a message that breaks the protocol. The router must end
// that session alone with ABORT wamp.error.protocol_violation, with a
// Details.message naming the problem.
type violation struct {
	name   string
	joined bool             // sent after WELCOME, else as the first message
	only   codec.Serializer // the one serializer it applies to; 0: both
	json   string           // the message as JSON text (MessagePack peers get it converted)
	frame  []byte           // or the frame exactly as sent, if not nil
	words  []string         // what the ABORT message must mention
}

// msgpackFrame is the MessagePack encoding of m, its last cut bytes
// removed, then extra appended.
func msgpackFrame(m codec.Message, cut int, extra ...byte) []byte {
	b := m.Append(nil)
	return append(b[:len(b)-cut], extra...)
}

var (
	someSubscribe = &codec.Subscribe{Request: 1, Topic: []byte("com.example.topic")}
	someHello     = &codec.Hello{Realm: []byte("realm1"), Details: []byte{0x81, 0xa5, 'r', 'o', 'l', 'e', 's', 0x81, 0xa6, 'c', 'a', 'l', 'l', 'e', 'r', 0x80}}
)

var violations = []violation{
	// Before HELLO.
	{name: "subscribe first", json: `[32, 1, {}, "com.example.topic"]`, words: []string{"HELLO", "SUBSCRIBE"}},
	{name: "publish first", json: `[16, 1, {}, "com.example.topic"]`, words: []string{"HELLO", "PUBLISH"}},
	{name: "goodbye first", json: `[6, {}, "wamp.close.close_realm"]`, words: []string{"HELLO", "GOODBYE"}},
	{name: "error first", json: `[8, 68, 1, {}, "com.example.error"]`, words: []string{"HELLO", "ERROR"}},
	{name: "welcome first", json: `[2, 1, {}]`, words: []string{"HELLO", "WELCOME"}},
	{name: "hello short", json: `[1, "realm1"]`, words: []string{"HELLO", "2 elements"}},
	{name: "hello long", json: `[1, "realm1", {}, {}]`, words: []string{"HELLO", "4 elements"}},
	{name: "hello details a list", json: `[1, "realm1", []]`, words: []string{"HELLO", "Details"}},
	{name: "hello realm an int", json: `[1, 1, ` + helloRoles + `]`, words: []string{"HELLO", "Realm"}},
	{name: "hello roles a list", json: `[1, "realm1", {"roles": ["caller"]}]`, words: []string{"roles"}},
	{name: "hello authmethods a string", json: `[1, "realm1", {"roles": {"caller": {}}, "authmethods": "anonymous"}]`, words: []string{"authmethods"}},

	// After WELCOME: messages a client never sends.
	{name: "second hello", joined: true, json: `[1, "realm1", ` + helloRoles + `]`, words: []string{"HELLO"}},
	{name: "welcome", joined: true, json: `[2, 1, {"roles": {"broker": {}}}]`, words: []string{"WELCOME"}},
	{name: "challenge", joined: true, json: `[4, "ticket", {}]`, words: []string{"CHALLENGE"}},
	{name: "authenticate", joined: true, json: `[5, "secret", {}]`, words: []string{"AUTHENTICATE"}},
	{name: "published", joined: true, json: `[17, 1, 2]`, words: []string{"PUBLISHED"}},
	{name: "subscribed", joined: true, json: `[33, 1, 2]`, words: []string{"SUBSCRIBED"}},
	{name: "unsubscribed", joined: true, json: `[35, 1]`, words: []string{"UNSUBSCRIBED"}},
	{name: "event", joined: true, json: `[36, 1, 2, {}, ["x"]]`, words: []string{"EVENT"}},
	{name: "result", joined: true, json: `[50, 1, {}]`, words: []string{"RESULT"}},
	{name: "registered", joined: true, json: `[65, 1, 2]`, words: []string{"REGISTERED"}},
	{name: "unregistered", joined: true, json: `[67, 1]`, words: []string{"UNREGISTERED"}},
	{name: "invocation", joined: true, json: `[68, 1, 2, {}]`, words: []string{"INVOCATION"}},
	{name: "interrupt", joined: true, json: `[69, 1, {}]`, words: []string{"INTERRUPT"}},
	{name: "cancel mode", joined: true, json: `[49, 1, {"mode": "nuke"}]`, words: []string{"CANCEL", "mode", "nuke"}},

	// Type codes.
	{name: "unknown type 99", joined: true, json: `[99, 1, {}]`, words: []string{"type 99"}},
	{name: "heartbeat type 7", joined: true, json: `[7, 1, 2]`, words: []string{"type 7"}},
	{name: "type 0", joined: true, json: `[0, 1]`, words: []string{"type 0"}},
	{name: "extension type 256", joined: true, json: `[256, 1, {}]`, words: []string{"type 256"}},
	{name: "type a string", joined: true, json: `["16", 1, {}, "com.example.topic"]`, words: []string{"type", "str"}},
	{name: "empty list", joined: true, json: `[]`, words: []string{"type"}},
	{name: "dict", joined: true, json: `{"16": 1}`, words: []string{"list", "dict"}},
	{name: "scalar", joined: true, json: `16`, words: []string{"list", "int"}},

	// Element counts.
	{name: "subscribe 3 elements", joined: true, json: `[32, 1, {}]`, words: []string{"SUBSCRIBE", "3 elements"}},
	{name: "publish 7 elements", joined: true, json: `[16, 1, {}, "com.example.topic", [], {}, 1]`, words: []string{"PUBLISH", "7 elements"}},
	{name: "call 3 elements", joined: true, json: `[48, 1, {}]`, words: []string{"CALL", "3 elements"}},
	{name: "yield 6 elements", joined: true, json: `[70, 1, {}, [], {}, 1]`, words: []string{"YIELD", "6 elements"}},
	{name: "goodbye 4 elements", joined: true, json: `[6, {}, "wamp.close.close_realm", []]`, words: []string{"GOODBYE", "4 elements"}},
	{name: "error 4 elements", joined: true, json: `[8, 68, 1, {}]`, words: []string{"ERROR", "4 elements"}},
	{name: "unsubscribe 2 elements", joined: true, json: `[34, 1]`, words: []string{"UNSUBSCRIBE", "2 elements"}},

	// Element types and values.
	{name: "options a string", joined: true, json: `[32, 1, "exact", "com.example.topic"]`, words: []string{"SUBSCRIBE", "Options"}},
	{name: "request id 0", joined: true, json: `[32, 0, {}, "com.example.topic"]`, words: []string{"SUBSCRIBE", "Request"}},
	{name: "request id over 2^53", joined: true, json: `[32, 9007199254740993, {}, "com.example.topic"]`, words: []string{"SUBSCRIBE", "Request"}},
	{name: "request id negative", joined: true, json: `[16, -1, {}, "com.example.topic"]`, words: []string{"PUBLISH", "Request"}},
	{name: "request id fractional", joined: true, json: `[16, 1.5, {}, "com.example.topic"]`, words: []string{"PUBLISH", "Request"}},
	{name: "request id a string", joined: true, json: `[48, "1", {}, "com.example.proc"]`, words: []string{"CALL", "Request"}},
	{name: "topic an int", joined: true, json: `[32, 1, {}, 5]`, words: []string{"SUBSCRIBE", "Topic"}},
	{name: "procedure null", joined: true, json: `[64, 1, {}, null]`, words: []string{"REGISTER", "Procedure"}},
	{name: "subscription id 0", joined: true, json: `[34, 1, 0]`, words: []string{"UNSUBSCRIBE", "Subscription"}},
	{name: "arguments a string", joined: true, json: `[16, 1, {}, "com.example.topic", "x"]`, words: []string{"PUBLISH", "Arguments"}},
	{name: "kwargs a list", joined: true, json: `[48, 1, {}, "com.example.proc", [], []]`, words: []string{"CALL", "ArgumentsKw"}},
	{name: "goodbye reason an int", joined: true, json: `[6, {}, 5]`, words: []string{"GOODBYE", "Reason"}},
	{name: "abort details a list", joined: true, json: `[3, [], "wamp.close.close_realm"]`, words: []string{"ABORT", "Details"}},

	// Options.
	{name: "acknowledge a string", joined: true, json: `[16, 1, {"acknowledge": "yes"}, "com.example.topic"]`, words: []string{"acknowledge", "bool"}},
	{name: "exclude_me an int", joined: true, json: `[16, 1, {"exclude_me": 0}, "com.example.topic"]`, words: []string{"exclude_me"}},
	{name: "match an int", joined: true, json: `[32, 1, {"match": 1}, "com.example.topic"]`, words: []string{"match"}},
	{name: "unknown match policy", joined: true, json: `[64, 1, {"match": "fuzzy"}, "com.example.proc"]`, words: []string{"match", "fuzzy"}},
	{name: "receive_progress not a bool", joined: true, json: `[48, 1, {"receive_progress": "yes"}, "com.example.proc"]`, words: []string{"receive_progress"}},

	// Answers to invocations that do not exist.
	{name: "yield never invoked", joined: true, json: `[70, 5, {}]`, words: []string{"YIELD", "5"}},
	{name: "error never invoked", joined: true, json: `[8, 68, 5, {}, "com.example.error"]`, words: []string{"ERROR", "5"}},
	{name: "error for call", joined: true, json: `[8, 48, 1, {}, "com.example.error"]`, words: []string{"ERROR", "CALL"}},
	{name: "error for subscribe", joined: true, json: `[8, 32, 1, {}, "com.example.error"]`, words: []string{"ERROR", "SUBSCRIBE"}},
	{name: "error for unknown type", joined: true, json: `[8, 99, 1, {}, "com.example.error"]`, words: []string{"ERROR"}},

	// Frames that do not decode.
	{name: "empty frame", frame: []byte{}, words: []string{"syntax error"}},
	{name: "empty frame joined", joined: true, frame: []byte{}, words: []string{"syntax error"}},
	{name: "json unterminated", joined: true, only: codec.JSON, json: `[32, 1, {}, "com.example.topic"`, words: []string{"json"}},
	{name: "json not json", joined: true, only: codec.JSON, json: `subscribe me`, words: []string{"json"}},
	{name: "json trailing data", joined: true, only: codec.JSON, json: `[32, 1, {}, "com.example.topic"] []`, words: []string{"json"}},
	{name: "json single quotes", only: codec.JSON, json: `[1, 'realm1', {}]`, words: []string{"json"}},
	{name: "json invalid utf-8", joined: true, only: codec.JSON, frame: []byte("[32, 1, {}, \"com.\xff\"]"), words: []string{"UTF-8"}},
	{name: "json bad base64", joined: true, only: codec.JSON, json: `[16, 1, {}, "com.example.topic", ["\u0000!!"]]`, words: []string{"base64"}},
	{name: "msgpack truncated", joined: true, only: codec.MsgPack, frame: msgpackFrame(someSubscribe, 3), words: []string{"truncated"}},
	{name: "msgpack truncated first", only: codec.MsgPack, frame: msgpackFrame(someHello, 4), words: []string{"truncated"}},
	{name: "msgpack byte 0xc1", joined: true, only: codec.MsgPack, frame: msgpackFrame(someSubscribe, 18, 0xc1), words: []string{"0xc1"}},
	{name: "msgpack trailing bytes", joined: true, only: codec.MsgPack, frame: msgpackFrame(someSubscribe, 0, 0xc0), words: []string{"after the end"}},
}

// witness is a pair of well-behaved sessions on the router under test:
// a protocol violation must not disturb them.
type witness struct {
	caller *client.Client
	events <-chan *client.Event
	n      int
}

func newWitness(t *testing.T, tb *testbed) *witness {
	t.Helper()
	callee := tb.client(t, wires[0])
	if _, err := callee.Register(opCtx(t), "com.witness.echo", func(_ context.Context, inv *client.Invocation) (client.Payload, error) {
		return inv.Payload, nil
	}); err != nil {
		t.Fatal(err)
	}
	events, _ := eventsOf(t, callee, "com.witness.topic", 1)
	return &witness{caller: tb.client(t, wires[len(wires)-1]), events: events}
}

// check makes a call and a publication between the witnesses.
func (w *witness) check(t *testing.T) {
	t.Helper()
	w.n++
	res, err := w.caller.Call(opCtx(t), "com.witness.echo", client.Args(w.n))
	if err != nil || seqOf(t, res.Args) != int64(w.n) {
		t.Fatalf("witness call: %v, %v", res, err)
	}
	if err := w.caller.Publish(opCtx(t), "com.witness.topic", client.Args(w.n), client.PublishOptions{Acknowledge: true}); err != nil {
		t.Fatalf("witness publish: %v", err)
	}
	if got := seqOf(t, receive(t, w.events, "witness event").Args); got != int64(w.n) {
		t.Fatalf("witness event %d, want %d", got, w.n)
	}
}

func TestProtocolViolations(t *testing.T) {
	eachWire(t, func(t *testing.T, w wire) {
		tb := newTestbed(t, nil)
		wit := newWitness(t, tb)
		for _, v := range violations {
			if v.only != 0 && v.only != w.ser {
				continue
			}
			t.Run(v.name, func(t *testing.T) {
				before := tb.Stats().ProtocolViolations
				p := tb.raw(t, w)
				if v.joined {
					p.join("realm1")
				}
				if v.frame != nil {
					p.sendFrame(v.frame)
				} else {
					p.sendJSON(v.json)
				}
				mustContain(t, "ABORT message", p.expectAbort("wamp.error.protocol_violation"), v.words...)
				p.expectClosed()
				if got := tb.Stats().ProtocolViolations; got != before+1 {
					t.Errorf("ProtocolViolations went from %d to %d, want one more", before, got)
				}
				wit.check(t)
			})
		}
	})
}

// TestBadFrames: a frame the transport cannot trust ends the connection
// with no ABORT (WAMP.md §6.2), and is no protocol violation.
func TestBadFrames(t *testing.T) {
	cases := []struct {
		name   string
		header func(p *rawPeer) []byte
	}{
		{"over the maximum", func(p *rawPeer) []byte { return frameHeader(0, p.conn.MaxSend()+1) }},
		{"reserved bits", func(*rawPeer) []byte { return frameHeader(0x10, 0) }},
		{"reserved frame type", func(*rawPeer) []byte { return frameHeader(0x03, 0) }},
	}
	eachWire(t, func(t *testing.T, w wire) {
		tb := newTestbed(t, nil)
		wit := newWitness(t, tb)
		for _, tc := range cases {
			for _, joined := range []bool{false, true} {
				name := tc.name
				if joined {
					name += " joined"
				}
				t.Run(name, func(t *testing.T) {
					p := tb.raw(t, w)
					if joined {
						p.join("realm1")
					}
					p.sendBytes(tc.header(p))
					p.expectClosed()
					if v := tb.Stats().ProtocolViolations; v != 0 {
						t.Errorf("ProtocolViolations = %d, want 0", v)
					}
					wit.check(t)
				})
			}
		}
	})
}
