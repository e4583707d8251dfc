package mcu_test

import (
	"math/rand/v2"
	"os"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/wampedge/wampedge/internal/testutil"
)

// A pseudo-terminal for each end of the line: the router opens one
// slave, mcu-demo the other, and the test relays bytes between the two
// masters, so that it can damage them on the way (noise) or take the
// demo's side away (an unplug) while the router's stays.

type pty struct {
	master *os.File
	slave  string   // /dev/pts/N
	hold   *os.File // keeps a slave open: reads on a master fail with EIO while none is
}

func openPTY(t testing.TB) *pty {
	t.Helper()
	p := testutil.OpenPTY(t)
	return &pty{master: p.Master, slave: p.Slave, hold: p.Hold}
}

// close hangs the slave up: /dev/pts/N goes away.
func (p *pty) close() {
	p.master.Close()
	p.hold.Close()
}

// noise damages bytes on their way: each byte is flipped, dropped, or
// has a random byte inserted before it, with these probabilities.
type noise struct {
	flip, drop, insert float64
}

// relay carries bytes both ways between the router's pty and the
// demo's, through the current noise.
type relay struct {
	router *pty
	mu     sync.Mutex
	demo   *pty // nil while unplugged
	noise  atomic.Pointer[noise]
	rng    *rand.Rand
	rngMu  sync.Mutex

	damaged atomic.Int64 // bytes flipped, dropped or inserted
}

func newRelay(router, demo *pty) *relay {
	r := &relay{router: router, rng: rand.New(rand.NewPCG(1, 2))}
	go r.pump(router.master, func() *os.File {
		r.mu.Lock()
		defer r.mu.Unlock()
		if r.demo == nil {
			return nil
		}
		return r.demo.master
	})
	r.plug(demo)
	return r
}

// plug connects a (new) demo-side pty.
func (r *relay) plug(demo *pty) {
	r.mu.Lock()
	r.demo = demo
	r.mu.Unlock()
	go r.pump(demo.master, func() *os.File { return r.router.master })
}

// unplug disconnects the demo's pty and hangs it up.
func (r *relay) unplug() {
	r.mu.Lock()
	demo := r.demo
	r.demo = nil
	r.mu.Unlock()
	if demo != nil {
		demo.close()
	}
}

func (r *relay) setNoise(n *noise) { r.noise.Store(n) }

// pump copies from src to whatever dst returns, until src fails.
func (r *relay) pump(src *os.File, dst func() *os.File) {
	buf := make([]byte, 4096)
	out := make([]byte, 0, 8192)
	for {
		n, err := src.Read(buf)
		if err != nil {
			return
		}
		out = r.damage(out[:0], buf[:n])
		if d := dst(); d != nil && len(out) > 0 {
			d.Write(out)
		}
	}
}

func (r *relay) damage(out, in []byte) []byte {
	n := r.noise.Load()
	if n == nil {
		return append(out, in...)
	}
	r.rngMu.Lock()
	defer r.rngMu.Unlock()
	for _, b := range in {
		x := r.rng.Float64()
		switch {
		case x < n.flip:
			out = append(out, b^byte(1+r.rng.IntN(255)))
			r.damaged.Add(1)
		case x < n.flip+n.drop:
			r.damaged.Add(1)
		case x < n.flip+n.drop+n.insert:
			out = append(out, byte(r.rng.IntN(256)), b)
			r.damaged.Add(1)
		default:
			out = append(out, b)
		}
	}
	return out
}
