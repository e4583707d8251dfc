package serial

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/wampedge/wampedge/codec"
	"github.com/wampedge/wampedge/rawsocket"
	bug "go.bug.st/serial"
)

// Defaults of a Listener.
const (
	// DefaultFrameTimeout ends a session whose device stops in the middle
	// of a frame for this long.
	DefaultFrameTimeout = 2 * time.Second
	minBackoff          = 100 * time.Millisecond
	maxBackoff          = 5 * time.Second
)

// ListenConfig is a serial listener's settings beyond the line's own.
type ListenConfig struct {
	rawsocket.Config // limits of the sessions; FrameTimeout defaults to DefaultFrameTimeout
	Logger           *slog.Logger
}

// Listener serves RawSocket sessions on one serial device, one session
// at a time: it waits for a handshake on the line, serves the session
// until it ends, then waits for the next handshake. When the device
// goes away it reopens it, with backoff, until it is back.
type Listener struct {
	cfg    Config
	lc     ListenConfig
	log    *slog.Logger
	counts Counts

	state atomic.Int32 // a LineState

	closeOnce sync.Once
	closed    chan struct{}
	mu        sync.Mutex
	port      io.Closer // the device while it is open
}

// Listen prepares a listener for a serial URL (see ParseURL); the device
// is opened by Serve, and need not exist yet.
func Listen(rawURL string, lc ListenConfig) (*Listener, error) {
	cfg, err := ParseURL(rawURL)
	if err != nil {
		return nil, err
	}
	return NewListener(cfg, lc)
}

// NewListener is Listen for a Config.
func NewListener(cfg Config, lc ListenConfig) (*Listener, error) {
	if err := cfg.Check(); err != nil {
		return nil, err
	}
	if lc.FrameTimeout == 0 {
		lc.FrameTimeout = DefaultFrameTimeout
	}
	log := lc.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Listener{cfg: cfg, lc: lc, log: log.With("serial", cfg.Path), closed: make(chan struct{})}, nil
}

func (l *Listener) String() string { return l.cfg.URL() }

// Device is the path of the listener's device.
func (l *Listener) Device() string { return l.cfg.Path }

// LineState is what a listener's line is doing.
type LineState int32

// Line states, in the order LineStates lists them.
const (
	LineAbsent  LineState = iota // the device is not open: not there (yet), or gone; Serve retries
	LineWaiting                  // open, waiting for a RawSocket handshake
	LineSession                  // a session runs on it
	LineClosed                   // the listener is closed
)

// LineStates are every state, for those that show one gauge per state.
var LineStates = []LineState{LineAbsent, LineWaiting, LineSession, LineClosed}

func (s LineState) String() string {
	switch s {
	case LineAbsent:
		return "absent"
	case LineWaiting:
		return "waiting"
	case LineSession:
		return "session"
	}
	return "closed"
}

// State is what the line is doing now; safe to call at any time.
func (l *Listener) State() LineState { return LineState(l.state.Load()) }

func (l *Listener) setState(s LineState) { l.state.Store(int32(s)) }

// Counts are the listener's counters.
func (l *Listener) Counts() *Counts { return &l.counts }

// Serve opens the device and serves sessions on it until Close; handle
// runs each session and returns when it is over.
func (l *Listener) Serve(handle func(*rawsocket.Conn)) error {
	defer l.setState(LineClosed)
	mode, _ := l.cfg.mode()
	backoff := minBackoff
	waiting := false
	for {
		port, err := bug.Open(l.cfg.Path, mode)
		if err != nil {
			if !waiting {
				l.log.Warn("serial device not available; retrying", "err", err)
				waiting = true
			}
			select {
			case <-l.closed:
				return nil
			case <-time.After(backoff):
			}
			backoff = min(2*backoff, maxBackoff)
			continue
		}
		// What the line queued before this open was sent to a router
		// that was not there: a device that retried its handshake
		// meanwhile would get an answer to each, and take the later
		// ones for frames.
		if err := port.ResetInputBuffer(); err != nil {
			l.log.Warn("serial device: discarding stale input failed", "err", err)
		}
		if !l.setPort(port) {
			port.Close()
			return nil
		}
		if waiting || l.counts.Reopens.Load() > 0 {
			l.log.Info("serial device back", "framing", l.framing())
		} else {
			l.log.Info("serial device open; waiting for a RawSocket handshake", "framing", l.framing(), "baud", l.cfg.baud())
		}
		waiting, backoff = false, minBackoff
		ln := newLine(port, l.cfg.Framing, &l.counts)
		err = l.serveLine(ln, handle)
		l.setState(LineAbsent)
		l.setPort(nil)
		port.Close()
		select {
		case <-l.closed:
			return nil
		default:
		}
		l.counts.Reopens.Add(1)
		l.log.Warn("serial device gone; reopening", "err", err)
	}
}

func (l *Listener) framing() Framing {
	if l.cfg.Framing == "" {
		return Plain
	}
	return l.cfg.Framing
}

// setPort records the open device (nil: none); false if closed already.
func (l *Listener) setPort(p io.Closer) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	select {
	case <-l.closed:
		return p == nil
	default:
	}
	l.port = p
	return true
}

// serveLine serves one session after another on an open device, until
// the device fails (its error) or the listener closes (nil).
func (l *Listener) serveLine(ln *line, handle func(*rawsocket.Conn)) error {
	for {
		l.setState(LineWaiting)
		if err := ln.findHandshake(l.closed); err != nil {
			if errors.Is(err, errDetached) {
				return nil
			}
			return err
		}
		s := ln.attach()
		conn, err := rawsocket.Accept(s, l.lc.Config)
		if err != nil { // a refusal was answered; look for the next handshake
			l.log.Info("serial handshake refused", "err", err)
			continue
		}
		l.counts.Sessions.Add(1)
		l.setState(LineSession)
		l.log.Info("serial session starting", "serializer", codec.Serializer(conn.Serializer()).String())
		handle(conn)
		conn.Close()
		ln.unread(conn.Unread())
		if err := ln.failure(); err != nil {
			return err
		}
		l.counts.Resyncs.Add(1)
		l.log.Info("serial session ended; waiting for the next handshake")
	}
}

// findHandshake drops bytes up to the next RawSocket handshake (0x7f, a
// serializer nibble that is not 0, then two zero octets), which stays in
// the buffer for Accept to read. Of several handshakes back to back (a
// device that resent its own while no answer came) only the last is
// answered: an answer to each would reach the device after it had
// moved on, where it expects a frame.
func (ln *line) findHandshake(stop <-chan struct{}) error {
	for {
		ln.mu.Lock()
		i := indexHandshake(ln.buf)
		if i >= 0 {
			for i+8 <= len(ln.buf) && indexHandshake(ln.buf[i+4:i+8]) == 0 {
				i += 4
			}
			ln.counts.Discarded.Add(uint64(i))
			ln.buf = ln.buf[i:]
			ln.mu.Unlock()
			return nil
		}
		if keep := 3; len(ln.buf) > keep { // a handshake may be cut in two
			ln.counts.Discarded.Add(uint64(len(ln.buf) - keep))
			ln.buf = append(ln.buf[:0], ln.buf[len(ln.buf)-keep:]...)
		}
		err := ln.err
		ln.mu.Unlock()
		if err != nil {
			return err
		}
		select {
		case <-ln.notify:
		case <-stop:
			return errDetached
		}
	}
}

func indexHandshake(b []byte) int {
	for i := 0; i+4 <= len(b); i++ {
		if b[i] == rawsocket.Magic && b[i+1]&0x0f != 0 && b[i+2] == 0 && b[i+3] == 0 {
			return i
		}
	}
	return -1
}

// Close stops the listener. A session in progress ends when its owner
// closes it (the router's shutdown does); then the device is closed.
func (l *Listener) Close() error {
	l.closeOnce.Do(func() { close(l.closed) })
	return nil
}

// Dial opens a serial device and runs the client's side of the RawSocket
// handshake on it, for wampcat and Go programs on a laptop with a
// USB-serial adapter. Closing the connection closes the device.
func Dial(rawURL string, s codec.Serializer, rc rawsocket.Config) (*rawsocket.Conn, error) {
	cfg, err := ParseURL(rawURL)
	if err != nil {
		return nil, err
	}
	mode, _ := cfg.mode()
	port, err := bug.Open(cfg.Path, mode)
	if err != nil {
		return nil, fmt.Errorf("serial: %s: %w", cfg.Path, err)
	}
	ln := newLine(port, cfg.Framing, new(Counts))
	conn, err := rawsocket.Connect(&owned{ln.attach(), port}, s, rc)
	if err != nil {
		port.Close()
		return nil, err
	}
	return conn, nil
}

// owned is a session that owns its device: closing it closes the device.
type owned struct {
	*session
	port io.Closer
}

func (o *owned) Close() error {
	o.session.Close()
	return o.port.Close()
}
