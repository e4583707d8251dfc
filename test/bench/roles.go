package main

import (
	_ "expvar" // /debug/vars on http.DefaultServeMux, for the allocation counts
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"

	"github.com/wampedge/wampedge/test/bench/nexusrouter"
	"github.com/wampedge/wampedge/test/bench/relay"
)

// The harness runs the frame relay and the nexus router as its own
// binary in another role, so that each is a process of its own and a
// board needs one binary for all of them. The role is in the
// environment, so that the test binary can play it too.
const (
	roleEnv   = "WAMPEDGE_BENCH_ROLE"
	roleRelay = "relay"
	roleNexus = "nexus-router"
)

// nexusVersion is the nexus test/go.mod pins.
const nexusVersion = "v3.3.0"

// runRole serves as the relay or the nexus router until SIGTERM or SIGINT.
func runRole(role string, args []string) int {
	if role == roleAwake {
		return keepAwake()
	}
	fs := flag.NewFlagSet(role, flag.ContinueOnError)
	addr := fs.String("addr", "127.0.0.1:0", "listen on `HOST:PORT` (loopback)")
	debugAddr := fs.String("debug-addr", "", "serve expvar's /debug/vars on `HOST:PORT` (loopback)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	if *debugAddr != "" {
		ln, err := net.Listen("tcp", *debugAddr)
		if err != nil {
			fmt.Fprintln(os.Stderr, role+":", err)
			return 1
		}
		go http.Serve(ln, nil)
	}
	var stop func()
	switch role {
	case roleRelay:
		s, err := relay.Listen(*addr)
		if err != nil {
			fmt.Fprintln(os.Stderr, role+":", err)
			return 1
		}
		go s.Serve()
		stop = func() { s.Close() }
		fmt.Fprintln(os.Stderr, "relay listening on", s.Addr())
	case roleNexus:
		r, err := nexusrouter.Listen(*addr)
		if err != nil {
			fmt.Fprintln(os.Stderr, role+":", err)
			return 1
		}
		stop = r.Close
		fmt.Fprintln(os.Stderr, "nexus router listening on", r.Addr())
	default:
		fmt.Fprintf(os.Stderr, "unknown role %q\n", role)
		return 2
	}
	<-sig
	stop()
	return 0
}
