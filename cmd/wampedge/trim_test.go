package main

import (
	"testing"
	"time"
)

// The trimmer trims once a wave of parking sessions is over, during a
// long wave every so often with a growing gap, and never while nothing
// parks.
func TestTrimmer(t *testing.T) {
	start := time.Unix(0, 0)
	tr := newTrimmer(0)
	check := func(i int, parks uint64, want bool) {
		t.Helper()
		if got := tr.due(start.Add(time.Duration(i)*trimEvery), parks); got != want {
			t.Errorf("check %d with %d parks: trim %v, want %v", i, parks, got, want)
		}
	}
	check(1, 0, false) // nothing parked
	check(2, 5, false) // a small wave, going on
	check(3, 5, true)  // over: trim
	check(4, 5, false) // and not again
	check(5, 5, false)

	// A long wave, 40 parks a check: a trim at once, then with gaps of
	// 1, 2, 4 checks... between trims.
	parks := uint64(5)
	var trims []int
	for i := 6; i < 40; i++ {
		parks += 40
		if tr.due(start.Add(time.Duration(i)*trimEvery), parks) {
			trims = append(trims, i)
		}
	}
	want := []int{6, 7, 9, 13, 21, 37}
	if len(trims) != len(want) {
		t.Fatalf("trims during a long wave at checks %v, want %v", trims, want)
	}
	for i := range want {
		if trims[i] != want[i] {
			t.Fatalf("trims during a long wave at checks %v, want %v", trims, want)
		}
	}
	check(40, parks, true) // the wave is over
	check(41, parks+40, true)
}
