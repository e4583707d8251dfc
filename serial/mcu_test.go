package serial_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/wampedge/wampedge/edge/client"
	"github.com/wampedge/wampedge/rawsocket"
	"github.com/wampedge/wampedge/serial"
)

// ---------------------------------------------------------------------
// The microcontroller.
//
// mcu is a WAMP client written the way firmware on a small board would
// be: fixed buffers, MessagePack written byte by byte, its own RawSocket
// handshake and frame headers, with ?framing=cobs its own COBS and
// CRC-16, and a parser that reads only what it needs of a reply (the
// type code, the request or invocation ID, the first argument). It
// shares no code with the codec, rawsocket or serial packages, so the
// tests check the router against the contract in the README, not against
// itself.
// ---------------------------------------------------------------------

// WAMP message type codes (WAMP.md §1.2).
const (
	wHello        = 1
	wWelcome      = 2
	wAbort        = 3
	wGoodbye      = 6
	wError        = 8
	wPublish      = 16
	wPublished    = 17
	wSubscribe    = 32
	wSubscribed   = 33
	wEvent        = 36
	wCall         = 48
	wResult       = 50
	wRegister     = 64
	wRegistered   = 65
	wInvocation   = 68
	wYield        = 70
	handshakeSize = 4
)

// port is the MCU's UART: the pty master, or a TCP connection for the
// benchmark's comparison.
type port interface {
	io.ReadWriter
	SetReadDeadline(time.Time) error
}

// errLost: the MCU considers its session gone (no reply in time, an
// ABORT or GOODBYE, a frame it cannot make sense of) and must handshake
// again.
var errLost = errors.New("mcu: session lost")

// wampError is an ERROR answering one of the MCU's requests: the
// session is alive.
type wampError struct{ uri string }

func (e *wampError) Error() string { return "mcu: ERROR " + e.uri }

type mcu struct {
	uart port      // reads, with deadlines; writes when out is nil
	out  io.Writer // writes: the UART, or a noisy line in front of it
	cobs bool

	// Receiving: the bytes off the line (with COBS, the data of each
	// packet whose CRC holds), not yet parsed, are in[r:w].
	in         [4096]byte
	r, w       int
	pkt        [4200]byte // COBS: the packet being received, up to its 0x00
	np         int
	badPackets int // COBS packets received that failed (noise towards the MCU)

	// Sending: a message is built in tx[4:n], behind room for its frame
	// header; with COBS the frame goes out as a packet built in wire.
	tx   [512]byte
	n    int
	over bool // a message did not fit in tx: a bug in the test
	wire [600]byte

	routerMax   int    // the largest message the router accepts (its handshake)
	session     uint64 // from WELCOME
	req         uint64 // the last request ID used
	framesSent  int
	handshakes  int
	events      int
	invocations int

	onEvent func(m *wmsg) // nil: counted only
	// onInvocation answers an INVOCATION; nil answers YIELD [arg+1].
	onInvocation func(m *wmsg)
}

func newMCU(uart port, out io.Writer, cobs bool) *mcu {
	if out == nil {
		out = uart
	}
	return &mcu{uart: uart, out: out, cobs: cobs}
}

// --- sending -----------------------------------------------------------

// emit writes a handshake or a frame: as it is, or as
// COBS(data ‖ CRC-16/CCITT-FALSE(data), high byte first) 0x00.
func (m *mcu) emit(data []byte) error {
	out := data
	if m.cobs {
		out = m.wire[:packetInto(m.wire[:], data)]
	}
	_, err := m.out.Write(out)
	return err
}

func (m *mcu) sendHandshake() error {
	m.handshakes++
	// 7F: magic; F2: "up to 2^(9+15) bytes", serializer 2 (MessagePack).
	return m.emit([]byte{0x7f, 0xf2, 0x00, 0x00})
}

// begin starts a message in tx, behind the room for its header.
func (m *mcu) begin() { m.n = 4 }

func (m *mcu) put(b ...byte) {
	if m.n+len(b) > len(m.tx) {
		m.over = true
		return
	}
	m.n += copy(m.tx[m.n:], b)
}

// MessagePack, the few forms the MCU writes.
func (m *mcu) array(n int) { m.put(0x90 | byte(n)) } // fixarray, n < 16
func (m *mcu) dict(n int)  { m.put(0x80 | byte(n)) } // fixmap, n < 16

func (m *mcu) uint(v uint64) {
	switch {
	case v < 0x80:
		m.put(byte(v))
	case v <= 0xff:
		m.put(0xcc, byte(v))
	case v <= 0xffff:
		m.put(0xcd, byte(v>>8), byte(v))
	case v <= 0xffffffff:
		m.put(0xce, byte(v>>24), byte(v>>16), byte(v>>8), byte(v))
	default:
		m.put(0xcf, byte(v>>56), byte(v>>48), byte(v>>40), byte(v>>32), byte(v>>24), byte(v>>16), byte(v>>8), byte(v))
	}
}

func (m *mcu) str(s string) {
	switch {
	case len(s) < 32:
		m.put(0xa0 | byte(len(s)))
	case len(s) < 256:
		m.put(0xd9, byte(len(s)))
	default:
		m.put(0xda, byte(len(s)>>8), byte(len(s)))
	}
	for i := 0; i < len(s); i++ {
		m.put(s[i])
	}
}

// send puts the frame header in front of the message and writes it:
// 00 (a message frame), then the length in 24 bits, big-endian.
func (m *mcu) send() error {
	if m.over {
		panic("mcu: message larger than the transmit buffer")
	}
	l := m.n - 4
	m.tx[0], m.tx[1], m.tx[2], m.tx[3] = 0, byte(l>>16), byte(l>>8), byte(l)
	m.framesSent++
	return m.emit(m.tx[:m.n])
}

func (m *mcu) nextReq() uint64 { m.req++; return m.req }

// HELLO [1, realm, {"roles": {role: {}, ...}}]
func (m *mcu) sendHello(realm string, roles ...string) error {
	m.begin()
	m.array(3)
	m.uint(wHello)
	m.str(realm)
	m.dict(1)
	m.str("roles")
	m.dict(len(roles))
	for _, r := range roles {
		m.str(r)
		m.dict(0)
	}
	return m.send()
}

// SUBSCRIBE [32, req, {}, topic]; REGISTER [64, req, {}, procedure]
func (m *mcu) sendURI(typ byte, req uint64, uri string) error {
	m.begin()
	m.array(4)
	m.uint(uint64(typ))
	m.uint(req)
	m.dict(0)
	m.str(uri)
	return m.send()
}

// PUBLISH [16, req, {} or {"acknowledge": true}, topic, [n]]
func (m *mcu) sendPublish(req uint64, topic string, n uint64, ack bool) error {
	m.begin()
	m.array(5)
	m.uint(wPublish)
	m.uint(req)
	if ack {
		m.dict(1)
		m.str("acknowledge")
		m.put(0xc3) // true
	} else {
		m.dict(0)
	}
	m.str(topic)
	m.array(1)
	m.uint(n)
	return m.send()
}

// CALL [48, req, {}, procedure, [n]]
func (m *mcu) sendCall(req uint64, procedure string, n uint64) error {
	m.begin()
	m.array(5)
	m.uint(wCall)
	m.uint(req)
	m.dict(0)
	m.str(procedure)
	m.array(1)
	m.uint(n)
	return m.send()
}

// YIELD [70, invocation, {}, [n]]
func (m *mcu) sendYield(inv, n uint64) error {
	m.begin()
	m.array(4)
	m.uint(wYield)
	m.uint(inv)
	m.dict(0)
	m.array(1)
	m.uint(n)
	return m.send()
}

// GOODBYE [6, {}, "wamp.close.close_realm"]
func (m *mcu) sendGoodbye() error {
	m.begin()
	m.array(3)
	m.uint(wGoodbye)
	m.dict(0)
	m.str("wamp.close.close_realm")
	return m.send()
}

// --- receiving ---------------------------------------------------------

// fill waits until the deadline for bytes from the line and adds them to
// in: as they are, or the data of each COBS packet they complete.
func (m *mcu) fill(until time.Time) error {
	if m.r > 0 {
		m.w = copy(m.in[:], m.in[m.r:m.w])
		m.r = 0
	}
	if m.w == len(m.in) {
		return fmt.Errorf("%w: receive buffer full", errLost)
	}
	m.uart.SetReadDeadline(until)
	if !m.cobs {
		n, err := m.uart.Read(m.in[m.w:])
		m.w += n
		if n > 0 {
			return nil
		}
		return err
	}
	var chunk [512]byte
	n, err := m.uart.Read(chunk[:])
	for _, c := range chunk[:n] {
		if c != 0 {
			if m.np == len(m.pkt) { // no delimiter in sight: noise
				m.np = 0
				m.badPackets++
			}
			m.pkt[m.np] = c
			m.np++
			continue
		}
		if m.np == 0 {
			continue // a lone delimiter
		}
		data, ok := unpacket(m.pkt[:m.np])
		m.np = 0
		if !ok {
			m.badPackets++
			continue
		}
		if m.w+len(data) > len(m.in) {
			return fmt.Errorf("%w: receive buffer full", errLost)
		}
		m.w += copy(m.in[m.w:], data)
	}
	if n > 0 {
		return nil
	}
	return err
}

// flush forgets whatever was received: before a new handshake.
func (m *mcu) flush() { m.r, m.w, m.np = 0, 0, 0 }

// quiet reads and drops everything for d, sending nothing: the pause
// before a new handshake, long enough for the router to time out a
// frame it holds part of.
func (m *mcu) quiet(d time.Duration) {
	until := deadline(d)
	for range 10000 {
		if err := m.fill(until); err != nil && !errors.Is(err, errLost) {
			break
		}
		m.flush()
	}
	m.flush()
}

// handshake sends the handshake and waits for the router's answer,
// dropping anything before it (the tail of an earlier session).
func (m *mcu) handshake(until time.Time) error {
	m.flush()
	if err := m.sendHandshake(); err != nil {
		return err
	}
	for {
		for ; m.w-m.r >= handshakeSize; m.r++ {
			h := m.in[m.r : m.r+4]
			if h[0] != 0x7f || h[2] != 0 || h[3] != 0 {
				continue
			}
			m.r += 4
			switch {
			case h[1]&0x0f == 0:
				return fmt.Errorf("mcu: handshake refused, error %d", h[1]>>4)
			case h[1]&0x0f != 2:
				return fmt.Errorf("%w: handshake answered with serializer %d", errLost, h[1]&0x0f)
			}
			m.routerMax = 1 << (9 + h[1]>>4)
			return nil
		}
		if err := m.fill(until); err != nil {
			return fmt.Errorf("%w: no handshake reply: %v", errLost, err)
		}
	}
}

// frame returns the payload of the next message frame, valid until the
// next call; PINGs are answered with PONGs on the way.
func (m *mcu) frame(until time.Time) ([]byte, error) {
	for {
		if m.w-m.r >= 4 {
			h := m.in[m.r : m.r+4]
			typ := h[0]
			l := int(h[1])<<16 | int(h[2])<<8 | int(h[3])
			if typ > 2 || 4+l > len(m.in) {
				return nil, fmt.Errorf("%w: frame header % x", errLost, h)
			}
			if m.w-m.r >= 4+l {
				p := m.in[m.r+4 : m.r+4+l]
				m.r += 4 + l
				switch typ {
				case 0:
					return p, nil
				case 1: // PING: the same payload back in a PONG
					if 4+l > len(m.tx) {
						return nil, fmt.Errorf("%w: PING too large", errLost)
					}
					m.tx[0], m.tx[1], m.tx[2], m.tx[3] = 2, h[1], h[2], h[3]
					copy(m.tx[4:], p)
					if err := m.emit(m.tx[:4+l]); err != nil {
						return nil, err
					}
				}
				continue
			}
		}
		if err := m.fill(until); err != nil {
			return nil, err
		}
	}
}

// wmsg is what the MCU reads of a message.
type wmsg struct {
	typ    uint64
	a, b   uint64 // the IDs after the type code (see parse)
	uri    []byte // ERROR: the error URI; ABORT, GOODBYE: the reason
	hasArg bool   // the first positional argument, when it is an integer or a string
	n      int64
	s      []byte
}

// parse reads a message's type code, its IDs and its first argument:
//
//	WELCOME [2, a=session, ...]              ABORT [3, {}, uri]    GOODBYE [6, {}, uri]
//	ERROR [8, a=request type, b=request, {}, uri, [arg]]
//	PUBLISHED [17, a=request, b=publication] SUBSCRIBED [33, a=request, b=subscription]
//	EVENT [36, a=subscription, b=publication, {}, [arg]]
//	RESULT [50, a=request, {}, [arg]]        REGISTERED [65, a=request, b=registration]
//	INVOCATION [68, a=request, b=registration, {}, [arg]]
func parse(p []byte, x *wmsg) bool {
	*x = wmsg{}
	d := reader{b: p}
	n := d.arrayLen()
	if n < 2 {
		return false
	}
	x.typ = d.uint()
	ids := 0
	switch x.typ {
	case wWelcome, wResult:
		ids = 1
	case wError, wPublished, wSubscribed, wEvent, wRegistered, wInvocation:
		ids = 2
	}
	if ids >= 1 {
		x.a = d.uint()
	}
	if ids >= 2 {
		x.b = d.uint()
	}
	switch x.typ {
	case wAbort, wGoodbye:
		d.skip(0)
		x.uri = d.str()
	case wError:
		d.skip(0)
		x.uri = d.str()
		d.firstArg(x, n-5)
	case wEvent, wInvocation:
		d.skip(0)
		d.firstArg(x, n-4)
	case wResult:
		d.skip(0)
		d.firstArg(x, n-3)
	}
	return !d.bad
}

// reader reads MessagePack from a frame; any surprise sets bad.
type reader struct {
	b   []byte
	i   int
	bad bool
}

func (d *reader) next() byte {
	if d.i >= len(d.b) {
		d.bad = true
		return 0xc1 // never used
	}
	d.i++
	return d.b[d.i-1]
}

func (d *reader) be(n int) uint64 {
	var v uint64
	for range n {
		v = v<<8 | uint64(d.next())
	}
	return v
}

func (d *reader) arrayLen() int {
	c := d.next()
	switch {
	case c&0xf0 == 0x90:
		return int(c & 0x0f)
	case c == 0xdc:
		return int(d.be(2))
	}
	d.bad = true
	return 0
}

func (d *reader) uint() uint64 {
	c := d.next()
	switch {
	case c < 0x80:
		return uint64(c)
	case c >= 0xcc && c <= 0xcf:
		return d.be(1 << (c - 0xcc))
	}
	d.bad = true
	return 0
}

func (d *reader) str() []byte {
	c := d.next()
	var l int
	switch {
	case c&0xe0 == 0xa0:
		l = int(c & 0x1f)
	case c == 0xd9:
		l = int(d.be(1))
	case c == 0xda:
		l = int(d.be(2))
	default:
		d.bad = true
		return nil
	}
	if d.i+l > len(d.b) {
		d.bad = true
		return nil
	}
	d.i += l
	return d.b[d.i-l : d.i]
}

// skip skips one value of any type, nested at most 8 deep.
func (d *reader) skip(depth int) {
	if depth > 8 || d.bad {
		d.bad = true
		return
	}
	c := d.next()
	n, items := 0, 0
	switch {
	case c < 0x80 || c >= 0xe0 || c == 0xc0 || c == 0xc2 || c == 0xc3:
	case c&0xf0 == 0x80:
		items = 2 * int(c&0x0f)
	case c&0xf0 == 0x90:
		items = int(c & 0x0f)
	case c&0xe0 == 0xa0:
		n = int(c & 0x1f)
	case c == 0xc4 || c == 0xd9:
		n = int(d.be(1))
	case c == 0xc5 || c == 0xda:
		n = int(d.be(2))
	case c == 0xc6 || c == 0xdb:
		n = int(d.be(4))
	case c == 0xca:
		n = 4
	case c == 0xcb:
		n = 8
	case c >= 0xcc && c <= 0xcf:
		n = 1 << (c - 0xcc)
	case c >= 0xd0 && c <= 0xd3:
		n = 1 << (c - 0xd0)
	case c == 0xdc:
		items = int(d.be(2))
	case c == 0xdd:
		items = int(d.be(4))
	case c == 0xde:
		items = 2 * int(d.be(2))
	case c == 0xdf:
		items = 2 * int(d.be(4))
	default:
		d.bad = true
		return
	}
	if n > len(d.b)-d.i || items > len(d.b)-d.i {
		d.bad = true
		return
	}
	d.i += n
	for range items {
		d.skip(depth + 1)
	}
}

// firstArg reads the first element of the Arguments list, if the
// message has one (rest: the elements left, 1 or 2 with ArgumentsKw).
func (d *reader) firstArg(x *wmsg, rest int) {
	if rest < 1 || d.bad {
		return
	}
	if d.arrayLen() < 1 {
		return
	}
	c := d.b[d.i]
	switch {
	case c < 0x80 || (c >= 0xcc && c <= 0xcf):
		x.n, x.hasArg = int64(d.uint()), true
	case c >= 0xe0: // negative fixint
		x.n, x.hasArg = int64(int8(d.next())), true
	case c >= 0xd0 && c <= 0xd3:
		d.next()
		k := 1 << (c - 0xd0)
		v := d.be(k)
		x.n, x.hasArg = int64(v<<(64-8*k))>>(64-8*k), true
	case c&0xe0 == 0xa0 || c == 0xd9 || c == 0xda:
		x.s, x.hasArg = d.str(), true
	}
}

// next reads messages until one that is not an EVENT or INVOCATION,
// which it hands to their handlers on the way.
func (m *mcu) next(until time.Time, x *wmsg) error {
	for {
		p, err := m.frame(until)
		if err != nil {
			return err
		}
		if !parse(p, x) {
			return fmt.Errorf("%w: a message the MCU cannot parse: % x", errLost, p)
		}
		switch x.typ {
		case wEvent:
			m.events++
			if m.onEvent != nil {
				m.onEvent(x)
			}
		case wInvocation:
			m.invocations++
			if m.onInvocation != nil {
				m.onInvocation(x)
			} else if err := m.sendYield(x.a, uint64(x.n+1)); err != nil {
				return err
			}
		case wAbort, wGoodbye:
			return fmt.Errorf("%w: router sent %d %s", errLost, x.typ, x.uri)
		default:
			return nil
		}
	}
}

// await reads until the reply of type typ to request req, or an ERROR
// for it; other replies (to requests given up on) are dropped.
func (m *mcu) await(until time.Time, typ, req uint64, x *wmsg) error {
	for range 1000 {
		if err := m.next(until, x); err != nil {
			return err
		}
		switch {
		case x.typ == typ && x.a == req:
			return nil
		case x.typ == wError && x.b == req:
			return &wampError{string(x.uri)}
		}
	}
	return fmt.Errorf("%w: too many stray replies", errLost)
}

// serve answers invocations (and takes events) until the deadline or
// until done says so; any other message is an error.
func (m *mcu) serve(until time.Time, done func() bool) error {
	for i := 0; !done(); i++ {
		if time.Now().After(until) || i > 100000 {
			return os.ErrDeadlineExceeded
		}
		var x wmsg
		err := m.next(deadline(20*time.Millisecond), &x)
		switch {
		case errors.Is(err, os.ErrDeadlineExceeded):
		case err != nil:
			return err
		default:
			return fmt.Errorf("mcu: unexpected message %d", x.typ)
		}
	}
	return nil
}

// join runs the handshake and HELLO, and waits for WELCOME.
func (m *mcu) join(until time.Time) error {
	if err := m.handshake(until); err != nil {
		return err
	}
	if err := m.sendHello("realm1", "caller", "callee", "publisher", "subscriber"); err != nil {
		return err
	}
	var x wmsg
	if err := m.next(until, &x); err != nil {
		return err
	}
	if x.typ != wWelcome || x.a == 0 {
		return fmt.Errorf("%w: got %d instead of WELCOME", errLost, x.typ)
	}
	m.session = x.a
	return nil
}

// joinRetrying joins, sending the handshake again each time a reply
// does not come within a second (README, firmware contract step 2).
func (m *mcu) joinRetrying(until time.Time) error {
	var err error
	for range 30 {
		if err = m.join(minTime(until, deadline(time.Second))); err == nil || time.Now().After(until) {
			return err
		}
	}
	return err
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

func (m *mcu) subscribe(until time.Time, topic string) (uint64, error) {
	req := m.nextReq()
	if err := m.sendURI(wSubscribe, req, topic); err != nil {
		return 0, err
	}
	var x wmsg
	err := m.await(until, wSubscribed, req, &x)
	return x.b, err
}

func (m *mcu) register(until time.Time, procedure string) (uint64, error) {
	req := m.nextReq()
	if err := m.sendURI(wRegister, req, procedure); err != nil {
		return 0, err
	}
	var x wmsg
	err := m.await(until, wRegistered, req, &x)
	return x.b, err
}

func (m *mcu) publishAck(until time.Time, topic string, n uint64) error {
	req := m.nextReq()
	if err := m.sendPublish(req, topic, n, true); err != nil {
		return err
	}
	var x wmsg
	return m.await(until, wPublished, req, &x)
}

// call calls procedure with [n] and returns the first result argument.
func (m *mcu) call(until time.Time, procedure string, n uint64) (int64, error) {
	req := m.nextReq()
	if err := m.sendCall(req, procedure, n); err != nil {
		return 0, err
	}
	var x wmsg
	if err := m.await(until, wResult, req, &x); err != nil {
		return 0, err
	}
	if !x.hasArg {
		return 0, fmt.Errorf("mcu: RESULT without an integer argument")
	}
	return x.n, nil
}

// leave sends GOODBYE and waits for the router's.
func (m *mcu) leave(until time.Time) error {
	if err := m.sendGoodbye(); err != nil {
		return err
	}
	var x wmsg
	err := m.next(until, &x)
	if x.typ == wGoodbye {
		return nil
	}
	return fmt.Errorf("mcu: no GOODBYE reply: %v", err)
}

// --- COBS and CRC-16, written from the spec in cobs.go's comment --------

// crcTable is CRC-16/CCITT-FALSE (polynomial 0x1021, MSB first), by
// table, as firmware with a little flash to spare would compute it.
var crcTable = func() (t [256]uint16) {
	for i := range t {
		c := uint16(i) << 8
		for range 8 {
			c = c<<1 ^ uint16(int16(c)>>15)&0x1021
		}
		t[i] = c
	}
	return t
}()

func crcCCITT(p []byte) uint16 {
	c := uint16(0xffff)
	for _, b := range p {
		c = c<<8 ^ crcTable[byte(c>>8)^b]
	}
	return c
}

// stuff is COBS (Cheshire and Baker, 1999, StuffData): it writes src to
// dst with every 0x00 removed, each run of up to 254 non-zero bytes
// behind a code byte (the run's length + 1), and returns the length.
func stuff(dst, src []byte) int {
	code, at, n := byte(1), 0, 1
	for _, c := range src {
		if c != 0 {
			dst[n] = c
			n++
			code++
		}
		if c == 0 || code == 0xff {
			dst[at] = code
			code, at = 1, n
			n++
		}
	}
	dst[at] = code
	return n
}

// packetInto writes COBS(data ‖ CRC) 0x00 into dst.
func packetInto(dst, data []byte) int {
	var buf [600]byte
	c := crcCCITT(data)
	k := copy(buf[:], data)
	buf[k], buf[k+1] = byte(c>>8), byte(c)
	n := stuff(dst, buf[:k+2])
	dst[n] = 0
	return n + 1
}

// unstuff undoes COBS in place (p without its 0x00); false if malformed.
func unstuff(p []byte) ([]byte, bool) {
	n := 0
	for i := 0; i < len(p); {
		code := int(p[i])
		if code == 0 || i+code > len(p) {
			return nil, false
		}
		n += copy(p[n:], p[i+1:i+code])
		i += code
		if code != 0xff && i < len(p) {
			p[n] = 0
			n++
		}
	}
	return p[:n], true
}

// unpacket decodes a received packet and checks its CRC.
func unpacket(p []byte) ([]byte, bool) {
	d, ok := unstuff(p)
	if !ok || len(d) < 2 {
		return nil, false
	}
	data := d[:len(d)-2]
	return data, crcCCITT(data) == uint16(d[len(d)-2])<<8|uint16(d[len(d)-1])
}

// ---------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------

// TestMCU: a microcontroller on the serial line and a Go client on TCP
// exchange events both ways and call each other's procedures, with
// plain RawSocket and with COBS framing.
func TestMCU(t *testing.T) {
	for _, framing := range []serial.Framing{serial.Plain, serial.COBS} {
		t.Run(string(framing), func(t *testing.T) { testMCU(t, framing) })
	}
}

func testMCU(t *testing.T, framing serial.Framing) {
	rg := newRig(t, rigConfig{framing: framing})
	tcp := rg.client(t)
	m := rg.mcu(nil, framing == serial.COBS)
	until := deadline(ioTimeout)

	if err := m.join(until); err != nil {
		t.Fatalf("MCU joining: %v", err)
	}
	if m.routerMax != rawsocket.DefaultMaxLength {
		t.Errorf("router announced %d bytes, want %d", m.routerMax, rawsocket.DefaultMaxLength)
	}
	if n := rg.sl.Counts().Sessions.Load(); n != 1 {
		t.Errorf("listener counted %d sessions, want 1", n)
	}
	waitFor(t, "2 sessions in the realm", func() bool { return rg.router.Stats().Sessions == 2 })

	// The MCU subscribes; the TCP client publishes; the MCU gets it.
	sub, err := m.subscribe(until, "com.example.mcu.in")
	if err != nil {
		t.Fatalf("MCU subscribing: %v", err)
	}
	var got []string
	m.onEvent = func(x *wmsg) {
		if x.a != sub {
			t.Errorf("EVENT for subscription %d, want %d", x.a, sub)
		}
		got = append(got, string(x.s))
	}
	if err := tcp.Publish(opCtx(t), "com.example.mcu.in", client.Args("blink", 3), client.PublishOptions{Acknowledge: true}); err != nil {
		t.Fatal(err)
	}
	if err := m.serve(until, func() bool { return len(got) == 1 }); err != nil {
		t.Fatalf("MCU waiting for the event: %v", err)
	}
	if got[0] != "blink" {
		t.Errorf("MCU got event %q, want blink", got[0])
	}

	// The TCP client subscribes; the MCU publishes; the client gets it.
	events := make(chan []any, 4)
	if _, err := tcp.Subscribe(opCtx(t), "com.example.mcu.out", func(e *client.Event) { events <- e.Args }); err != nil {
		t.Fatal(err)
	}
	if err := m.publishAck(until, "com.example.mcu.out", 2150); err != nil {
		t.Fatalf("MCU publishing: %v", err)
	}
	select {
	case args := <-events:
		if n, _ := asInt(args[0]); len(args) != 1 || n != 2150 {
			t.Errorf("TCP client got %v, want [2150]", args)
		}
	case <-time.After(ioTimeout):
		t.Fatal("TCP client got no event")
	}

	// The MCU registers; the TCP client calls it; the MCU yields n+1.
	if _, err := m.register(until, "com.example.mcu.add1"); err != nil {
		t.Fatalf("MCU registering: %v", err)
	}
	const calls = 5
	results := make(chan any, calls)
	background(t, func(ctx context.Context) {
		for i := range calls {
			res, err := tcp.Call(ctx, "com.example.mcu.add1", client.Args(100*i))
			if err != nil {
				results <- err
				return
			}
			results <- res.Args
		}
	})
	for i := range calls {
		if err := m.serve(until, func() bool { return len(results) > 0 }); err != nil {
			t.Fatalf("MCU serving call %d: %v", i, err)
		}
		r := <-results
		args, ok := r.([]any)
		if ok && len(args) == 1 {
			var n int64
			n, ok = asInt(args[0])
			ok = ok && n == int64(100*i+1)
		}
		if !ok {
			t.Fatalf("call %d: got %v, want [%d]", i, r, 100*i+1)
		}
	}
	if m.invocations != calls {
		t.Errorf("MCU answered %d invocations, want %d", m.invocations, calls)
	}

	// The TCP client registers; the MCU calls it.
	if _, err := tcp.Register(opCtx(t), "com.example.tcp.mul2", func(_ context.Context, inv *client.Invocation) (client.Payload, error) {
		n, ok := asInt(inv.Args[0])
		if !ok {
			return client.Payload{}, fmt.Errorf("not an integer: %v", inv.Args[0])
		}
		return client.Args(2 * n), nil
	}); err != nil {
		t.Fatal(err)
	}
	for _, n := range []uint64{0, 21, 1 << 20, 1<<40 + 3} {
		r, err := m.call(until, "com.example.tcp.mul2", n)
		if err != nil {
			t.Fatalf("MCU calling: %v", err)
		}
		if r != int64(2*n) {
			t.Errorf("mul2(%d) = %d", n, r)
		}
	}
	// An ERROR for an unknown procedure: the session goes on.
	var we *wampError
	if _, err := m.call(until, "com.example.nobody", 1); !errors.As(err, &we) || we.uri != "wamp.error.no_such_procedure" {
		t.Errorf("calling an unknown procedure: %v, want ERROR wamp.error.no_such_procedure", err)
	}

	// The MCU's registration holds until it leaves, then goes with it.
	noop := func(context.Context, *client.Invocation) (client.Payload, error) { return client.Payload{}, nil }
	_, err = tcp.Register(opCtx(t), "com.example.mcu.add1", noop)
	if we := (*client.Error)(nil); !errors.As(err, &we) || we.URI != "wamp.error.procedure_already_exists" {
		t.Errorf("TCP client registering com.example.mcu.add1 while the MCU holds it: %v, want procedure_already_exists", err)
	}
	if err := m.leave(until); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the MCU's session to leave the realm", func() bool { return rg.router.Stats().Sessions == 1 })
	if _, err := tcp.Register(opCtx(t), "com.example.mcu.add1", noop); err != nil {
		t.Errorf("TCP client registering the MCU's procedure after it left: %v", err)
	}

	// The line waits for the next handshake: the MCU joins again.
	if err := m.join(until); err != nil {
		t.Fatalf("MCU joining again: %v", err)
	}
	if n := rg.sl.Counts().Sessions.Load(); n != 2 {
		t.Errorf("listener counted %d sessions, want 2", n)
	}
	if n := rg.sl.Counts().DroppedPackets.Load(); n != 0 {
		t.Errorf("%d COBS packets dropped on a clean line", n)
	}
	if m.badPackets != 0 {
		t.Errorf("MCU dropped %d packets from the router", m.badPackets)
	}
	if err := m.leave(until); err != nil {
		t.Fatal(err)
	}
}

// TestMCUWireFormat checks the MCU's bytes against the README's (the
// firmware contract) and its COBS against the paper and the router's.
func TestMCUWireFormat(t *testing.T) {
	var buf bytes.Buffer
	m := newMCU(nil, &buf, false)
	m.sendHello("realm1", "subscriber", "publisher")
	const hello = "00 00 00 28 93 01 a6 72 65 61 6c 6d 31 81 a5 72 6f 6c 65 73 82 aa 73 75 62 73" +
		" 63 72 69 62 65 72 80 a9 70 75 62 6c 69 73 68 65 72 80"
	if got := fmt.Sprintf("% x", buf.Bytes()); got != hello {
		t.Errorf("HELLO frame:\n got %s\nwant %s", got, hello)
	}

	buf.Reset()
	m = newMCU(nil, &buf, true)
	m.sendHandshake()
	m.sendHello("realm1", "subscriber", "publisher")
	const cobs = "03 7f f2 01 03 9f 69 00" + // the handshake
		" 01 01 01 2c 28 93 01 a6 72 65 61 6c 6d 31 81 a5 72 6f 6c 65 73 82 aa 73 75 62 73 63 72 69" +
		" 62 65 72 80 a9 70 75 62 6c 69 73 68 65 72 80 4a 2d 00"
	if got := fmt.Sprintf("% x", buf.Bytes()); got != cobs {
		t.Errorf("COBS handshake and HELLO:\n got %s\nwant %s", got, cobs)
	}
	// The router's answer for 1 MiB, as the README gives it.
	reply := []byte{0x03, 0x7f, 0xb2, 0x01, 0x03, 0x82, 0xc4}
	if d, ok := unpacket(reply); !ok || fmt.Sprintf("% x", d) != "7f b2 00 00" {
		t.Errorf("README's COBS handshake reply decodes to % x, %v", d, ok)
	}

	if got := crcCCITT([]byte("123456789")); got != 0x29b1 {
		t.Errorf(`crc("123456789") = %#04x, want 0x29b1`, got)
	}
	// COBS without the CRC: the examples of Cheshire and Baker's paper
	// (and of its usual summaries).
	for _, v := range []struct{ in, out string }{
		{"00", "01 01"},
		{"00 00", "01 01 01"},
		{"11 22 00 33", "03 11 22 02 33"},
		{"11 22 33 44", "05 11 22 33 44"},
		{"11 00 00 00", "02 11 01 01 01"},
		{"", "01"},
	} {
		in := unhex(t, v.in)
		var out [16]byte
		n := stuff(out[:], in)
		if got := fmt.Sprintf("% x", out[:n]); got != v.out {
			t.Errorf("COBS(%s) = %s, want %s", v.in, got, v.out)
		}
		if d, ok := unstuff(out[:n]); !ok || !bytes.Equal(d, in) {
			t.Errorf("unstuff(%s) = % x, %v", v.out, d, ok)
		}
	}
	// 254 and 255 non-zero bytes: a full run (code FF) with and without
	// a block after it.
	run := make([]byte, 255)
	for i := range run {
		run[i] = byte(i%255 + 1)
	}
	var out [300]byte
	if n := stuff(out[:], run[:254]); n != 256 || out[0] != 0xff || out[255] != 0x01 {
		t.Errorf("COBS of 254 non-zero bytes: %d bytes, code %#x, last %#x", n, out[0], out[n-1])
	}
	if n := stuff(out[:], run); n != 257 || out[0] != 0xff || out[255] != 0x02 {
		t.Errorf("COBS of 255 non-zero bytes: %d bytes, codes %#x %#x", n, out[0], out[255])
	}

	// The MCU's packets and the router's agree, both ways.
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range 500 {
		data := make([]byte, rng.IntN(520))
		for j := range data {
			if rng.IntN(4) > 0 {
				data[j] = byte(rng.IntN(256))
			} else if i%2 == 0 {
				data[j] = byte(1 + rng.IntN(255)) // long non-zero runs
			}
		}
		var mine [700]byte
		n := packetInto(mine[:], data)
		theirs := serial.AppendPacket(nil, data)
		if !bytes.Equal(mine[:n], theirs) {
			t.Fatalf("packets of % x differ:\n mcu    % x\n router % x", data, mine[:n], theirs)
		}
		d, err := serial.DecodePacket(append([]byte(nil), mine[:n-1]...))
		if err != nil || !bytes.Equal(d, data) {
			t.Fatalf("router decodes the MCU's packet of % x to % x, %v", data, d, err)
		}
		d2, ok := unpacket(theirs[:len(theirs)-1])
		if !ok || !bytes.Equal(d2, data) {
			t.Fatalf("MCU decodes the router's packet of % x to % x, %v", data, d2, ok)
		}
	}
}

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	var b []byte
	for _, f := range strings.Fields(s) {
		var v byte
		if _, err := fmt.Sscanf(f, "%02x", &v); err != nil {
			t.Fatal(err)
		}
		b = append(b, v)
	}
	return b
}

// TestMCUBurst: a burst of events to an MCU that reads only once
// they are all sent. The router's writes to the pty wait for room, and
// signals arrive meanwhile (the Go runtime's own preemption signal,
// SIGURG, sent here on purpose and often): a tty write interrupted after
// part of its bytes returns a short count, which the line must follow
// with the rest. Every event must arrive whole and in order.
func TestMCUBurst(t *testing.T) {
	for _, framing := range []serial.Framing{serial.Plain, serial.COBS} {
		t.Run(string(framing), func(t *testing.T) {
			rg := newRig(t, rigConfig{framing: framing})
			tcp := rg.client(t)
			m := rg.mcu(nil, framing == serial.COBS)
			until := deadline(ioTimeout)
			if err := m.join(until); err != nil {
				t.Fatal(err)
			}
			if _, err := m.subscribe(until, "com.example.burst"); err != nil {
				t.Fatal(err)
			}
			const events = 3000
			stop := make(chan struct{})
			background(t, func(ctx context.Context) {
				for range 200000 {
					select {
					case <-stop:
						return
					case <-ctx.Done():
						return
					default:
					}
					syscall.Kill(os.Getpid(), syscall.SIGURG)
					time.Sleep(50 * time.Microsecond)
				}
			})
			defer close(stop)
			pad := strings.Repeat("x", 40)
			ctx := opCtx(t)
			for i := range events {
				if err := tcp.Publish(ctx, "com.example.burst", client.Args(i, pad), client.PublishOptions{}); err != nil {
					t.Fatal(err)
				}
			}
			next := int64(0)
			m.onEvent = func(x *wmsg) {
				if x.n != next {
					t.Errorf("event %d arrived after %d", x.n, next-1)
				}
				next = x.n + 1
			}
			if err := m.serve(until, func() bool { return next == events }); err != nil {
				t.Fatalf("after %d events: %v", next, err)
			}
		})
	}
}

// TestClientDial: the project's Go client over a serial line
// (client.Dial with a serial:// URL, as wampcat on a laptop with a
// USB-serial adapter), to the router's serial listener: two ptys with a
// null-modem cable between their masters.
func TestClientDial(t *testing.T) {
	for _, framing := range []serial.Framing{serial.Plain, serial.COBS} {
		t.Run(string(framing), func(t *testing.T) {
			rg := newRig(t, rigConfig{framing: framing})
			tcp := rg.client(t)
			laptop := openPTY(t)
			cable := make(chan struct{}, 2)
			t.Cleanup(func() {
				rg.pty.master.Close()
				laptop.master.Close()
				<-cable
				<-cable
			})
			for _, dir := range [][2]*os.File{{rg.pty.master, laptop.master}, {laptop.master, rg.pty.master}} {
				go func() {
					io.Copy(dir[0], dir[1])
					cable <- struct{}{}
				}()
			}
			url := "serial://" + laptop.slave
			if framing == serial.COBS {
				url += "?framing=cobs"
			}
			c, err := client.Dial(opCtx(t), url, client.Config{})
			if err != nil {
				t.Fatalf("client.Dial(%s): %v", url, err)
			}
			defer c.Close()
			events := make(chan []any, 1)
			if _, err := c.Subscribe(opCtx(t), "com.example.laptop", func(e *client.Event) { events <- e.Args }); err != nil {
				t.Fatal(err)
			}
			if err := tcp.Publish(opCtx(t), "com.example.laptop", client.Args("over the cable"), client.PublishOptions{Acknowledge: true}); err != nil {
				t.Fatal(err)
			}
			select {
			case args := <-events:
				if len(args) != 1 || args[0] != "over the cable" {
					t.Errorf("serial client got %v", args)
				}
			case <-time.After(ioTimeout):
				t.Fatal("serial client got no event")
			}
			if _, err := tcp.Register(opCtx(t), "com.example.tcp.len", func(_ context.Context, inv *client.Invocation) (client.Payload, error) {
				return client.Args(len(inv.Args[0].(string))), nil
			}); err != nil {
				t.Fatal(err)
			}
			res, err := c.Call(opCtx(t), "com.example.tcp.len", client.Args(strings.Repeat("z", 3000)))
			if err != nil {
				t.Fatal(err)
			}
			if n, _ := asInt(res.Args[0]); n != 3000 {
				t.Errorf("result %v, want 3000", res.Args)
			}
			if err := c.Close(); err != nil {
				t.Fatal(err)
			}
			waitFor(t, "the serial client to leave", func() bool { return rg.router.Stats().Sessions == 1 })
			if n := rg.sl.Counts().Sessions.Load(); n != 1 {
				t.Errorf("listener counted %d sessions, want 1", n)
			}
		})
	}
}
