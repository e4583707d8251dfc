package codec_test

import "testing"

// TestZeroAllocs: once its buffers have grown, no hot path allocates.
func TestZeroAllocs(t *testing.T) {
	for _, p := range hotPaths() {
		t.Run(p.name, func(t *testing.T) {
			if err := p.step(); err != nil { // grows the reused buffers
				t.Fatal(err)
			}
			if n := testing.AllocsPerRun(100, func() {
				if err := p.step(); err != nil {
					t.Fatal(err)
				}
			}); n > 0 {
				t.Errorf("%s: %v allocations per run, want 0", p.name, n)
			}
		})
	}
}
