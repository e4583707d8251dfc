// Package nexusrouter runs the nexus router (github.com/gammazero/nexus/v3,
// the version test/go.mod pins) the way the benchmark compares it: realm
// realm1 with anonymous authentication, RawSocket on one loopback TCP
// port, nexus's defaults for everything else (its 64-message outbound
// queue per session among them), and its log discarded.
package nexusrouter
