package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/wampedge/wampedge/codec"
	"github.com/wampedge/wampedge/rawsocket"
)

// TestMemoryComesBack: the release build gives memory back once
// sessions go idle or leave (issue 22). 2000 sessions join and park; each
// then publishes once (it wakes, routes, parks again), and within 10 s
// the router's RSS is back within 2 MiB of what the parked sessions
// cost; then they all close, and within 10 s RSS is back within
// keptAfter of what it was before they came: what is left is what the
// Go runtime keeps for good after so many connections were open at once
// (a descriptor per goroutine and per socket, finalizer records, heap
// metadata), which a second wave reuses: it ends within 1 MiB of the
// first. The figures are logged.
func TestMemoryComesBack(t *testing.T) {
	const (
		sessions  = 2000
		slack     = 2 << 20
		keptAfter = 6 << 20
		within    = 10 * time.Second
	)
	addr := freeAddr(t)
	url := "tcp://" + addr
	debug := freeAddr(t)
	d := startDaemon(t, "-listen", url, "-mdns=false", "-debug-addr", debug)
	waitReady(t, d.started, d.exited, url)
	pid := d.cmd.Process.Pid
	wave(t, url, 1, time.Second) // the code a session runs, paged in
	base := settledRSS(t, pid, 2*time.Second)
	var left [2]int
	for i := range left {
		conns := wave(t, url, sessions, 0)
		parked := settledRSS(t, pid, 3*time.Second)
		for i, c := range conns {
			pub := (&codec.Publish{Request: 1, Topic: []byte("com.example.once"), Args: []byte{0x91, byte(i & 0x7f)}}).Append(nil)
			if err := c.WriteMsg(pub); err != nil {
				t.Fatal(err)
			}
		}
		published := rssWithin(t, pid, parked+slack, within)
		for _, c := range conns {
			c.Close()
		}
		gone := rssWithin(t, pid, base+keptAfter, within)
		left[i] = gone.rss
		t.Logf("wave %d: RSS %s before, %s with %d sessions parked, %s after each published once, %s after they left",
			i+1, mib(base), mib(parked), sessions, mib(published.rss), mib(gone.rss))
		if !published.ok {
			t.Errorf("%s after %d parked sessions published once each, %v later: over the %s they cost parked + 2 MiB", mib(published.rss), sessions, within, mib(parked))
		}
		if !gone.ok {
			t.Log(memstats(t, debug))
			t.Errorf("%s %v after %d sessions left: over the %s before they came + %s", mib(gone.rss), within, sessions, mib(base), mib(keptAfter))
		}
	}
	if left[1] > left[0]+1<<20 {
		t.Errorf("RSS %s after the second wave left, %s after the first: it grows", mib(left[1]), mib(left[0]))
	}
}

// wave joins n sessions to realm1 on url as publishers; with linger, they
// leave again after that long, else they stay until the test ends.
func wave(t *testing.T, url string, n int, linger time.Duration) []*rawsocket.Conn {
	t.Helper()
	hello := helloFrame(t)
	conns := make([]*rawsocket.Conn, 0, n)
	t.Cleanup(func() {
		for _, c := range conns {
			c.Close()
		}
	})
	for range n {
		ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
		c, err := rawsocket.Dial(ctx, url, codec.MsgPack, rawsocket.DialConfig{})
		cancel()
		if err != nil {
			t.Fatalf("session %d: %v", len(conns), err)
		}
		conns = append(conns, c)
		if err := c.WriteMsg(hello); err != nil {
			t.Fatal(err)
		}
	}
	for i, c := range conns {
		m, err := c.ReadMsg()
		if typ, _ := codec.TypeOf(m); err != nil || typ != codec.TypeWelcome {
			t.Fatalf("session %d: %v, type %v, want WELCOME", i, err, typ)
		}
	}
	if linger > 0 {
		time.Sleep(linger)
		for _, c := range conns {
			c.Close()
		}
	}
	return conns
}

// rss is a process's resident set, in bytes, from /proc.
func rss(t *testing.T, pid int) int {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")))
			if err != nil {
				t.Fatalf("VmRSS %q: %v", v, err)
			}
			return kb << 10
		}
	}
	t.Fatal("no VmRSS in /proc/PID/status")
	return 0
}

// settledRSS is the least RSS seen over d: what the process holds once
// the trimmer had its turn.
func settledRSS(t *testing.T, pid int, d time.Duration) int {
	least := rss(t, pid)
	for end := time.Now().Add(d); time.Now().Before(end); time.Sleep(100 * time.Millisecond) {
		least = min(least, rss(t, pid))
	}
	return least
}

type rssResult struct {
	rss int
	ok  bool
}

// rssWithin waits up to d for RSS to be at most limit, and returns the
// last figure.
func rssWithin(t *testing.T, pid, limit int, d time.Duration) rssResult {
	for end := time.Now().Add(d); ; time.Sleep(100 * time.Millisecond) {
		r := rss(t, pid)
		if r <= limit || time.Now().After(end) {
			return rssResult{r, r <= limit}
		}
	}
}

func mib(n int) string { return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20)) }

// helloFrame is HELLO to realm1 as a publisher.
func helloFrame(t *testing.T) []byte {
	d, err := (&codec.HelloDetails{Roles: map[string]codec.Role{"publisher": {}}}).MarshalMsg(nil)
	if err != nil {
		t.Fatal(err)
	}
	return (&codec.Hello{Realm: []byte("realm1"), Details: d}).Append(nil)
}

// memstats is what the debug endpoint says of the runtime's memory.
func memstats(t *testing.T, addr string) string {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		return err.Error()
	}
	defer c.Close()
	fmt.Fprintf(c, "GET /debug/vars HTTP/1.1\r\nHost: x\r\n\r\n")
	b, _ := io.ReadAll(c)
	_, body, _ := strings.Cut(string(b), "\r\n\r\n")
	var v struct {
		Goroutines int            `json:"goroutines"`
		Memstats   map[string]any `json:"memstats"`
	}
	if err := json.Unmarshal([]byte(body), &v); err != nil {
		return err.Error()
	}

	out := []string{fmt.Sprintf("goroutines=%v", v.Goroutines)}
	for _, k := range []string{"Sys", "HeapSys", "HeapInuse", "HeapIdle", "HeapReleased", "HeapAlloc", "StackInuse", "StackSys", "MSpanInuse", "MCacheInuse", "GCSys", "OtherSys", "NumGC"} {
		out = append(out, fmt.Sprintf("%s=%v", k, v.Memstats[k]))
	}
	return strings.Join(out, " ")
}
