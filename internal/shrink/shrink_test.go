package shrink

import (
	"runtime"
	"testing"
)

func TestDeleteKeepsTheRest(t *testing.T) {
	m, peak := map[int]int{}, 0
	for i := range 1000 {
		m[i] = i * i
	}
	for i := range 990 {
		Delete(&m, &peak, i)
		if len(m) != 999-i {
			t.Fatalf("after deleting %d: %d entries", i, len(m))
		}
	}
	for i := 990; i < 1000; i++ {
		if m[i] != i*i {
			t.Fatalf("m[%d] = %d, want %d", i, m[i], i*i)
		}
	}
	if peak > 4*len(m)+minPeak {
		t.Errorf("peak %d with %d entries: the map was not copied", peak, len(m))
	}
}

// The memory of a map that held 100,000 entries comes back once it is
// down to a few.
func TestDeleteGivesMemoryBack(t *testing.T) {
	heap := func() uint64 {
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		return ms.HeapAlloc
	}
	before := heap()
	m, peak := map[uint64]struct{}{}, 0
	for i := range uint64(100_000) {
		m[i] = struct{}{}
	}
	full := heap()
	for i := range uint64(99_990) {
		Delete(&m, &peak, i)
	}
	after := heap()
	t.Logf("heap: %d before, %d full, %d after", before, full, after)
	if after > before+(full-before)/10 {
		t.Errorf("heap %d after the deletions, %d before the map filled and %d full", after, before, full)
	}
	runtime.KeepAlive(m)
}
