package rawsocket

import (
	"bytes"
	"errors"
	"io"
	"net"
	"sync/atomic"
	"testing"

	"github.com/wampedge/wampedge/codec"
)

// frame returns one frame, its header spelled out octet by octet from the
// layout in WAMP.md §6.2 rather than through appendFrame: RRRR X TTT, then
// 24 length bits; 2^24 is the X bit with the length bits all zero.
func frame(typ byte, body []byte) []byte {
	n := len(body)
	h := []byte{typ, byte(n >> 16), byte(n >> 8), byte(n)}
	if n == MaxLength {
		h = []byte{0x08 | typ, 0, 0, 0}
	}
	return append(h, body...)
}

// frames returns the type-0 frames of msgs, back to back.
func frames(msgs ...[]byte) []byte {
	var b []byte
	for _, m := range msgs {
		b = append(b, frame(frameMessage, m)...)
	}
	return b
}

// pattern returns n bytes that differ from one offset to the next (with a
// period of 256), seeded so that two messages of the same length differ.
func pattern(n int, seed byte) []byte {
	b := make([]byte, n)
	for i := range min(n, 256) {
		b[i] = byte(i*7) + seed
	}
	for i := 256; i < n; i *= 2 {
		copy(b[i:], b[:i])
	}
	return b
}

// streamRW stands in for a connection where timing does not matter.
// Reads deliver its input chunk by chunk — a Read returns as much of the
// current chunk as fits and never crosses into the next — then io.EOF;
// what is written is kept in out. reads and writes count the calls.
type streamRW struct {
	chunks        [][]byte
	reads, writes int
	out           bytes.Buffer
}

// chunked delivers data cut at the given offsets (ascending, within data).
func chunked(data []byte, cuts ...int) *streamRW {
	s := &streamRW{}
	prev := 0
	for _, c := range append(cuts, len(data)) {
		s.chunks = append(s.chunks, data[prev:c])
		prev = c
	}
	return s
}

func (s *streamRW) Read(p []byte) (int, error) {
	s.reads++
	for len(s.chunks) > 0 && len(s.chunks[0]) == 0 {
		s.chunks = s.chunks[1:]
	}
	if len(s.chunks) == 0 {
		return 0, io.EOF
	}
	n := copy(p, s.chunks[0])
	s.chunks[0] = s.chunks[0][n:]
	return n, nil
}

func (s *streamRW) Write(p []byte) (int, error) {
	s.writes++
	return s.out.Write(p)
}

// readWriter joins a reader and a writer into what a Conn runs over.
type readWriter struct {
	io.Reader
	io.Writer
}

// countingConn counts the Read and Write calls that reach a net.Conn.
type countingConn struct {
	net.Conn
	reads, writes atomic.Int64
}

func (c *countingConn) Read(p []byte) (int, error) {
	c.reads.Add(1)
	return c.Conn.Read(p)
}

func (c *countingConn) Write(p []byte) (int, error) {
	c.writes.Add(1)
	return c.Conn.Write(p)
}

// testConn frames over rw with the limits a handshake would have agreed.
func testConn(rw io.ReadWriter, recvMax, sendMax int) *Conn {
	return newConn(rw, codec.MsgPack, recvMax, sendMax)
}

// errReadLimit ends readAll when a stream yields more messages than the
// caller knows it holds.
var errReadLimit = errors.New("test: more messages than the stream holds")

// readAll reads messages until the first error and returns copies of
// them (ReadMsg's slice lives only until the next call) with that error.
// limit bounds the loop: a stream of n bytes holds at most n/4 frames.
func readAll(c *Conn, limit int) ([][]byte, error) {
	var msgs [][]byte
	for {
		m, err := c.ReadMsg()
		if err != nil {
			return msgs, err
		}
		if len(msgs) == limit {
			return msgs, errReadLimit
		}
		msgs = append(msgs, bytes.Clone(m))
	}
}

// tcpConns returns both ends of a TCP connection on the loopback.
func tcpConns(t testing.TB) (client, server net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		nc, _ := ln.Accept()
		accepted <- nc
	}()
	client, err = net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	server = <-accepted
	if server == nil {
		t.Fatal("accept failed")
	}
	return client, server
}

// handshake runs Connect on a and Accept on b at the same time and
// returns both Conns, closed when the test ends.
func handshake(t testing.TB, a, b net.Conn, s codec.Serializer, clientCfg, serverCfg Config) (client, server *Conn) {
	t.Helper()
	type result struct {
		c   *Conn
		err error
	}
	accepted := make(chan result, 1)
	go func() {
		c, err := Accept(b, serverCfg)
		accepted <- result{c, err}
	}()
	client, err := Connect(a, s, clientCfg)
	r := <-accepted
	if err != nil || r.err != nil {
		a.Close()
		b.Close()
		t.Fatalf("handshake: Connect: %v, Accept: %v", err, r.err)
	}
	t.Cleanup(func() { client.Close(); r.c.Close() })
	return client, r.c
}

// transports are the byte streams the end-to-end tests run over.
var transports = []struct {
	name  string
	conns func(testing.TB) (net.Conn, net.Conn)
}{
	{"pipe", func(testing.TB) (net.Conn, net.Conn) { return net.Pipe() }},
	{"tcp", tcpConns},
}
