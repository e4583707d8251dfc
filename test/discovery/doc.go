// Package discovery tests LAN discovery end to end: wampedge advertising
// itself by mDNS in one network namespace, found from others joined to it
// by veth pairs — by `wampcat discover`, by `wampcat -url mdns://`, and by
// an independent browser (python3-zeroconf, browse.py). The namespaces
// carry private test addresses and exist only for the test's run; it
// needs root, and fails saying so where it cannot make them.
package discovery
