// Package test is a module of its own for the tests that need more than
// the router's module may carry: interoperability with real WAMP peers,
// fault tests, and the benchmark harness that puts wampedge beside other
// routers. Its dependencies never enter the router's go.mod.
package test
