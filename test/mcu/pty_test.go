package mcu_test

import (
	"fmt"
	"math/rand/v2"
	"os"
	"sync"
	"sync/atomic"
	"testing"

	"golang.org/x/sys/unix"
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
	master, err := os.OpenFile("/dev/ptmx", os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Fatalf("openpty: %v", err)
	}
	var n uint32
	var ioErr error
	sc, err := master.SyscallConn()
	if err == nil {
		err = sc.Control(func(fd uintptr) {
			if ioErr = unix.IoctlSetPointerInt(int(fd), unix.TIOCSPTLCK, 0); ioErr == nil {
				n, ioErr = unix.IoctlGetUint32(int(fd), unix.TIOCGPTN)
			}
		})
	}
	if err != nil || ioErr != nil {
		master.Close()
		t.Fatalf("openpty: %v %v", err, ioErr)
	}
	p := &pty{master: master, slave: fmt.Sprintf("/dev/pts/%d", n)}
	if p.hold, err = os.OpenFile(p.slave, os.O_RDWR|unix.O_NOCTTY, 0); err != nil {
		master.Close()
		t.Fatalf("openpty: %v", err)
	}
	if err := makeRaw(p.hold); err != nil {
		p.close()
		t.Fatalf("openpty: raw mode: %v", err)
	}
	t.Cleanup(p.close)
	return p
}

func makeRaw(f *os.File) error {
	sc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var ioErr error
	err = sc.Control(func(fd uintptr) {
		var tio *unix.Termios
		if tio, ioErr = unix.IoctlGetTermios(int(fd), unix.TCGETS); ioErr != nil {
			return
		}
		tio.Iflag &^= unix.IGNBRK | unix.BRKINT | unix.PARMRK | unix.ISTRIP | unix.INLCR | unix.IGNCR | unix.ICRNL | unix.IXON | unix.IXOFF
		tio.Oflag &^= unix.OPOST
		tio.Lflag &^= unix.ECHO | unix.ECHONL | unix.ICANON | unix.ISIG | unix.IEXTEN
		tio.Cflag &^= unix.CSIZE | unix.PARENB
		tio.Cflag |= unix.CS8 | unix.CREAD | unix.CLOCAL
		tio.Cc[unix.VMIN] = 1
		tio.Cc[unix.VTIME] = 0
		ioErr = unix.IoctlSetTermios(int(fd), unix.TCSETS, tio)
	})
	if err != nil {
		return err
	}
	return ioErr
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
