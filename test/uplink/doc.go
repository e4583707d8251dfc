// Package uplink tests the edge router's bridge to a cloud router end to
// end: a real nexus router as the cloud (RawSocket and WebSocket, ticket,
// WAMP-CRA and cryptosign), or a second wampedge; an edge router with the
// uplink in-process; device and cloud clients on loopback.
package uplink
