// Package cloud runs a real nexus router (github.com/gammazero/nexus/v3,
// the version test/go.mod pins) in the test process as the "cloud router"
// an edge router's uplink connects to, and tests wampedge's client
// against it: every authentication method (ticket, wampcra plain and
// salted, cryptosign), RawSocket and WebSocket with both serializers, and
// the advanced features the uplink uses (pattern subscriptions and
// registrations, progressive call results, caller and publisher
// disclosure, call canceling, errors passed through intact).
//
// StartNexus is for other test packages too: it serves RawSocket and
// WebSocket on loopback ports that stay the same across Stop, Kill and
// Restart, so a test can take the cloud away and bring it back.
package cloud
