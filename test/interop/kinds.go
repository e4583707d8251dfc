package interop

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// peerKind is one WAMP client library and how to start a session of it.
type peerKind struct {
	name        string
	serializers []string // what its RawSocket transport speaks
	inProcess   bool     // a Go library: killed by dropping its connection
	start       func(url, ser string) (Peer, error)
	// lacks names features the library does not offer, with the reason.
	lacks map[string]string
	// maxLen is the largest message the library accepts (0: peerMaxLen).
	maxLen int
}

// peerKinds returns every peer, the external ones started from binDir
// (the compiled C++ peer) and peers/.
func peerKinds(binDir string) []peerKind {
	proc := func(argv ...string) func(url, ser string) (Peer, error) {
		return func(url, ser string) (Peer, error) { return startProc(argv, url, ser) }
	}
	return []peerKind{
		{name: "autobahn-js", serializers: []string{"json"}, start: proc("node", filepath.Join("peers", "js", "peer.js")),
			lacks: map[string]string{
				"progress_callee": "Autobahn|JS 22.11.1's callee does not announce call_canceling (commented out in its WAMP_FEATURES; it has no INTERRUPT handling), and WAMP lets a dealer offer progressive results only to callees that announce both, so its callee is never offered them",
			}},
		{name: "autobahn-python", serializers: []string{"json", "msgpack"}, start: proc("/usr/bin/python3", filepath.Join("peers", "python", "peer.py"))},
		{name: "autobahn-cpp", serializers: []string{"msgpack"}, start: proc(filepath.Join(binDir, "cpp-peer")),
			lacks: map[string]string{
				"acknowledge":     "Autobahn|C++ cannot ask for acknowledge (its publish options know exclude_me only)",
				"progress_callee": "Autobahn|C++ 17.5.1's callee announces call_timeout only (neither progressive_call_results nor call_canceling), so it is never offered progressive results",
			}},
		{name: "nexus-client", serializers: []string{"json", "msgpack"}, inProcess: true, start: startNexusPeer,
			lacks: map[string]string{
				"json_binary":    "the nexus client's JSON serializer gives binary to the application as base64 text, without the \\u0000 marker",
				"retained_event": "the nexus client installs an event handler only after Subscribe has its SUBSCRIBED, in another goroutine, so an EVENT right behind SUBSCRIBED (a retained one always is) finds none and is dropped (\"No handler registered for subscription\")",
			}},
		{name: "xconn-go", serializers: []string{"json", "msgpack"}, inProcess: true, start: startXconnPeer, maxLen: 1 << 20,
			lacks: map[string]string{
				"subscription_ids": "xconn-go does not expose subscription IDs",
				"event_order":      "xconn-go runs each event handler in a goroutine of its own, so events reach the application in any order",
				"json_binary":      "xconn-go's JSON serializer writes binary as plain base64 text, without the \\u0000 marker",
				"retained_event":   "xconn-go installs an event handler only after Subscribe has its SUBSCRIBED, in another goroutine, so an EVENT right behind SUBSCRIBED (a retained one always is) finds none (\"received EVENT for unknown subscription\")",
			}},
		{name: "wampedge-client", serializers: []string{"json", "msgpack"}, inProcess: true, start: startEdgePeer},
	}
}

// buildCppPeer compiles the C++ peer with the command line its source
// names on a line starting with "// build: ".
func buildCppPeer(binDir string) error {
	src := filepath.Join("peers", "cpp", "peer.cpp")
	f, err := os.Open(src)
	if err != nil {
		return err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line, ok := strings.CutPrefix(sc.Text(), "// build: ")
		if !ok {
			continue
		}
		args := strings.Fields(line)
		for i, a := range args { // the source and output as named here
			switch {
			case strings.HasSuffix(a, "peer.cpp"):
				args[i] = src
			case i > 0 && args[i-1] == "-o":
				args[i] = filepath.Join(binDir, "cpp-peer")
			}
		}
		if out, err := exec.Command(args[0], args[1:]...).CombinedOutput(); err != nil {
			return fmt.Errorf("compiling the C++ peer (%s): %v\n%s", line, err, out)
		}
		return nil
	}
	return fmt.Errorf("%s names no build command", src)
}
