package rawsocket

import (
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/wampedge/wampedge/codec"
)

// Magic is the first octet of every handshake (WAMP.md §6.1).
const Magic = 0x7f

// Message length limits a handshake can announce: 2^(9+L) for L in 0..15.
const (
	MinLength = 1 << 9
	MaxLength = 1 << 24
	// DefaultMaxLength is the limit a side announces when its Config
	// leaves MaxLength zero: large enough for real payloads, small
	// enough that no peer can make an edge board buffer 16 MiB.
	DefaultMaxLength = 1 << 20
	// DefaultTimeout bounds a handshake when Config.Timeout is zero.
	DefaultTimeout = 5 * time.Second
)

// HandshakeError is a refusal in the handshake, sent or received, with
// the spec's error code (WAMP.md §6.1).
type HandshakeError struct{ Code byte }

// The handshake errors a router sends.
var (
	ErrSerializerUnsupported = &HandshakeError{1}
	ErrLengthUnacceptable    = &HandshakeError{2}
	ErrReservedBits          = &HandshakeError{3}
	ErrMaxConnections        = &HandshakeError{4}
)

func (e *HandshakeError) Error() string {
	switch e.Code {
	case 1:
		return "rawsocket: serializer unsupported"
	case 2:
		return "rawsocket: maximum message length unacceptable"
	case 3:
		return "rawsocket: use of reserved bits (unsupported feature)"
	case 4:
		return "rawsocket: maximum connection count reached"
	}
	return fmt.Sprintf("rawsocket: handshake error %d", e.Code)
}

// Is makes errors.Is match refusals by code.
func (e *HandshakeError) Is(target error) bool {
	t, ok := target.(*HandshakeError)
	return ok && t.Code == e.Code
}

var (
	// ErrNotRawSocket: the first octet was not 0x7f; the connection is
	// closed without a reply (WAMP.md §6.1).
	ErrNotRawSocket = errors.New("rawsocket: not a RawSocket handshake (first octet is not 0x7f)")
	// ErrIllegalSerializer: serializer 0, which the spec makes illegal.
	ErrIllegalSerializer = errors.New("rawsocket: serializer 0 is illegal")
	// ErrBadReply: the router's answer to a handshake made no sense.
	ErrBadReply = errors.New("rawsocket: malformed handshake reply")
)

// Config is what one side of a RawSocket connection offers. The zero
// Config is usable: both serializers, DefaultMaxLength, DefaultTimeout.
type Config struct {
	// MaxLength is the largest message this side accepts, announced in
	// the handshake rounded up to a power of two in [MinLength,
	// MaxLength]. It bounds the read buffer; it is not allocated.
	MaxLength int
	// Serializers a server accepts; nil means every one codec supports.
	Serializers []codec.Serializer
	// Timeout bounds the handshake on a connection that has deadlines.
	Timeout time.Duration
	// FrameTimeout, if set, ends a connection whose peer stops sending in
	// the middle of a frame for this long (ReadMsg returns
	// ErrFrameTimeout); silence between frames is fine. It needs a
	// connection with read deadlines (net.Conn, a serial line).
	FrameTimeout time.Duration
	// MinPeerLength, if set, refuses a peer that announces a smaller
	// limit than this with "maximum message length unacceptable": for a
	// router whose traffic would not fit, rather than failing message by
	// message later.
	MinPeerLength int
	// PingInterval and PingTimeout are the keepalive: after PingInterval
	// without a byte from the peer it sends a PING, and closes the
	// connection if nothing, PONG or anything else, arrives within
	// PingTimeout more (ReadMsg returns ErrPingTimeout). For Accept (the
	// router) zero means DefaultPingInterval and DefaultPingTimeout, and
	// a negative value turns the keepalive off; for Connect (a client)
	// only a positive PingInterval turns it on, with PingTimeout
	// defaulting to DefaultPingTimeout.
	PingInterval time.Duration
	PingTimeout  time.Duration
}

// exponent returns the L nibble that announces at least n bytes.
func exponent(n int) byte {
	if n <= 0 {
		n = DefaultMaxLength
	}
	l := byte(0)
	for l < 15 && 1<<(9+l) < n {
		l++
	}
	return l
}

func lengthOf(l byte) int { return 1 << (9 + l) }

// AnnouncedLength is the limit this side announces in the handshake:
// MaxLength rounded up to a power of two.
func (c *Config) AnnouncedLength() int { return lengthOf(exponent(c.MaxLength)) }

// SerializerNames lists the serializers a server accepts, by name.
func (c *Config) SerializerNames() []string {
	var names []string
	for _, s := range []codec.Serializer{codec.MsgPack, codec.JSON} {
		if c.accepts(s) {
			names = append(names, s.String())
		}
	}
	return names
}

func (c *Config) accepts(s codec.Serializer) bool {
	if c.Serializers == nil {
		return codec.Supported(s)
	}
	for _, x := range c.Serializers {
		if x == s {
			return true
		}
	}
	return false
}

func (c *Config) timeout() time.Duration {
	if c.Timeout > 0 {
		return c.Timeout
	}
	return DefaultTimeout
}

// deadliner is what net.Conn and serial ports offer to bound a handshake.
type deadliner interface{ SetDeadline(time.Time) error }

func withDeadline(rw io.ReadWriter, d time.Duration) func() {
	dl, ok := rw.(deadliner)
	if !ok {
		return func() {}
	}
	dl.SetDeadline(time.Now().Add(d))
	return func() { dl.SetDeadline(time.Time{}) }
}

// Accept runs the router's side of the handshake on rw: it reads the
// client's four octets, answers with its own length limit and the echoed
// serializer, or with an error code, and returns the framed connection.
// On a refusal it has sent the error reply; the caller closes rw.
func Accept(rw io.ReadWriter, cfg Config) (*Conn, error) {
	defer withDeadline(rw, cfg.timeout())()
	var hs [4]byte
	if _, err := io.ReadFull(rw, hs[:]); err != nil {
		return nil, fmt.Errorf("rawsocket: reading handshake: %w", err)
	}
	peerMax, s, err := parseRequest(hs, &cfg)
	if err != nil {
		var he *HandshakeError
		if errors.As(err, &he) {
			Reject(rw, he)
		}
		return nil, err
	}
	l := exponent(cfg.MaxLength)
	if _, err := rw.Write([]byte{Magic, l<<4 | byte(s), 0, 0}); err != nil {
		return nil, fmt.Errorf("rawsocket: writing handshake: %w", err)
	}
	c := newConn(rw, s, lengthOf(l), peerMax)
	c.frameTimeout = cfg.FrameTimeout
	if interval, timeout, ok := cfg.keepaliveSettings(); ok {
		startKeepalive(c, interval, timeout)
	}
	return c, nil
}

// parseRequest checks a client's handshake octets.
func parseRequest(hs [4]byte, cfg *Config) (peerMax int, s codec.Serializer, err error) {
	if hs[0] != Magic {
		return 0, 0, ErrNotRawSocket
	}
	if hs[2] != 0 || hs[3] != 0 {
		return 0, 0, ErrReservedBits
	}
	s = codec.Serializer(hs[1] & 0x0f)
	if s == 0 {
		return 0, 0, ErrIllegalSerializer
	}
	if !cfg.accepts(s) {
		return 0, 0, ErrSerializerUnsupported
	}
	peerMax = lengthOf(hs[1] >> 4)
	if peerMax < cfg.MinPeerLength {
		return 0, 0, ErrLengthUnacceptable
	}
	return peerMax, s, nil
}

// Reject sends the error reply for a refusal; the caller closes the
// connection after it.
func Reject(w io.Writer, e *HandshakeError) error {
	_, err := w.Write([]byte{Magic, e.Code << 4, 0, 0})
	return err
}

// Connect runs the client's side of the handshake on rw, asking for
// serializer s, and returns the framed connection, or the router's
// refusal as a *HandshakeError.
func Connect(rw io.ReadWriter, s codec.Serializer, cfg Config) (*Conn, error) {
	if s == 0 || s > 15 {
		return nil, fmt.Errorf("rawsocket: serializer %d cannot be asked for", s)
	}
	defer withDeadline(rw, cfg.timeout())()
	l := exponent(cfg.MaxLength)
	if _, err := rw.Write([]byte{Magic, l<<4 | byte(s), 0, 0}); err != nil {
		return nil, fmt.Errorf("rawsocket: writing handshake: %w", err)
	}
	var hs [4]byte
	if _, err := io.ReadFull(rw, hs[:]); err != nil {
		return nil, fmt.Errorf("rawsocket: reading handshake reply: %w", err)
	}
	if hs[0] != Magic || hs[2] != 0 || hs[3] != 0 {
		return nil, ErrBadReply
	}
	if hs[1]&0x0f == 0 {
		if hs[1] == 0 { // error code 0 is illegal (WAMP.md §6.1)
			return nil, ErrBadReply
		}
		return nil, &HandshakeError{hs[1] >> 4}
	}
	if codec.Serializer(hs[1]&0x0f) != s {
		return nil, ErrBadReply
	}
	c := newConn(rw, s, lengthOf(l), lengthOf(hs[1]>>4))
	if cfg.PingInterval > 0 { // a client's keepalive is asked for, not a default
		if interval, timeout, ok := cfg.keepaliveSettings(); ok {
			startKeepalive(c, interval, timeout)
		}
	}
	return c, nil
}
