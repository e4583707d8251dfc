package loadgen

import (
	"errors"
	"fmt"
	"net"
	"time"
)

// Framing returns the length of the whole frame at the start of b, header
// included, or 0 when b holds only part of one.
type Framing func(b []byte) (int, error)

// Buffer sizes: set-up exchanges small messages; a stream is read in
// large chunks so that one read takes in a whole burst.
const (
	setupBuffer  = 4 << 10
	streamBuffer = 256 << 10
)

// Conn is one load-generating session: a connection and its framing,
// with the bytes read but not yet handed out.
type Conn struct {
	nc      net.Conn
	framing Framing
	buf     []byte
	r, w    int
}

func newConn(nc net.Conn, f Framing) *Conn {
	return &Conn{nc: nc, framing: f, buf: make([]byte, setupBuffer)}
}

// Write writes b, a batch of whole frames, in one write.
func (c *Conn) Write(b []byte) error {
	_, err := c.nc.Write(b)
	return err
}

// SetDeadline bounds the reads and writes that follow; zero clears it.
func (c *Conn) SetDeadline(t time.Time) error { return c.nc.SetDeadline(t) }

// Close closes the connection; a blocked read returns.
func (c *Conn) Close() error { return c.nc.Close() }

// ReadFrame returns the next whole frame, header included, valid until
// the next read.
func (c *Conn) ReadFrame() ([]byte, error) {
	for {
		if n, err := c.framing(c.buf[c.r:c.w]); err != nil {
			return nil, err
		} else if n > 0 {
			f := c.buf[c.r : c.r+n]
			c.r += n
			return f, nil
		}
		if err := c.fill(); err != nil {
			return nil, err
		}
	}
}

// ReadBurst calls each for every whole frame in the buffer, reading once
// first if there is none, and returns how many it handed out. The frames
// are valid during the call only.
func (c *Conn) ReadBurst(each func(frame []byte)) (int, error) {
	if len(c.buf) < streamBuffer {
		c.grow(streamBuffer)
	}
	for {
		count := 0
		for {
			n, err := c.framing(c.buf[c.r:c.w])
			if err != nil {
				return count, err
			}
			if n == 0 {
				break
			}
			each(c.buf[c.r : c.r+n])
			c.r += n
			count++
		}
		if count > 0 {
			return count, nil
		}
		if err := c.fill(); err != nil {
			return 0, err
		}
	}
}

// fill reads once into the free end of the buffer, first moving the
// unread bytes to the front, and growing the buffer for a frame larger
// than it.
func (c *Conn) fill() error {
	if c.r > 0 {
		c.w = copy(c.buf, c.buf[c.r:c.w])
		c.r = 0
	}
	if c.w == len(c.buf) {
		if len(c.buf) >= 64<<20 {
			return errors.New("loadgen: frame larger than 64 MiB")
		}
		c.grow(2 * len(c.buf))
	}
	n, err := c.nc.Read(c.buf[c.w:])
	c.w += n
	if n > 0 {
		return nil
	}
	if err == nil {
		err = fmt.Errorf("loadgen: empty read")
	}
	return err
}

func (c *Conn) grow(size int) {
	buf := make([]byte, max(size, setupBuffer))
	c.w = copy(buf, c.buf[c.r:c.w])
	c.r, c.buf = 0, buf
}
