// Package relay is the benchmark's ceiling: a server that speaks just
// enough RawSocket to take the load generator's sessions, and copies
// frames between them without decoding them.
//
// A frame's first two message bytes say its WAMP type. HELLO, SUBSCRIBE
// and REGISTER get a canned WELCOME, SUBSCRIBED or REGISTERED, and mark
// the session as a subscriber or as the responder. From then on:
//
//   - a PUBLISH frame is copied, as it is, to every subscriber (1 hop);
//   - a CALL frame is copied to the responder, and what the responder
//     sends is copied back to the session that called last (2 hops).
//
// A reader copies each frame into the write buffer of every session it
// goes to, and once it has no whole frame left, writes each of those
// buffers in one write; it reads up to 64 KiB at a time, as wampedge does
// in a stream. Those are the copies and the syscalls any router makes
// (it must at least copy a message to each subscriber), which is what
// bounds routing on loopback.
// Writes block, so a slow subscriber slows the publisher and nothing is
// lost. No router can do less work per message, so the relay's rates are
// the ceiling the benchmark compares routers to.
package relay
