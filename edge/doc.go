// Package edge is the WAMP router: realms, sessions, a broker and a
// dealer per realm, implementing the Basic Profile (WAMP.md §0–§5).
//
//	r := edge.New(nil) // realm1, anonymous, loose URIs
//	r.Listen("tcp://0.0.0.0:8080", rawsocket.ListenConfig{})
//	r.Listen("unix:///run/wampedge.sock", rawsocket.ListenConfig{})
//	...
//	r.Close(ctx) // GOODBYE wamp.close.system_shutdown to everyone
//
// A session runs over any Transport (a RawSocket connection on TCP, a
// Unix socket or a serial line) and has one goroutine, its reader, which
// decodes each message in place and routes it inline: a PUBLISH is
// looked up in the realm's broker and its EVENT is encoded once (and
// transcoded at most once per other serializer), then staged for every
// subscriber; a CALL becomes an INVOCATION in the callee's queue, a
// YIELD a RESULT in the caller's. Payloads are never decoded. What one
// read brought in is routed as a burst (burst.go): the broker's read
// lock is taken once for its PUBLISHes, and the events staged for each
// subscriber are copied into its outbound queue with one take of the
// queue's lock, at the burst's end or before the reader queues anything
// else. Once a reader has no whole frame left to route, it writes each
// queue it added to into its transport, many messages per write,
// without waiting: a socket with room takes them at once. A peer
// that reads slowly, or a transport that cannot write without waiting,
// gets a writer goroutine until its queue is empty (writer.go). A
// listener's session silent for Config.IdleAfter parks: its reader
// goroutine returns, and a new one starts once the client sends
// (rawsocket.Conn.Park). A queue is bounded in bytes; a session that
// does not keep up is disconnected (or, by policy, loses events), and no
// one else waits for it beyond SlowConsumerWait. In steady state routing
// an event or a call allocates nothing.
//
// Locks: realm broker and dealer locks are taken before a session's
// outbound queue lock and a callee's call table lock; no lock is held
// across a write that can wait. A reader holds the broker's read lock
// for a burst of PUBLISHes only, and lets it go before any other
// message.
//
// Every protocol violation aborts that session alone with
// wamp.error.protocol_violation and a message saying what was wrong.
package edge
