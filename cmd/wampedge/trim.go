package main

import (
	"runtime"
	"runtime/debug"
	"time"

	"github.com/wampedge/wampedge/rawsocket"
)

// Returning memory once sessions go idle or leave. A session that joins
// or wakes takes a goroutine stack and buffers; when it parks
// (rawsocket.Park) or its connection closes it gives them back, but to
// the Go heap, which keeps free memory as long as the heap could grow
// into it again, and which collects only once something allocates: after
// a thousand sensors joined at once, or came and went, the router would
// hold the memory of their visit for good. On a board that memory is
// worth more to others than a GC cycle's CPU, so after a wave of sessions
// parked or closed the trimmer has the runtime collect and release what
// is free. Under a steady load nothing parks or closes and it does
// nothing.

// Trimming: checked every trimEvery while sessions park or close (both
// are "releases" here), done once none did since the last check after
// some did (a wave is over), or during a wave once trimAfterParks did
// since the last trim; while sessions keep parking (a thousand sensors
// that speak every second),
// the gap between trims in a wave doubles up to trimGapMax, and a quiet
// check sets it back.
const (
	trimEvery      = 100 * time.Millisecond
	trimAfterParks = 32
	trimGapMax     = time.Minute
)

func init() {
	// The release build serves no heap profiles: their sampling table is
	// a megabyte of memory for nothing.
	runtime.MemProfileRate = 0
}

// trim collects twice, the first time emptying the runtime's pools (a
// parked session's scratch is kept in one) into their victim caches,
// the second freeing those, and returns what is free to the OS.
func trim() {
	runtime.GC()
	debug.FreeOSMemory()
}

// trimMemory runs the trimmer until stop is closed. It sleeps until
// sessions park or close, then checks every trimEvery until it has
// trimmed after the wave: an idle router is not woken.
func trimMemory(stop <-chan struct{}) {
	t := newTrimmer(rawsocket.Releases())
	check := time.NewTimer(trimEvery)
	check.Stop()
	armed := false
	for {
		select {
		case <-stop:
			check.Stop()
			return
		case <-rawsocket.ReleaseSignal():
			if !armed { // a wave's parks do not push its checks back
				check.Reset(trimEvery)
				armed = true
			}
		case now := <-check.C:
			parks := rawsocket.Releases()
			if t.due(now, parks) {
				trim()
			}
			// Checks go on while the wave does, or until its end is trimmed.
			armed = parks != t.trimmed
			if armed {
				check.Reset(trimEvery)
			}
		}
	}
}

// trimmer decides, at each check, whether to trim.
type trimmer struct {
	trimmed, seen uint64 // Parks at the last trim, at the last check
	gap           time.Duration
	next          time.Time // no trim in a wave before this
}

func newTrimmer(parks uint64) *trimmer {
	return &trimmer{trimmed: parks, seen: parks, gap: trimEvery}
}

// due takes the check at now, with parks sessions parked since the
// process started, and reports whether to trim.
func (t *trimmer) due(now time.Time, parks uint64) bool {
	quiet := parks == t.seen // the wave, if any, is over
	if quiet {
		t.gap = trimEvery
	}
	t.seen = parks
	if parks > t.trimmed && quiet || parks-t.trimmed >= trimAfterParks && !now.Before(t.next) {
		t.trimmed = parks
		t.next, t.gap = now.Add(t.gap), min(2*t.gap, trimGapMax)
		return true
	}
	return false
}
