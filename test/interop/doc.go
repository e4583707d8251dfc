// Package interop proves that WAMP clients nobody here wrote talk to
// wampedge: Autobahn|JS, Autobahn|Python, Autobahn|C++, the nexus client
// and the xconn-go client, over RawSocket on TCP and on a Unix socket,
// with JSON and MessagePack where each supports them; and that wampedge's
// own client talks to a nexus router.
//
// Every peer is driven through one set of operations (Peer): the
// external ones as processes speaking the line protocol of
// peers/PROTOCOL.md, the Go ones in process. Each peer's traffic passes
// through a logging proxy, so that a failing scenario shows the WAMP
// messages that were exchanged. TestMain prints the matrix of peer ×
// transport × serializer × scenario.
//
// The Basic Profile scenarios are in scenarios.go; the Advanced Profile
// ones (pattern-based subscriptions and registrations, shared
// registrations, progressive results, canceling, call timeouts, publisher
// and caller identification, black- and whitelisting, event retention,
// the meta API, testaments) in scenarios_advanced.go. A library that
// lacks a feature says so ("unsupported: ...", or a lack its peerKind
// declares), and its cell is n/a with the reason printed under the
// matrix: never a pass.
package interop
