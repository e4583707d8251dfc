module github.com/wampedge/wampedge

go 1.25.0

require (
	github.com/coder/websocket v1.8.15
	github.com/grandcat/zeroconf v1.0.0
	github.com/miekg/dns v1.1.72
	github.com/tinylib/msgp v1.6.5
	go.bug.st/serial v1.8.0
	golang.org/x/sys v0.43.0
)

require (
	github.com/cenkalti/backoff v2.2.1+incompatible // indirect
	github.com/philhofer/fwd v1.2.0 // indirect
	golang.org/x/mod v0.31.0 // indirect
	golang.org/x/net v0.48.0 // indirect
	golang.org/x/sync v0.19.0 // indirect
	golang.org/x/tools v0.40.0 // indirect
)

tool github.com/tinylib/msgp
