package main

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/wampedge/wampedge/serial"
	"golang.org/x/sys/unix"
)

// device is a serial device wampcat holds for itself; nil for other URLs.
type device struct{ f *os.File }

// lockSerial takes a serial:// URL's device for this wampcat alone, for
// as long as it runs: a second wampcat on the same line would take half
// of every reply, and both would fail in ways hard to tell apart. The
// serial port's own TIOCEXCL does not stop root, so wampcat also holds
// an flock(2) on the device.
func lockSerial(rawURL string) (*device, error) {
	if !strings.HasPrefix(rawURL, "serial:") {
		return nil, nil
	}
	cfg, err := serial.ParseURL(rawURL)
	if err != nil {
		return nil, usagef("-url: %v", err)
	}
	inUse := fmt.Errorf("serial device %s is in use by another wampcat (or another program that holds it)", cfg.Path)
	// O_NONBLOCK: opening a tty must not wait for its carrier.
	f, err := os.OpenFile(cfg.Path, os.O_RDWR|unix.O_NOCTTY|unix.O_NONBLOCK, 0)
	if errors.Is(err, unix.EBUSY) { // another's TIOCEXCL
		return nil, inUse
	}
	if err != nil {
		return nil, fmt.Errorf("serial device %s: %w", cfg.Path, err)
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, unix.EWOULDBLOCK) {
			return nil, inUse
		}
		return nil, fmt.Errorf("serial device %s: lock: %w", cfg.Path, err)
	}
	return &device{f}, nil
}

// discardInput drops what the line holds from before a new session:
// the router's late answers to an earlier session or handshake, which
// the new handshake would take for the router's reply.
func (d *device) discardInput() {
	if d != nil {
		unix.IoctlSetInt(int(d.f.Fd()), unix.TCFLSH, unix.TCIFLUSH)
	}
}

func (d *device) release() {
	if d != nil {
		d.f.Close()
	}
}
