// Command bench is the benchmark harness: it puts wampedge beside the
// nexus router, Mosquitto and a frame relay on this machine, and writes
// a Markdown table of what it measured (test/bench/RESULTS.md).
//
//	cd test && go run ./bench          # make bench: 5 runs, under 10 minutes
//	cd test && go run ./bench -quick   # make bench-quick: short runs, under 2 minutes
//
// # The routers
//
// Each router runs in its own process, started fresh for each run, one
// router at a time, on loopback:
//
//   - wampedge: the release build of this tree, as the Makefile makes it
//     (CGO_ENABLED=0, -trimpath, -s -w, -tags nethttpomithttp2), default
//     configuration (so a 1 MiB outbound queue per session and the
//     "disconnect" slow-consumer policy), with -debug-addr on;
//   - nexus v3.3.0 (the version test/go.mod pins): its router with a
//     RawSocket TCP listener, realm1, anonymous, defaults (package
//     nexusrouter);
//   - Mosquitto, Debian's package (install.sh), for the pub/sub patterns
//     over MQTT 3.1.1 with QoS 0, listening on 127.0.0.1 only;
//   - the frame relay (package relay): copies each length-prefixed frame
//     from the publisher into the write buffer of every subscriber
//     without decoding it, reading up to 64 KiB at a time as wampedge
//     does, and writes each buffer once it has no whole frame left; in
//     its 2-hop mode it forwards a CALL to a responder and the reply
//     back. It makes the copies and syscalls any router must make: the
//     ceiling any router can reach here.
//
// The relay and the nexus router are this binary started again in
// another role (the WAMPEDGE_BENCH_ROLE environment variable, or the
// first argument "relay" or "nexus-router"), so that a board needs one
// binary for all but Mosquitto.
//
// # The load
//
// The load generator (package loadgen) speaks RawSocket with MessagePack,
// or MQTT, with pre-encoded frames: a publisher writes 256 publishes per
// write, a subscriber reads up to 256 KiB at a time and counts frames by
// their length prefixes, so that the clients are never the bottleneck.
// The payload is 40 bytes: a MessagePack Arguments list ["<38 bytes>"]
// for WAMP, 40 raw bytes for MQTT.
//
// Patterns, each measured for a fixed time:
//
//   - pub/sub 1→1 and 1→10 at full rate: the publisher writes as fast as
//     the router takes the bytes; the figures are the events delivered per
//     second (from the first write to the last arrival, or to the end of
//     publishing for a subscriber the router cut off) and the share of
//     the events due (publishes × subscribers) that never arrived. After
//     publishing the harness waits until arrivals stop for half a second
//     (at most 10 s); a router that drops events, or disconnects a
//     subscriber, shows it here.
//   - the same, lossless: the publisher keeps at most 32 events in flight
//     to the slowest subscriber and tops the window up when half of it has
//     arrived. In flight is counted by the subscribers themselves (they are
//     in the harness's process), not by PUBLISH acknowledgements: it works
//     the same for WAMP and MQTT, and an acknowledgement says the router
//     took the event, not that the subscriber got it.
//   - RPC: one call at a time (round-trip p50 and p99), and 16 calls
//     outstanding (calls per second), to a callee that answers each burst
//     of invocations with one write.
//   - During the patterns bound by round trips (the lossless streams and
//     both RPC patterns) a helper process (this binary, role keep-awake)
//     spins on every core at SCHED_IDLE priority, so that no core halts:
//     on these VMs waking a halted core costs 30–100 µs, more than a
//     router's hop. Without it the relay's round trip came out slower
//     than wampedge's in some runs, and with 16 calls outstanding the
//     cores sat 44% idle while every process waited for the next wake-up:
//     the figure measured the hypervisor. A SCHED_IDLE thread gives its
//     core up at once to any task that wakes. The full-rate streams keep
//     the cores busy and run without it. -keep-awake=false measures with
//     halting cores.
//   - the router process's cost per message, over the full-rate streams
//     and the 16-outstanding calls: CPU (utime + stime from
//     /proc/PID/stat) and, for the Go routers, heap allocations and bytes
//     (runtime.MemStats through /debug/vars: wampedge's -debug-addr, expvar
//     in the others).
//   - resident memory (VmRSS) of a fresh process, then with 1000 and 5000
//     idle sessions holding one subscription each (to a topic of their
//     own). The harness raises RLIMIT_NOFILE to its hard limit, which the
//     routers it starts inherit.
//   - start-up: from exec to the first accepted handshake (RawSocket, or
//     MQTT CONNACK), polled every half millisecond, from the page cache:
//     the harness reads each binary just before it starts it. This VM's
//     kernel pages out what has not been touched for a few seconds (a
//     DAMON pageout scheme), so the wampedge binary, idle while the
//     others ran, used to start from the disk (3.5 ms first, 11–12 ms
//     after another router), while nexus and the relay run from the
//     harness's own binary, which never cools.
//   - the stripped binary size of wampedge and of nexus's own router
//     daemon, nexusd (built the same way), for linux/amd64, arm64 and arm
//     with GOARM=7, and of Debian's Mosquitto (dynamically linked, this
//     architecture only).
//
// # Noise
//
// Before each measurement the harness waits for the machine to be quiet
// (others keeping at most 0.15 of a core busy over 300 ms, by /proc/stat;
// at most 30 s each and 3 minutes in all), and during it counts the CPU
// that other processes used (the machine's busy time minus the harness's,
// its helper's and the router's). A figure with a run that started on a busy machine,
// or during which others used more than a fifth of a core, is marked †.
// Each figure is the median of the runs, with min–max; each comparison is
// the median of per-run ratios, so both sides of a ratio were measured
// minutes apart in the same invocation.
//
// # On a board
//
// Cross-compile the harness and wampedge, copy both, and run the harness
// there; nexus and the relay are in the harness binary, Mosquitto is
// taken from the board's PATH when it has one:
//
//	cd test && GOOS=linux GOARCH=arm64 go build -o bench-arm64 ./bench
//	make build  # or: GOARCH=arm64 CGO_ENABLED=0 go build -trimpath -ldflags '-s -w' ./cmd/wampedge
//	./bench-arm64 -wampedge ./wampedge -sizes none -out results.md
//
// Or measure a router that already runs (its start-up is then not
// measured; CPU and memory need its PID, allocations its -debug-addr):
//
//	./bench-arm64 -targets wampedge -wampedge-addr 127.0.0.1:8080 -wampedge-pid $(pidof wampedge) -wampedge-debug 127.0.0.1:6060
package main
