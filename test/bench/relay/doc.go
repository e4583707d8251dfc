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
// A reader copies everything it read that goes to the same sessions in
// one write per session, and reads up to 256 KiB at a time: the fewest
// syscalls a router can make, which is what bounds routing on loopback.
// Writes block, so a slow subscriber slows the publisher and nothing is
// lost. No router can do less work per message, so the relay's rates are
// the ceiling the benchmark compares routers to.
package relay
