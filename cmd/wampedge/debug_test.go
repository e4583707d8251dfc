package main

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/wampedge/wampedge/codec"
)

// TestDebugEndpoint: -debug-addr serves expvar-style JSON with the
// runtime's memstats and goroutine count and the router's counters, and
// nothing else.
func TestDebugEndpoint(t *testing.T) {
	tcpURL, _, _ := endpoints(t)
	debugAddr := freeAddr(t)
	d := startDaemon(t, "-listen", tcpURL, "-debug-addr", debugAddr, "-mdns=false")
	waitReady(t, d.started, d.exited, tcpURL)
	mustJoin(t, tcpURL, "realm1", codec.MsgPack)

	hc := &http.Client{Timeout: waitTimeout}
	var vars struct {
		Cmdline    []string `json:"cmdline"`
		Goroutines int      `json:"goroutines"`
		Memstats   struct {
			Mallocs, TotalAlloc, HeapAlloc, Sys uint64
			NumGC                               uint32
		} `json:"memstats"`
		Router struct{ Sessions int } `json:"router"`
	}
	// The session's join is seen by the router a moment after WELCOME.
	for deadline := time.Now().Add(waitTimeout); ; time.Sleep(10 * time.Millisecond) {
		resp, err := hc.Get("http://" + debugAddr + "/debug/vars")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
			t.Fatalf("GET /debug/vars: %s %q", resp.Status, resp.Header.Get("Content-Type"))
		}
		if err := json.Unmarshal(body, &vars); err != nil {
			t.Fatalf("not JSON: %v\n%s", err, body)
		}
		if vars.Router.Sessions == 1 || time.Now().After(deadline) {
			break
		}
	}
	if vars.Router.Sessions != 1 {
		t.Errorf("router.Sessions = %d, want 1", vars.Router.Sessions)
	}
	if vars.Memstats.Mallocs == 0 || vars.Memstats.TotalAlloc == 0 || vars.Memstats.HeapAlloc == 0 || vars.Memstats.Sys == 0 {
		t.Errorf("memstats incomplete: %+v", vars.Memstats)
	}
	if len(vars.Cmdline) == 0 {
		t.Error("no cmdline")
	}
	if vars.Goroutines < 2 { // main, and at least the debug endpoint's accept loop
		t.Errorf("goroutines = %d, want the process's count (runtime.NumGoroutine)", vars.Goroutines)
	}

	resp, err := hc.Get("http://" + debugAddr + "/elsewhere")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 404 {
		t.Errorf("GET /elsewhere: %s, want 404", resp.Status)
	}
}
