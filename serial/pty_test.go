package serial_test

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
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

// openPTY makes a pseudo-terminal in raw mode: no echo, no line editing,
// no CR/LF translation, no XON/XOFF, eight bits through. The master is
// closed when the test ends (if it is not closed before: an unplug).
//
// The test keeps a slave descriptor of its own open as long as the
// master: Linux makes reads on a master fail with EIO while no slave
// descriptor is open, which would race with the router opening it. That
// descriptor is never read, so all input goes to the router.
func openPTY(t testing.TB) *pty {
	t.Helper()
	// O_NOCTTY: the pty must not become the test process's terminal.
	master, err := os.OpenFile("/dev/ptmx", os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Fatalf("openpty: %v", err)
	}
	fail := func(format string, args ...any) {
		master.Close()
		t.Helper()
		t.Fatalf(format, args...)
	}
	sc, err := master.SyscallConn()
	if err != nil {
		fail("openpty: %v", err)
	}
	var n uint32
	var ioErr error
	if err := sc.Control(func(fd uintptr) {
		// unlockpt(3), then ptsname(3).
		if ioErr = unix.IoctlSetPointerInt(int(fd), unix.TIOCSPTLCK, 0); ioErr != nil {
			return
		}
		n, ioErr = unix.IoctlGetUint32(int(fd), unix.TIOCGPTN)
	}); err != nil || ioErr != nil {
		fail("openpty: unlockpt/ptsname: %v %v", err, ioErr)
	}
	slave := fmt.Sprintf("/dev/pts/%d", n)
	hold, err := os.OpenFile(slave, os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		fail("openpty: opening %s: %v", slave, err)
	}
	if err := makeRaw(hold); err != nil {
		hold.Close()
		fail("openpty: raw mode on %s: %v", slave, err)
	}
	p := &pty{master: master, slave: slave, hold: hold}
	t.Cleanup(p.unplug)
	return p
}

// makeRaw is cfmakeraw(3) on a terminal.
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
