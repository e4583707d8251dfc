package serial

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// line is an open serial device. A pump goroutine reads it for as long
// as it is open, whoever is listening: the bytes wait in buf (decoded,
// with COBS framing) for the session of the moment, or for the search of
// the next handshake. So a session ends without closing the device (a
// USB-serial board would reset on the DTR drop), and bytes that followed
// a broken frame are still there to be searched.
type line struct {
	port    io.ReadWriteCloser
	framing Framing
	counts  *Counts

	wmu  sync.Mutex // one writer at a time on the device
	wbuf []byte

	mu     sync.Mutex
	buf    []byte // bytes for the reader, in order (COBS packets decoded)
	packet []byte // COBS: the bytes of a packet not yet ended by 0x00
	err    error  // why the pump stopped: the device is gone
	notify chan struct{}
}

// Counts are a line's counters, safe to read at any time.
type Counts struct {
	Sessions       atomic.Uint64 // handshakes accepted
	Resyncs        atomic.Uint64 // sessions ended (GOODBYE, a broken frame, a codec error, silence mid-frame), after which the line waits for a handshake again
	Discarded      atomic.Uint64 // bytes skipped while looking for a handshake
	DroppedPackets atomic.Uint64 // COBS packets dropped for a bad CRC or encoding
	Reopens        atomic.Uint64 // times the device was opened again after it went away
}

func newLine(port io.ReadWriteCloser, framing Framing, counts *Counts) *line {
	l := &line{port: port, framing: framing, counts: counts, notify: make(chan struct{}, 1)}
	go l.pump()
	return l
}

func (l *line) pump() {
	chunk := make([]byte, 4096)
	for {
		n, err := l.port.Read(chunk)
		l.mu.Lock()
		if n > 0 {
			l.feedLocked(chunk[:n])
		}
		if err != nil {
			l.err = err
		}
		l.mu.Unlock()
		if n > 0 || err != nil {
			l.wake()
		}
		if err != nil {
			return
		}
	}
}

func (l *line) wake() {
	select {
	case l.notify <- struct{}{}:
	default:
	}
}

// feedLocked takes bytes from the device: as they are, or with COBS
// framing, as the data of each packet whose CRC holds.
func (l *line) feedLocked(b []byte) {
	if l.framing != COBS {
		l.buf = append(l.buf, b...)
		return
	}
	for len(b) > 0 {
		i := bytes.IndexByte(b, 0)
		if i < 0 {
			l.packet = append(l.packet, b...)
			if len(l.packet) > maxPacket { // no delimiter in sight: noise
				l.packet = l.packet[:0]
				l.counts.DroppedPackets.Add(1)
			}
			return
		}
		l.packet = append(l.packet, b[:i]...)
		b = b[i+1:]
		if len(l.packet) == 0 {
			continue // a lone delimiter: firmware may send one to resynchronise
		}
		data, err := decodePacket(l.packet)
		if err != nil {
			l.counts.DroppedPackets.Add(1)
		} else {
			l.buf = append(l.buf, data...)
		}
		l.packet = l.packet[:0]
	}
}

// maxPacket bounds a COBS packet: the largest frame plus its overhead.
const maxPacket = 4 + 16<<20 + 2 + (16<<20)/254 + 2

// unread puts bytes back in front of what the line holds: what a session
// had read but not used when it ended.
func (l *line) unread(b []byte) {
	if len(b) == 0 {
		return
	}
	l.mu.Lock()
	l.buf = append(append([]byte(nil), b...), l.buf...)
	l.mu.Unlock()
}

// failure is the error that stopped the pump, if any.
func (l *line) failure() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.err
}

// write sends a handshake reply or RawSocket frames: as they are, or each
// in a COBS packet of its own.
func (l *line) write(p []byte) (int, error) {
	l.wmu.Lock()
	defer l.wmu.Unlock()
	out := p
	if l.framing == COBS {
		l.wbuf = l.wbuf[:0]
		rest := p
		for len(rest) > 0 {
			n := packetLen(rest)
			l.wbuf = appendPacket(l.wbuf, rest[:n])
			rest = rest[n:]
		}
		out = l.wbuf
	}
	// A tty write can be cut short (a signal while it waits for room:
	// the Go runtime's preemption signals do it), and the serial
	// package's Write does not go on: write the rest, or the peer gets
	// part of a frame and the line loses its framing.
	for len(out) > 0 {
		n, err := l.port.Write(out)
		if err != nil {
			return 0, err
		}
		if n == 0 {
			return 0, io.ErrShortWrite
		}
		out = out[n:]
	}
	if cap(l.wbuf) > 64<<10 {
		l.wbuf = nil
	}
	return len(p), nil
}

// packetLen is how much of p goes in one COBS packet: a handshake reply
// (which starts with 0x7f, a byte no frame header starts with) or one
// whole frame.
func packetLen(p []byte) int {
	if len(p) < 4 || p[0] == 0x7f {
		return min(len(p), 4)
	}
	n := 4 + int(binary.BigEndian.Uint32(p)&0xffffff)
	if p[0]&0x08 != 0 {
		n = 4 + 1<<24
	}
	return min(n, len(p))
}

// take waits for bytes and moves up to len(p) of them into p. It gives
// up when stop is closed, at the deadline (os.ErrDeadlineExceeded), or
// when the device is gone.
func (l *line) take(p []byte, stop <-chan struct{}, deadline time.Time) (int, error) {
	var timer *time.Timer
	var timeout <-chan time.Time
	for {
		l.mu.Lock()
		if len(l.buf) > 0 {
			n := copy(p, l.buf)
			l.buf = l.buf[n:]
			if len(l.buf) == 0 {
				l.buf = nil // let a large burst's memory go
			}
			l.mu.Unlock()
			if timer != nil {
				timer.Stop()
			}
			return n, nil
		}
		err := l.err
		l.mu.Unlock()
		if err != nil {
			return 0, err
		}
		if !deadline.IsZero() && timer == nil {
			d := time.Until(deadline)
			if d <= 0 {
				return 0, os.ErrDeadlineExceeded
			}
			timer = time.NewTimer(d)
			timeout = timer.C
		}
		select {
		case <-l.notify:
		case <-stop:
			if timer != nil {
				timer.Stop()
			}
			return 0, errDetached
		case <-timeout:
			return 0, os.ErrDeadlineExceeded
		}
	}
}

var errDetached = errors.New("serial: session ended")

// session is what one RawSocket session reads and writes: the line,
// until Close detaches it (the device stays open for the next one).
type session struct {
	l        *line
	stop     chan struct{}
	once     sync.Once
	deadline time.Time // only the session's reader touches it
}

func (l *line) attach() *session { return &session{l: l, stop: make(chan struct{})} }

func (s *session) Read(p []byte) (int, error)  { return s.l.take(p, s.stop, s.deadline) }
func (s *session) Write(p []byte) (int, error) { return s.l.write(p) }

// SetReadDeadline bounds the wait of the reads that follow (the RawSocket
// frame timeout uses it).
func (s *session) SetReadDeadline(t time.Time) error { s.deadline = t; return nil }

// SetDeadline bounds reads (the RawSocket handshake timeout uses it);
// writes to a serial device do not wait on the peer.
func (s *session) SetDeadline(t time.Time) error { return s.SetReadDeadline(t) }

// Close detaches the session from the line; a blocked Read returns.
func (s *session) Close() error {
	s.once.Do(func() { close(s.stop) })
	return nil
}
