// Package loadgen is the benchmark's load generator: sessions that speak
// WAMP (RawSocket + MessagePack) or MQTT 3.1.1 (QoS 0) to a router on
// loopback, publish pre-encoded frames, count the frames that arrive, and
// make calls.
//
// After its set-up a session is raw bytes: a publisher writes a whole
// batch of frames in one write, and a subscriber reads up to 256 KiB at
// a time and counts the frames in it by their length prefixes alone, so
// that the load generator costs a few syscalls per burst and the router
// is what is measured. Nothing here decodes more of a message than its
// type and request ID.
//
// The same WAMP sessions work against the benchmark's frame relay, which
// forwards the PUBLISH, CALL and YIELD frames themselves instead of
// EVENT, INVOCATION and RESULT: a subscriber counts frames whatever they
// are, and a callee and a caller read only a frame's request ID, which
// sits at the same place in all of them.
package loadgen
