// Package client is a WAMP client session over RawSocket (tcp://,
// tls://, unix://), WebSocket (ws://, wss://) or any Transport such as a
// serial line: join a realm, publish, subscribe, call, register, leave.
// It is what wampcat, the tests and the uplink use, and what Go programs
// on a board can use.
//
//	c, err := client.Dial(ctx, "unix:///run/wampedge.sock", client.Config{Realm: "realm1"})
//	defer c.Close()
//	c.Register(ctx, "com.example.add", func(ctx context.Context, inv *client.Invocation) (client.Payload, error) {
//		return client.Args(inv.Args[0].(int64) + inv.Args[1].(int64)), nil
//	})
//	res, err := c.Call(ctx, "com.example.add", client.Args(2, 3)) // res.Args == []any{int64(5)}
//
// Handlers get Go values (Args, Kwargs) and, when they want them, the
// encoded Payload as it arrived; with Config.RawPayloads only the
// Payload, for a bridge that forwards it without decoding.
//
// Authentication: Config offers each method whose credentials it holds,
// cryptosign (PrivateKey, see LoadPrivateKey) before wampcra (Secret,
// salted or not) before ticket (Ticket), and answers the router's
// CHALLENGE; with none the session is anonymous. A refusal comes back as
// an *AbortError; AuthID, AuthRole and AuthMethod say what the router
// granted, and RouterFeature what it announced.
//
// WebSocket speaks wamp.2.msgpack in binary messages or wamp.2.json in
// text messages, as Config.Serializer says; wss:// uses Config.TLS.
//
// The advanced options are opt-in and the plain calls send none:
// PublishOptions (DiscloseMe, ForwardFor), SubscribeWith and RegisterWith
// (prefix and wildcard patterns, shared registrations; Event.Topic and
// Invocation.Procedure are then the concrete URI), CallWith (DiscloseMe,
// ForwardFor, a router-side Timeout, progressive results through
// Progress; a handler sends them with Invocation.Progress). A call whose
// ctx ends is cancelled at the router (CANCEL killnowait) when the router
// announced call_canceling; an interrupted handler's ctx ends with cause
// ErrInterrupted and the caller gets wamp.error.canceled.
package client
