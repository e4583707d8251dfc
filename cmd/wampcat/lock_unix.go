//go:build unix

package main

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/wampedge/wampedge/serial"
	"golang.org/x/sys/unix"
)

// lockSerial takes a serial:// URL's device for this wampcat alone, for
// as long as it runs: a second wampcat on the same line would take half
// of every reply, and both would fail in ways hard to tell apart. The
// serial port's own TIOCEXCL does not stop root, so wampcat also holds
// an flock(2) on the device. Other URLs need no lock.
func lockSerial(rawURL string) (release func(), err error) {
	if !strings.HasPrefix(rawURL, "serial:") {
		return func() {}, nil
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
	return func() { f.Close() }, nil
}
