module github.com/wampedge/wampedge/test

go 1.25.0

replace github.com/wampedge/wampedge => ../

require (
	github.com/gammazero/nexus/v3 v3.3.0
	github.com/tinylib/msgp v1.6.5
	github.com/wampedge/wampedge v0.0.0-00010101000000-000000000000
	github.com/xconnio/xconn-go v0.1.0
)

require (
	github.com/coder/websocket v1.8.15 // indirect
	github.com/fxamacker/cbor/v2 v2.9.0 // indirect
	github.com/gammazero/deque v1.2.1 // indirect
	github.com/go-ole/go-ole v1.2.6 // indirect
	github.com/gobwas/httphead v0.1.0 // indirect
	github.com/gobwas/pool v0.2.1 // indirect
	github.com/gobwas/ws v1.4.0 // indirect
	github.com/gorilla/websocket v1.5.3 // indirect
	github.com/hashicorp/go-immutable-radix/v2 v2.1.0 // indirect
	github.com/hashicorp/golang-lru/v2 v2.0.7 // indirect
	github.com/philhofer/fwd v1.2.0 // indirect
	github.com/projectdiscovery/ratelimit v0.0.50 // indirect
	github.com/projectdiscovery/utils v0.2.3 // indirect
	github.com/shirou/gopsutil v3.21.11+incompatible // indirect
	github.com/sirupsen/logrus v1.9.3 // indirect
	github.com/tklauser/go-sysconf v0.3.12 // indirect
	github.com/tklauser/numcpus v0.6.1 // indirect
	github.com/ugorji/go/codec v1.3.1 // indirect
	github.com/vmihailenco/msgpack/v5 v5.4.1 // indirect
	github.com/vmihailenco/tagparser/v2 v2.0.0 // indirect
	github.com/x448/float16 v0.8.4 // indirect
	github.com/xconnio/wampproto-go v0.0.0-20251205113711-968e34250b9a // indirect
	github.com/yusufpapurcu/wmi v1.2.4 // indirect
	go.bug.st/serial v1.8.0 // indirect
	golang.org/x/crypto v0.48.0 // indirect
	golang.org/x/exp v0.0.0-20240525044651-4c93da0ed11d // indirect
	golang.org/x/sys v0.43.0 // indirect
	golang.org/x/time v0.5.0 // indirect
)
