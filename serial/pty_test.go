package serial_test

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/wampedge/wampedge/internal/testutil"
)

// A pseudo-terminal stands for the serial line in these tests: the
// router opens the slave (/dev/pts/N) as it would open /dev/ttyUSB0, and
// the test's microcontroller reads and writes the master. Closing the
// master hangs the slave up: its reads fail (end of file, or EIO),
// which is what a USB-serial adapter's tty does when it is unplugged.
//
// openpty is done here with ioctls rather than with socat: a socat
// "pty,raw,echo=0" pair relays between two ptys and keeps the router's
// slave open when its other end goes away, so the router never sees a
// hangup; closing an openpty master is an unplug.

// pty is one pseudo-terminal the test made.
type pty struct {
	master *os.File // the microcontroller's end
	slave  string   // /dev/pts/N, the router's end
	hold   *os.File // a slave descriptor the test keeps open (see openPTY)
}

// openPTY makes a pseudo-terminal in raw mode (testutil.OpenPTY),
// unplugged when the test ends if not before.
func openPTY(t testing.TB) *pty {
	t.Helper()
	p := testutil.OpenPTY(t)
	return &pty{master: p.Master, slave: p.Slave, hold: p.Hold}
}

// unplug closes both of the test's descriptors: the slave side is hung
// up from now on, and /dev/pts/N goes away.
func (p *pty) unplug() {
	p.master.Close()
	p.hold.Close()
}

// byID makes a symlink in the test's directory that stands for a stable
// /dev/serial/by-id/... name, pointing at target.
func byID(t testing.TB, target string) string {
	t.Helper()
	link := filepath.Join(t.TempDir(), "usb-wampedge_test_board-if00")
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
	return link
}

// repoint makes link point at target, atomically: a new symlink renamed
// over the old one, as udev does, so an open of link finds the old
// target or the new one, never nothing.
func repoint(t testing.TB, link, target string) {
	t.Helper()
	tmp := link + ".new"
	os.Remove(tmp)
	if err := os.Symlink(target, tmp); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, link); err != nil {
		t.Fatal(err)
	}
}

// TestPTY checks the helper itself: bytes pass both ways unchanged (no
// echo, no CR/LF or XON/XOFF handling) and the master honours read
// deadlines, which the microcontroller's timeouts rely on.
func TestPTY(t *testing.T) {
	p := openPTY(t)
	all := make([]byte, 256)
	for i := range all {
		all[i] = byte(i)
	}
	if _, err := p.master.Write(all); err != nil {
		t.Fatal(err)
	}
	got := make([]byte, len(all))
	p.hold.SetReadDeadline(deadline(ioTimeout))
	if _, err := io.ReadFull(p.hold, got); err != nil {
		t.Fatal(err)
	}
	if string(got) != string(all) {
		t.Fatalf("master -> slave changed bytes:\n got % x", got)
	}
	if _, err := p.hold.Write(all); err != nil {
		t.Fatal(err)
	}
	p.master.SetReadDeadline(deadline(ioTimeout))
	if _, err := io.ReadFull(p.master, got); err != nil {
		t.Fatal(err)
	}
	if string(got) != string(all) {
		t.Fatalf("slave -> master changed bytes:\n got % x", got)
	}
	// Nothing echoed: the master has nothing more to read.
	p.master.SetReadDeadline(deadline(20e6))
	if n, err := p.master.Read(got); !os.IsTimeout(err) {
		t.Fatalf("master read after the exchange: %d bytes (% x), %v; want a timeout", n, got[:n], err)
	}
	// Closing the master hangs the slave up: the unplug. Linux's hung-up
	// tty reads as end of file (0 bytes); EIO is the other answer a
	// tty whose other side is gone gives.
	p.master.Close()
	p.hold.SetReadDeadline(deadline(ioTimeout))
	if n, err := p.hold.Read(got); err != io.EOF && !errors.Is(err, syscall.EIO) {
		t.Fatalf("slave read after the master closed: %d bytes, %v; want EOF or EIO", n, err)
	}
}
