package main

import (
	"os"
	"strings"
	"testing"
	"time"
)

// The test binary plays the relay and the nexus router when the harness
// starts it in one of those roles, as the harness binary does.
func TestMain(m *testing.M) {
	if role := os.Getenv(roleEnv); role != "" {
		os.Exit(runRole(role, os.Args[1:]))
	}
	os.Exit(m.Run())
}

// TestHarnessSmoke runs every pattern of the harness, very briefly, on
// the wampedge release build and the frame relay, each in its own
// process, and checks what it counts and reports; speeds are not
// checked, only that they were measured.
func TestHarnessSmoke(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs routers")
	}
	p := quickPlan()
	p.runs, p.streamFor, p.callsFor, p.warmup = 1, 100*time.Millisecond, 100*time.Millisecond, 50*time.Millisecond
	p.settle, p.drainMax = 300*time.Millisecond, 5*time.Second
	p.idle = []int{5, 20}
	p.quiet.maxWait = 0 // no waiting for a quiet machine in a test
	var log strings.Builder
	h := &harness{plan: p, log: &log}
	err := h.setUp(true)
	defer h.cleanUp()
	if err != nil {
		t.Fatal(err)
	}
	var targets []*target
	for _, tg := range allTargets() {
		if tg.key == "wampedge" || tg.key == "relay" {
			targets = append(targets, tg)
		}
	}
	h.res = newResults(p.runs, targets)
	h.defineFigures()
	for _, tg := range targets {
		h.measureTarget(0, tg)
	}
	t.Logf("harness log:\n%s", log.String())
	if len(h.res.notes) > 0 {
		t.Logf("notes: %q", h.res.notes)
	}

	for _, key := range []string{"pub1.rate", "pub10.rate", "pub1w.rate", "pub10w.rate", "rpc.p50", "rpc.p99", "rpc16.rate", "rss.idle", "rss.0", "rss.1", "startup", "cpu.rpc16", "allocs.rpc16"} {
		for _, tg := range targets {
			if v := h.res.byKey[key].values(tg.key); v.n != 1 || v.median <= 0 && !strings.HasPrefix(key, "allocs") {
				t.Errorf("%s for %s: %+v, want one positive sample", key, tg.key, v)
			}
		}
	}
	// The relay blocks rather than drop, and the windowed streams keep
	// every subscriber within reach for wampedge too: nothing is lost.
	for _, key := range []string{"pub1.lost", "pub10.lost", "pub1w.lost", "pub10w.lost"} {
		if v := h.res.byKey[key].values("relay"); v.n != 1 || v.median != 0 {
			t.Errorf("relay %s: %+v, want 0", key, v)
		}
	}
	for _, key := range []string{"pub1w.lost", "pub10w.lost"} {
		if v := h.res.byKey[key].values("wampedge"); v.n != 1 || v.median != 0 {
			t.Errorf("wampedge %s: %+v, want 0", key, v)
		}
	}
	if v := h.res.byKey["allocs.pub1"].values("wampedge"); v.n != 1 {
		t.Errorf("wampedge allocations per event not measured: %+v", v)
	}

	md := h.res.markdown(h.header(true, time.Second))
	for _, want := range []string{"| figure | wampedge | frame relay | wampedge ÷ frame relay |", "pub/sub 1→10, full rate: events/s delivered", "RSS, 20 idle sessions", "## Goals"} {
		if !strings.Contains(md, want) {
			t.Errorf("report lacks %q:\n%s", want, md)
		}
	}
}

func TestSpreadAndRatios(t *testing.T) {
	r := newResults(3, []*target{{key: "wampedge"}, {key: "nexus"}})
	r.define("s", "x", "x", perSecond, false)
	for i, v := range [][2]float64{{10, 1}, {30, 2}, {20, 4}} {
		r.add("x", "wampedge", i, v[0], i == 2)
		r.add("x", "nexus", i, v[1], false)
	}
	f := r.byKey["x"]
	if sp := f.values("wampedge"); sp.median != 20 || sp.min != 10 || sp.max != 30 || !sp.disturbed {
		t.Errorf("values: %+v", sp)
	}
	// Per run: 10, 15, 5.
	if sp := f.ratio("nexus"); sp.median != 10 || sp.min != 5 || sp.max != 15 {
		t.Errorf("ratio: %+v", sp)
	}
	if got := f.values("wampedge").cell(perSecond.format); got != "20 (10–30) †" {
		t.Errorf("cell %q", got)
	}
}
