//go:build !linux

package mdns

// restrictMulticast has nothing to do where a socket hears only the
// interfaces it joined a group on.
func restrictMulticast() {}
