package rawsocket

import (
	"errors"
	"fmt"
	"os"
	"sync/atomic"
	"time"
)

// Parking: a connection whose peer has been quiet can wait for its next
// bytes without a goroutine. In Go a blocked read holds a goroutine, and
// its stack (4 to 8 KiB once a session has done some work) is most of
// what an idle session costs; a board with a thousand sensors that speak
// once a minute would spend its memory on stacks. A parked connection
// waits in one poller shared by all (epoll on Linux), with no read
// buffer either, and a new goroutine reads once bytes arrive.

// parks and closes count the connections parked and closed since the
// process started; released gets a signal (dropped if one is pending)
// at each.
var (
	parks, closes atomic.Uint64
	released      = make(chan struct{}, 1)
)

// Parks is the number of times a connection parked since the process
// started.
func Parks() uint64 { return parks.Load() }

// Releases is the number of times a connection parked or closed since
// the process started, each giving what it held back to the Go heap: a
// program that returns memory to the OS once sessions go idle or leave
// (wampedge does) watches it, woken by ReleaseSignal.
func Releases() uint64 { return parks.Load() + closes.Load() }

// ReleaseSignal receives a value after connections parked or closed
// (many may make one value), so that a watcher of Releases need not poll
// while nothing happens.
func ReleaseSignal() <-chan struct{} { return released }

// signalRelease wakes the watcher of Releases.
func signalRelease() {
	select {
	case released <- struct{}{}:
	default:
	}
}

// ErrIdle is ReadMsg's answer when the peer sent nothing for the time
// given to SetIdle and no part of a frame is buffered: the caller may
// Park the connection, or call ReadMsg again.
var ErrIdle = errors.New("rawsocket: peer idle")

// SetIdle makes ReadMsg return ErrIdle after d without a byte from the
// peer (0: never), on a connection that can park; elsewhere it does
// nothing. Call it from the reading goroutine.
func (c *Conn) SetIdle(d time.Duration) {
	if c.raw == nil || !pollerWorks() {
		return
	}
	c.idle = d
}

// Park gives up the reading goroutine until the peer sends again or the
// connection closes: readable then runs in a new goroutine, once, and
// should go on with ReadMsg. Park reports false, and readable will not
// run, when the connection cannot park (call ReadMsg instead). The
// caller's goroutine returns after a true Park; ReadMsg must not be
// called until readable runs.
func (c *Conn) Park(readable func()) bool {
	if c.raw == nil || c.w > c.r {
		return false
	}
	c.rbuf, c.r, c.w, c.lastRoom = nil, 0, 0, 0 // a parked connection holds no read buffer
	if c.wmu.TryLock() {                        // nor a write buffer, unless a write is under way
		if c.wsent == len(c.wbuf) {
			c.wbuf, c.wsent = nil, 0
		}
		c.wmu.Unlock()
	}
	c.readable = readable
	c.kept.Store(true) // before park: readable may run at once
	if !park(c) {
		c.kept.Store(false)
		return false
	}
	parks.Add(1)
	signalRelease()
	return true
}

// Idle deadlines: a read deadline IdleAfter ahead, moved only once half
// of it is gone, so that a busy connection does not reset a timer for
// every read.
type deadline int

const (
	noDeadline deadline = iota
	frameDeadline
	idleDeadline
)

// armDeadline sets the read deadline for the read to come: FrameTimeout
// while part of a frame is buffered, the idle deadline while none is.
func (c *Conn) armDeadline() {
	if c.frameTimeout <= 0 && c.idle <= 0 {
		return
	}
	dl, ok := c.rw.(interface{ SetReadDeadline(time.Time) error })
	if !ok {
		return
	}
	partial := c.w > c.r
	switch {
	case partial && c.frameTimeout > 0:
		dl.SetReadDeadline(time.Now().Add(c.frameTimeout))
		c.deadline = frameDeadline
	case !partial && c.idle > 0:
		now := time.Now()
		if c.deadline == idleDeadline && c.idleAt.Sub(now) > c.idle/2 {
			return
		}
		c.idleAt = now.Add(c.idle)
		dl.SetReadDeadline(c.idleAt)
		c.deadline = idleDeadline
	case c.deadline != noDeadline:
		dl.SetReadDeadline(time.Time{})
		c.deadline = noDeadline
	}
}

// deadlineError turns a read that hit an armed deadline into ErrIdle or
// ErrFrameTimeout; nil for any other error.
func (c *Conn) deadlineError(err error) error {
	if c.deadline == noDeadline || !errors.Is(err, os.ErrDeadlineExceeded) {
		return nil
	}
	if c.deadline == idleDeadline {
		c.deadline = noDeadline // the next read arms a fresh one
		return ErrIdle
	}
	return fmt.Errorf("%w (%d bytes of a frame, then %v of silence)", ErrFrameTimeout, c.w-c.r, c.frameTimeout)
}
