package main

import (
	"fmt"
	"os"
	"sync/atomic"
	"testing"

	"golang.org/x/sys/unix"
)

// serialLine is a serial cable between two pseudo-terminals: the router
// opens one end's /dev/pts/N, wampcat the other's, and the test relays
// the bytes between their masters, so that it can cut the line (drop
// every byte) without either side seeing a hangup.
type serialLine struct {
	a, b *pty
	cut  atomic.Bool
}

// pty is one pseudo-terminal: the test's master, and the /dev/pts/N path
// a program opens as a serial device. The test holds a slave descriptor
// of its own, which it never reads: without one, reads on the master
// fail with EIO until the program opens the slave.
type pty struct {
	master *os.File
	path   string
	hold   *os.File
}

func newSerialLine(t *testing.T) *serialLine {
	t.Helper()
	l := &serialLine{a: openPTY(t), b: openPTY(t)}
	go l.relay(l.a.master, l.b.master)
	go l.relay(l.b.master, l.a.master)
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

func openPTY(t *testing.T) *pty {
	t.Helper()
	master, err := os.OpenFile("/dev/ptmx", os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Skipf("no pseudo-terminals: %v", err)
	}
	p := &pty{master: master}
	t.Cleanup(func() {
		master.Close()
		if p.hold != nil {
			p.hold.Close()
		}
	})
	var n uint32
	if err := control(master, func(fd int) error {
		if err := unix.IoctlSetPointerInt(fd, unix.TIOCSPTLCK, 0); err != nil { // unlockpt(3)
			return err
		}
		n, err = unix.IoctlGetUint32(fd, unix.TIOCGPTN) // ptsname(3)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	p.path = fmt.Sprintf("/dev/pts/%d", n)
	if p.hold, err = os.OpenFile(p.path, os.O_RDWR|unix.O_NOCTTY, 0); err != nil {
		t.Fatal(err)
	}
	// Raw from the start: bytes relayed before the program opens the
	// device must not be echoed or translated.
	if err := control(p.hold, makeRaw); err != nil {
		t.Fatal(err)
	}
	return p
}

// control runs f on a file's descriptor without taking it out of the
// runtime's poller (as Fd would): Close still ends a blocked Read.
func control(f *os.File, fn func(fd int) error) error {
	sc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var fnErr error
	if err := sc.Control(func(fd uintptr) { fnErr = fn(int(fd)) }); err != nil {
		return err
	}
	return fnErr
}

// makeRaw is cfmakeraw(3).
func makeRaw(fd int) error {
	tio, err := unix.IoctlGetTermios(fd, unix.TCGETS)
	if err != nil {
		return err
	}
	tio.Iflag &^= unix.IGNBRK | unix.BRKINT | unix.PARMRK | unix.ISTRIP | unix.INLCR | unix.IGNCR | unix.ICRNL | unix.IXON | unix.IXOFF
	tio.Oflag &^= unix.OPOST
	tio.Lflag &^= unix.ECHO | unix.ECHONL | unix.ICANON | unix.ISIG | unix.IEXTEN
	tio.Cflag &^= unix.CSIZE | unix.PARENB
	tio.Cflag |= unix.CS8 | unix.CREAD | unix.CLOCAL
	tio.Cc[unix.VMIN], tio.Cc[unix.VTIME] = 1, 0
	return unix.IoctlSetTermios(fd, unix.TCSETS, tio)
}
