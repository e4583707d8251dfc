// Package uplink bridges an edge router to a cloud WAMP router: one
// outgoing client session to the cloud (RawSocket over TCP or TLS, or
// WebSocket; anonymous, ticket, WAMP-CRA or cryptosign), one in-process
// session to the local router, and mapping rules between the two:
//
//   - topics out: local events published in the cloud;
//   - topics in: cloud events published locally;
//   - procedures out: local registrations registered in the cloud,
//     following callees as they come and go (through the local router's
//     registration meta API); cloud calls reach the local callee, with
//     progressive results and errors as they are;
//   - procedures in: local calls forwarded to the cloud.
//
// Each rule maps a local URI prefix (or an exact URI, or a wildcard
// pattern) to a cloud one. Payloads are forwarded as they arrived, never
// decoded. The publisher or caller is forwarded where it was disclosed
// (disclose_me, forward_for).
//
// No loops: the bridge's own publications and registrations on one side
// are never forwarded back — the routers exclude a publisher from its
// own events, and the bridge ignores its own registrations — so two edges
// with overlapping rules on one cloud do not echo each other.
//
// Offline: the bridge reconnects with exponential backoff and jitter, and
// re-establishes every mapping on each reconnect. Outgoing events wait in
// a bounded queue (count and bytes; the oldest are dropped and counted)
// and go out in order once the cloud is back; events written just before
// a connection died are sent again unless the cloud acknowledged them (at
// least once). Forwarded calls fail at once with
// wampedge.error.uplink_unavailable while the cloud is unreachable.
//
// State: the local topic wampedge.uplink.on_state gets every state
// change, and the local procedure wampedge.uplink.status answers with
// the state and the counters.
package uplink
