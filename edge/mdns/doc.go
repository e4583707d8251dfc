// Package mdns advertises a router's RawSocket listeners on the LAN by
// multicast DNS (DNS-SD over mDNS, RFC 6762/6763) and finds routers that
// advertise themselves. It uses github.com/grandcat/zeroconf.
//
// There is no published DNS-SD convention for WAMP; this is ours:
//
//   - service type _wamp._tcp for RawSocket over TCP, _wamps._tcp for
//     RawSocket over TLS; the instance name is chosen by the operator
//     ("wampedge on HOSTNAME" by default);
//   - TXT keys: v (WAMP protocol version, 2), realm (the realms served, a
//     comma list; "*" when any realm is created on demand), ser
//     (serializers, e.g. msgpack,json), maxlen (the largest message the
//     router accepts, as log2: 20 is 1 MiB), auth (offered authentication
//     methods, e.g. anonymous), tls (0 or 1), ver (wampedge version) and
//     id (a stable router id, so that a browser can tell two routers
//     apart even when they share a name).
//
// A listener is advertised only on the interfaces it listens on: one on
// a wildcard address on every multicast interface (each interface's own
// addresses in its A and AAAA records), one on a specific address on the
// interface that holds it, one on loopback nowhere. Interfaces are
// rescanned, so a board whose Wi-Fi comes up after the router does is
// found once it does. Close withdraws every record with goodbye packets
// (TTL 0), so browsers forget the router at once.
package mdns
