package rawsocket

import (
	"crypto/tls"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/wampedge/wampedge/codec"
)

// Frame types in the header's TTT bits (WAMP.md §6.2).
const (
	frameMessage = 0
	framePing    = 1
	framePong    = 2
)

var (
	// ErrFrameTooLarge: the peer sent a frame over the limit announced
	// to it. The connection can no longer be trusted and must be closed.
	ErrFrameTooLarge = errors.New("rawsocket: frame too large")
	// ErrBadFrame: a frame header with reserved bits or a reserved type.
	ErrBadFrame = errors.New("rawsocket: frame header uses reserved bits or type")
	// ErrMsgTooLarge: a message to send is over the peer's limit. Nothing
	// was sent; the connection stays usable.
	ErrMsgTooLarge = errors.New("rawsocket: message larger than the peer accepts")
	// ErrFrameTimeout: the peer went silent in the middle of a frame for
	// longer than Config.FrameTimeout.
	ErrFrameTimeout = errors.New("rawsocket: peer silent in the middle of a frame")
	// ErrClosed: the connection was closed by this side.
	ErrClosed = errors.New("rawsocket: connection closed")
)

// Read buffer sizes: a connection starts with a small buffer and grows it
// for a frame that needs it, or, up to streamBuffer, while reads keep
// filling it (a busy publisher: fewer, larger reads). Once such a frame
// is done a buffer over shrinkOver goes back to the start size, and a
// stream buffer does when the reads dwindle, so an idle session holds
// little memory whatever it received once.
const (
	startBuffer  = 1 << 10
	streamBuffer = 64 << 10
	shrinkOver   = 64 << 10
	shrinkAfter  = 16
)

// Conn is one RawSocket connection after its handshake: whole WAMP
// messages in, whole messages out.
//
// ReadMsg must be called from one goroutine at a time. WriteMsg,
// WriteMsgs and Close may be called concurrently with each other and
// with ReadMsg.
type Conn struct {
	rw         io.ReadWriter
	serializer codec.Serializer
	recvMax    int // announced by this side: the peer's frames may not exceed it
	sendMax    int // announced by the peer

	rbuf []byte // read buffer; rbuf[r:w] is read but not yet parsed
	r, w int
	// ready is the length, header included, of the whole message frame
	// that Buffered found at rbuf[r:], for ReadMsg to take without
	// parsing its header again; 0 when none is known.
	ready int

	frameTimeout time.Duration
	idle         time.Duration // SetIdle's; 0: ReadMsg never returns ErrIdle
	idleAt       time.Time     // the idle deadline armed
	deadline     deadline      // which read deadline is armed
	readable     func()        // Park's
	parkedFD     int32         // the descriptor in the poller's set, or -1
	kept         atomic.Bool   // parked once: the handler that returns does not close it
	onClose      func()        // the listener's, once
	lastRead     int           // bytes the last read brought, of what it could
	lastRoom     int
	reads        int           // reads since the buffer last changed size, up to shrinkAfter
	largestRead  int           // the most one of them brought
	ka           *keepalive    // the router's PINGs to a silent peer; nil: none
	received     atomic.Uint64 // bytes read after the handshake; written by the reader alone

	wmu     sync.Mutex
	wbuf    []byte        // frames being written, header and body together (under wmu)
	wsent   int           // wbuf[:wsent] is sent; the rest waits for the next write
	written atomic.Uint64 // bytes written after the handshake; written under wmu
	closed  atomic.Bool

	// A socket's writes that do not wait (TryWriteMsgs); nil when rw is
	// not a socket. rawWrite is made once: a closure per write would be
	// an allocation per write.
	raw      syscall.RawConn
	rawWrite func(fd uintptr) bool
	rawErr   error
}

func newConn(rw io.ReadWriter, s codec.Serializer, recvMax, sendMax int) *Conn {
	c := &Conn{rw: rw, serializer: s, recvMax: recvMax, sendMax: sendMax, parkedFD: -1}
	c.raw = rawConn(rw)
	if c.raw != nil {
		c.rawWrite = c.writeSome
	}
	return c
}

// Bytes reports the bytes read and written on the connection since the
// handshake, frame headers included; safe to call at any time.
func (c *Conn) Bytes() (received, sent uint64) { return c.received.Load(), c.written.Load() }

// Serializer is the serializer the handshake agreed on.
func (c *Conn) Serializer() codec.Serializer { return c.serializer }

// MaxRecv is the largest message this side accepts; MaxSend the largest
// the peer accepts.
func (c *Conn) MaxRecv() int { return c.recvMax }
func (c *Conn) MaxSend() int { return c.sendMax }

// TLS is the state of a TLS connection (after its handshake), or nil.
func (c *Conn) TLS() *tls.ConnectionState {
	tc, ok := c.rw.(*tls.Conn)
	if !ok {
		return nil
	}
	st := tc.ConnectionState()
	return &st
}

// RemoteAddr is the peer's address, or nil when the connection is not a
// network connection.
func (c *Conn) RemoteAddr() net.Addr {
	if nc, ok := c.rw.(net.Conn); ok {
		return nc.RemoteAddr()
	}
	return nil
}

// ReadMsg returns the next WAMP message. The slice aliases the read
// buffer and is valid until the next ReadMsg. PINGs are answered with
// PONGs carrying the same payload, and PONGs are dropped, on the way.
// A zero-length message is returned as it is: the codec rejects it.
// Any error leaves the connection unusable; the caller closes it.
func (c *Conn) ReadMsg() ([]byte, error) {
	if total := c.ready; total > 0 {
		frame := c.rbuf[c.r+4 : c.r+total : c.r+total]
		c.r, c.ready = c.r+total, 0
		return frame, nil
	}
	if c.r == c.w && cap(c.rbuf) > shrinkOver {
		c.rbuf, c.r, c.w, c.lastRoom = nil, 0, 0, 0
	}
	for {
		if c.w-c.r >= 4 {
			typ, n, err := c.parseHeader(c.rbuf[c.r : c.r+4])
			if err != nil {
				return nil, err
			}
			if c.w-c.r >= 4+n {
				frame := c.rbuf[c.r+4 : c.r+4+n : c.r+4+n]
				c.r += 4 + n
				switch typ {
				case frameMessage:
					return frame, nil
				case framePing:
					// A PING the peer could not take back as a PONG goes
					// unanswered rather than ending the connection.
					if err := c.write(framePong, frame); err != nil && err != ErrMsgTooLarge {
						return nil, err
					}
				}
				continue
			}
			c.reserve(4 + n)
		} else {
			c.reserve(4)
		}
		if err := c.fill(); err != nil {
			return nil, err
		}
	}
}

// Buffered reports whether a whole message is already in the read
// buffer (or a header that ReadMsg rejects), so that the next ReadMsg
// returns without waiting. PINGs and PONGs before it do not count. A
// router routes all it has read before it wakes the writers it queued
// messages for.
func (c *Conn) Buffered() bool {
	for r := c.r; c.w-r >= 4; {
		typ, n, err := c.parseHeader(c.rbuf[r : r+4])
		if err != nil {
			return true
		}
		if c.w-r < 4+n {
			return false
		}
		if typ == frameMessage {
			if r == c.r {
				c.ready = 4 + n
			}
			return true
		}
		r += 4 + n
	}
	return false
}

func (c *Conn) parseHeader(h []byte) (typ byte, n int, err error) {
	v := binary.BigEndian.Uint32(h)
	typ = byte(v>>24) & 0x07
	if v>>28 != 0 || typ > framePong {
		return 0, 0, ErrBadFrame
	}
	n = int(v & 0xffffff)
	if v&(1<<27) != 0 { // the X bit: exactly 2^24, the 24 L bits all 0
		if n != 0 {
			return 0, 0, ErrBadFrame
		}
		n = MaxLength
	}
	if n > c.recvMax {
		return 0, 0, fmt.Errorf("%w: %d bytes, limit %d", ErrFrameTooLarge, n, c.recvMax)
	}
	return typ, n, nil
}

// reserve makes room to read the rest of a frame of need bytes (header
// included) that starts at the unparsed data: it moves that data to the
// front of the buffer, or grows the buffer, doubling it only when it is
// full. The buffer follows the bytes that arrive, not the length a header
// announces: a peer that sends a header for 16 MiB and stops costs 4 KiB.
func (c *Conn) reserve(need int) {
	if c.r+need <= cap(c.rbuf) && c.w < cap(c.rbuf) {
		return
	}
	if c.r > 0 {
		c.w = copy(c.rbuf[:cap(c.rbuf)], c.rbuf[c.r:c.w])
		c.r = 0
	}
	if c.w < cap(c.rbuf) {
		return
	}
	size := min(max(startBuffer, 2*cap(c.rbuf)), 4+c.recvMax)
	if size >= need/2 && size < need { // the last doubling: just what the frame needs
		size = need
	}
	buf := make([]byte, size)
	c.w = copy(buf, c.rbuf[c.r:c.w])
	c.r, c.rbuf, c.lastRoom = 0, buf, 0 // a frame's size, not a stream's
}

// fill reads as much as the buffer holds: a burst of small frames comes
// in with one read, and all of it is parsed before the next.
func (c *Conn) fill() error {
	c.armDeadline()
	c.resizeForStream()
	c.rbuf = c.rbuf[:cap(c.rbuf)]
	// Read into the whole buffer, not the end the last frames left:
	// moving the start of a frame is cheaper than a read that comes back
	// short of room (and so a buffer grown for no burst).
	if c.r > 0 && len(c.rbuf)-c.w < len(c.rbuf)/2 {
		c.w = copy(c.rbuf, c.rbuf[c.r:c.w])
		c.r = 0
	}
	n, err := c.rw.Read(c.rbuf[c.w:])
	c.lastRead, c.lastRoom = n, len(c.rbuf)-c.w
	c.w += n
	if n > 0 {
		c.received.Add(uint64(n))
		if c.ka != nil {
			c.ka.touch()
		}
		return nil
	}
	if c.ka != nil && c.ka.expired.Load() {
		return ErrPingTimeout
	}
	if derr := c.deadlineError(err); derr != nil {
		return derr
	}
	if err == nil {
		err = io.ErrNoProgress
	}
	return err
}

// resizeForStream doubles the buffer, up to streamBuffer, after a read
// that filled it. Every shrinkAfter reads it takes a stream buffer down
// to twice the largest of them (at least the start size) when that is a
// quarter of it or less: a buffer follows what the reads bring, not one
// lull between waves, which would make it drop and grow again and again.
// What is unparsed (the start of a frame) moves along.
func (c *Conn) resizeForStream() {
	if c.lastRoom == 0 {
		return
	}
	size, pending := cap(c.rbuf), c.w-c.r
	switch {
	case c.lastRead == c.lastRoom && c.lastRoom >= size/2 && size < streamBuffer:
		size = min(2*size, streamBuffer)
	case size <= startBuffer || size > streamBuffer:
		return
	default:
		c.largestRead = max(c.largestRead, c.lastRead)
		if c.reads++; c.reads < shrinkAfter {
			return
		}
		target := startBuffer
		for target < 2*c.largestRead {
			target *= 2
		}
		c.reads, c.largestRead = 0, 0
		if target > size/4 || pending > target/2 {
			return
		}
		size = target
	}
	c.reads, c.largestRead = 0, 0
	buf := make([]byte, size)
	c.rbuf, c.r, c.w, c.lastRoom = buf, 0, copy(buf, c.rbuf[c.r:c.w]), 0
}

// Unread returns the bytes read from the peer but not handed out by
// ReadMsg: after a framing error, where a serial line looks for the next
// handshake. Valid until the next ReadMsg.
func (c *Conn) Unread() []byte { return c.rbuf[c.r:c.w] }

// WriteMsg sends one message, header and body in one write.
func (c *Conn) WriteMsg(msg []byte) error { return c.write(frameMessage, msg) }

// WriteMsgs sends several messages in one write, after what an earlier
// TryWriteMsgs left; with no messages it sends only that. If any is over
// the peer's limit, none is sent and the error is ErrMsgTooLarge.
func (c *Conn) WriteMsgs(msgs [][]byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if err := c.appendMsgs(msgs); err != nil {
		return err
	}
	return c.flushLocked()
}

// TryWriteMsgs is WriteMsgs that does not wait, so that a router can
// write to a peer from the goroutine that routed the messages instead of
// waking another: it returns how many of msgs it took, 0 when it cannot
// write without waiting (the connection is not a socket, or another
// write is under way). Of what it took, what the socket does not accept
// at once stays with the connection, which reports flush: the next
// WriteMsgs sends it first.
func (c *Conn) TryWriteMsgs(msgs [][]byte) (taken int, flush bool, err error) {
	if c.raw == nil || !c.wmu.TryLock() {
		return 0, false, nil
	}
	defer c.wmu.Unlock()
	if err := c.appendMsgs(msgs); err != nil {
		return 0, false, err
	}
	if c.closed.Load() {
		return len(msgs), false, ErrClosed
	}
	c.rawErr = nil
	if err := c.raw.Write(c.rawWrite); err != nil {
		return len(msgs), false, err
	}
	if c.rawErr != nil {
		return len(msgs), false, c.rawErr
	}
	if c.wsent < len(c.wbuf) {
		return len(msgs), true, nil
	}
	c.sent()
	return len(msgs), false, nil
}

// writeSome writes what the socket takes now of the frames not yet sent;
// it runs under wmu, inside raw.Write, and never asks to wait.
func (c *Conn) writeSome(fd uintptr) bool {
	for c.wsent < len(c.wbuf) {
		n, err := writeFD(fd, c.wbuf[c.wsent:])
		if n > 0 {
			c.wsent += n
			c.written.Add(uint64(n))
		}
		switch {
		case err == errInterrupted:
			continue
		case err == errWouldBlock:
			return true
		case err != nil:
			c.rawErr = err
			return true
		case n <= 0:
			c.rawErr = io.ErrShortWrite
			return true
		}
	}
	return true
}

// appendMsgs adds msgs as frames after those not yet sent, or none if
// any is over the peer's limit.
func (c *Conn) appendMsgs(msgs [][]byte) error {
	for _, m := range msgs {
		if len(m) > c.sendMax {
			return ErrMsgTooLarge
		}
	}
	for _, m := range msgs {
		c.wbuf = appendFrame(c.wbuf, frameMessage, m)
	}
	return nil
}

// Ping sends a PING; the peer answers with a PONG that ReadMsg drops.
func (c *Conn) Ping(payload []byte) error { return c.write(framePing, payload) }

func (c *Conn) write(typ byte, body []byte) error {
	if len(body) > c.sendMax {
		return ErrMsgTooLarge
	}
	c.wmu.Lock()
	defer c.wmu.Unlock()
	c.wbuf = appendFrame(c.wbuf, typ, body)
	return c.flushLocked()
}

// flushLocked writes, waiting as long as it takes, every frame not yet
// sent.
func (c *Conn) flushLocked() error {
	if c.closed.Load() {
		return ErrClosed
	}
	if c.wsent == len(c.wbuf) {
		c.sent()
		return nil
	}
	n, err := c.rw.Write(c.wbuf[c.wsent:])
	c.wsent += n
	c.written.Add(uint64(n))
	if err == nil {
		c.sent()
	}
	return err
}

// sent empties the write buffer once all of it is sent, and lets go of
// a large one once the burst that grew it is over.
func (c *Conn) sent() {
	if cap(c.wbuf) > shrinkOver && len(c.wbuf) < shrinkOver/4 {
		c.wbuf = nil
	}
	c.wbuf, c.wsent = c.wbuf[:0], 0
}

// appendFrame appends a frame header and body.
func appendFrame(b []byte, typ byte, body []byte) []byte {
	n := uint32(len(body))
	if n == MaxLength {
		n = 1 << 27 // the X bit stands for 2^24
	}
	b = binary.BigEndian.AppendUint32(b, uint32(typ)<<24|n)
	return append(b, body...)
}

// Close closes the underlying connection if it can be closed; a blocked
// ReadMsg returns with an error.
func (c *Conn) Close() error {
	// No lock: a writer blocked on a stuck peer holds wmu, and closing
	// the connection under it is what unblocks that writer.
	if c.closed.Swap(true) {
		return nil
	}
	return c.shut()
}

// abortLinger is how long Abort gives a peer to read the last message
// once the socket took it: enough for a peer that reads at all, short
// enough that one that does not holds no kernel memory for long.
const abortLinger = 250 * time.Millisecond

// Abort ends the connection of a peer that does not read (a slow
// consumer cut off) so that the kernel drops at once what is still
// unsent: over TCP a reset (SO_LINGER 0), not a close that keeps the
// unsent bytes in FIN-WAIT-1 for minutes, on a board whose memory the
// queue limit was there to protect. First, as a best effort that never
// waits, it writes last (an ABORT) if it fits in the socket buffer at a
// frame boundary; then the peer has up to abortLinger to read it before
// the reset.
func (c *Conn) Abort(last []byte) error {
	if c.raw == nil || !c.wmu.TryLock() { // a writer is stuck in a write: the socket is full
		noLinger(c.rw)
		return c.Close()
	}
	took := !c.closed.Load() && c.writeLast(last)
	first := !c.closed.Swap(true) // under wmu: no frame goes after last
	c.wmu.Unlock()
	if !first {
		return nil
	}
	if !took {
		noLinger(c.rw)
		return c.shut()
	}
	go func() {
		if !c.awaitSent(abortLinger) {
			noLinger(c.rw)
		}
		c.shut() // a plain close when the peer has it all: nothing is left to keep
	}()
	return nil
}

// awaitSent waits, for at most d, until the peer has acknowledged all
// that was written, and reports whether it did.
func (c *Conn) awaitSent(d time.Duration) bool {
	for end := time.Now().Add(d); ; time.Sleep(5 * time.Millisecond) {
		if n, ok := unsent(c.raw); !ok || n == 0 {
			return ok
		}
		if time.Now().After(end) {
			return false
		}
	}
}

// writeLast writes last without waiting, under wmu, and reports whether
// the socket took all of it. It writes nothing behind a frame not yet
// sent whole: that is what a full socket leaves, and last would not fit.
func (c *Conn) writeLast(last []byte) bool {
	if c.wsent != len(c.wbuf) || len(last) > c.sendMax {
		return false
	}
	c.wbuf, c.wsent = appendFrame(c.wbuf[:0], frameMessage, last), 0
	c.rawErr = nil
	if err := c.raw.Write(c.rawWrite); err != nil || c.rawErr != nil {
		return false
	}
	return c.wsent == len(c.wbuf)
}

// noLinger makes closing a TCP connection (TLS over one too) a reset.
func noLinger(rw io.ReadWriter) {
	if tc, ok := rw.(*tls.Conn); ok {
		rw = tc.NetConn()
	}
	if tcp, ok := rw.(*net.TCPConn); ok {
		tcp.SetLinger(0)
	}
}

// shut releases the connection once closed is set.
func (c *Conn) shut() error {
	closes.Add(1)
	signalRelease()
	if c.ka != nil {
		c.ka.stop()
	}
	if c.raw != nil {
		unpark(c) // before the descriptor closes: its number may be reused
	}
	if c.onClose != nil {
		c.onClose() // first: a peer that sees the close may dial again at once
	}
	if cl, ok := c.rw.(io.Closer); ok {
		return cl.Close()
	}
	return nil
}
