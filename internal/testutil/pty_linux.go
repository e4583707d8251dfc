package testutil

import (
	"fmt"
	"os"
	"testing"

	"golang.org/x/sys/unix"
)

// PTY is a pseudo-terminal that stands for a serial line in tests: a
// program opens Slave (/dev/pts/N) as it would open /dev/ttyUSB0, and
// the test reads and writes Master. Closing the master hangs the slave
// up, as unplugging a USB-serial adapter does (Unplug). Made with
// ioctls rather than socat, whose pty pairs keep a slave open when the
// other end goes away, so that a hangup never reaches it.
type PTY struct {
	Master *os.File
	Slave  string
	// Hold is a slave descriptor the test keeps open and never reads:
	// Linux fails reads on a master with EIO while no slave descriptor
	// is open, which would race with the program opening it.
	Hold *os.File
}

// OpenPTY makes a pseudo-terminal in raw mode (no echo, no line editing,
// no CR/LF translation, no XON/XOFF, eight bits through); it is unplugged
// when the test ends, if not before.
func OpenPTY(t testing.TB) *PTY {
	t.Helper()
	// O_NOCTTY: the pty must not become the test process's terminal.
	master, err := os.OpenFile("/dev/ptmx", os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Fatalf("openpty: %v", err)
	}
	var n uint32
	var ioErr error
	sc, err := master.SyscallConn()
	if err == nil {
		err = sc.Control(func(fd uintptr) {
			// unlockpt(3), then ptsname(3).
			if ioErr = unix.IoctlSetPointerInt(int(fd), unix.TIOCSPTLCK, 0); ioErr == nil {
				n, ioErr = unix.IoctlGetUint32(int(fd), unix.TIOCGPTN)
			}
		})
	}
	if err != nil || ioErr != nil {
		master.Close()
		t.Fatalf("openpty: unlockpt/ptsname: %v %v", err, ioErr)
	}
	p := &PTY{Master: master, Slave: fmt.Sprintf("/dev/pts/%d", n)}
	if p.Hold, err = os.OpenFile(p.Slave, os.O_RDWR|unix.O_NOCTTY, 0); err != nil {
		master.Close()
		t.Fatalf("openpty: opening %s: %v", p.Slave, err)
	}
	if err := MakeRaw(p.Hold); err != nil {
		p.Unplug()
		t.Fatalf("openpty: raw mode on %s: %v", p.Slave, err)
	}
	t.Cleanup(p.Unplug)
	return p
}

// Unplug closes both of the test's descriptors: the slave side is hung
// up from now on, and /dev/pts/N goes away.
func (p *PTY) Unplug() {
	p.Master.Close()
	p.Hold.Close()
}

// MakeRaw is cfmakeraw(3) on a terminal.
func MakeRaw(f *os.File) error {
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
