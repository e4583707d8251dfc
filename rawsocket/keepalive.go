package rawsocket

import (
	"errors"
	"sync"
	"sync/atomic"
	"time"
)

// Keepalive defaults of the router's side (Accept): a connection whose
// peer has sent nothing for DefaultPingInterval gets a PING, and is
// closed if the peer then sends nothing, PONG or anything else, for
// DefaultPingTimeout more. A half-open TCP connection (a board that lost
// power, a NAT or a Wi-Fi link that forgot the flow) ends, and its
// session with it, instead of holding its subscriptions, registrations
// and callers for ever.
const (
	DefaultPingInterval = 30 * time.Second
	DefaultPingTimeout  = 10 * time.Second
)

// ErrPingTimeout: the peer sent nothing, not even the PONG to a PING,
// for Config.PingInterval plus Config.PingTimeout; the keepalive closed
// the connection.
var ErrPingTimeout = errors.New("rawsocket: peer silent after a PING (keepalive timeout)")

// keepaliveSettings returns the keepalive's interval and timeout, with
// the defaults for zero; ok is false when either is negative (off).
func (c *Config) keepaliveSettings() (interval, timeout time.Duration, ok bool) {
	interval, timeout = c.PingInterval, c.PingTimeout
	if interval < 0 || timeout < 0 {
		return 0, 0, false
	}
	if interval == 0 {
		interval = DefaultPingInterval
	}
	if timeout == 0 {
		timeout = DefaultPingTimeout
	}
	return interval, timeout, true
}

// keepalive watches a connection's reads with one timer and no goroutine
// of its own: after interval without a byte from the peer it sends a
// PING, and after timeout more without one it closes the connection.
// The reader only stamps the time of each read that brings bytes.
type keepalive struct {
	c                 *Conn
	interval, timeout time.Duration
	start             time.Time    // monotonic origin of the stamps
	lastRead          atomic.Int64 // since start, of the last read that brought bytes
	expired           atomic.Bool  // the keepalive closed the connection

	mu      sync.Mutex
	timer   *time.Timer
	pinged  time.Duration // since start, of the PING outstanding
	waiting bool          // a PING is outstanding
	stopped bool
}

// startKeepalive sets c.ka and starts its timer: under mu, which the
// timer's function takes first, so that it sees both.
func startKeepalive(c *Conn, interval, timeout time.Duration) {
	k := &keepalive{c: c, interval: interval, timeout: timeout, start: time.Now()}
	k.mu.Lock()
	c.ka = k
	k.timer = time.AfterFunc(interval, k.tick)
	k.mu.Unlock()
}

func (k *keepalive) now() time.Duration { return time.Since(k.start) }

// touch records that bytes arrived; the reader calls it.
func (k *keepalive) touch() { k.lastRead.Store(int64(k.now())) }

// tick runs when the timer fires: it looks at what arrived since, and
// sends a PING, closes the connection, or sets the timer again.
func (k *keepalive) tick() {
	k.mu.Lock()
	if k.stopped {
		k.mu.Unlock()
		return
	}
	now, last := k.now(), time.Duration(k.lastRead.Load())
	if k.waiting {
		switch {
		case last >= k.pinged: // the peer is alive
			k.waiting = false
		case now-k.pinged >= k.timeout:
			k.stopped = true
			k.mu.Unlock()
			k.expired.Store(true)
			k.c.Close()
			return
		default:
			// Look again at the timeout, or sooner: an answer means
			// the next PING is due interval after it, not after the
			// timeout.
			k.timer.Reset(min(k.pinged+k.timeout-now, k.interval))
			k.mu.Unlock()
			return
		}
	}
	if idle := now - last; idle < k.interval {
		k.timer.Reset(k.interval - idle)
		k.mu.Unlock()
		return
	}
	k.waiting, k.pinged = true, now
	k.timer.Reset(min(k.timeout, k.interval))
	k.mu.Unlock()
	// A write stuck behind a peer that does not read blocks this tick
	// alone: the next one closes the connection, which unblocks it.
	k.c.write(framePing, nil)
}

// stop ends the keepalive; the connection is closing.
func (k *keepalive) stop() {
	k.mu.Lock()
	k.stopped = true
	k.timer.Stop()
	k.mu.Unlock()
}
