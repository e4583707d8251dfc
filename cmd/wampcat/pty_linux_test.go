package main

import (
	"os"
	"sync/atomic"
	"testing"

	"github.com/wampedge/wampedge/internal/testutil"
)

// serialLine is a serial cable between two pseudo-terminals: the router
// opens one end's /dev/pts/N, wampcat the other's, and the test relays
// the bytes between their masters, so that it can cut the line (drop
// every byte) without either side seeing a hangup.
type serialLine struct {
	a, b *testutil.PTY
	cut  atomic.Bool
}

func newSerialLine(t *testing.T) *serialLine {
	t.Helper()
	l := &serialLine{a: testutil.OpenPTY(t), b: testutil.OpenPTY(t)}
	go l.relay(l.a.Master, l.b.Master)
	go l.relay(l.b.Master, l.a.Master)
	return l
}

// relay copies from one master to the other, or drops the bytes while
// the line is cut, until the test closes the masters.
func (l *serialLine) relay(from, to *os.File) {
	buf := make([]byte, 4096)
	for {
		n, err := from.Read(buf)
		if err != nil {
			return
		}
		if !l.cut.Load() {
			to.Write(buf[:n])
		}
	}
}
