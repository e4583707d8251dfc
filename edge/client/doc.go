// Package client is a WAMP client session over RawSocket (tcp://,
// tls://, unix://, or any Transport such as a serial line): join a realm,
// publish, subscribe, call, register, leave. It is what wampcat, the
// tests and the uplink use, and what Go programs on a board can use.
//
//	c, err := client.Dial(ctx, "unix:///run/wampedge.sock", client.Config{Realm: "realm1"})
//	defer c.Close()
//	c.Register(ctx, "com.example.add", func(ctx context.Context, inv *client.Invocation) (client.Payload, error) {
//		return client.Args(inv.Args[0].(int64) + inv.Args[1].(int64)), nil
//	})
//	res, err := c.Call(ctx, "com.example.add", client.Args(2, 3)) // res.Args == []any{int64(5)}
//
// Handlers get Go values (Args, Kwargs) and, when they want them, the
// encoded Payload as it arrived.
package client
