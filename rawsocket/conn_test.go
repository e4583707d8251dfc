package rawsocket

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/wampedge/wampedge/codec"
)

// Messages of the sizes that matter to the read buffer: empty, tiny, the
// 4 KiB start buffer and past it, and past the size it shrinks back from.
var sizedMsgs = [][]byte{
	[]byte(`[1,"realm1",{}]`), {}, pattern(1, 1), pattern(startBuffer-4, 2),
	pattern(startBuffer, 3), pattern(5000, 4), {}, pattern(shrinkOver+1, 5), pattern(70, 6),
}

func TestRoundTrip(t *testing.T) {
	for _, tr := range transports {
		t.Run(tr.name, func(t *testing.T) {
			a, b := tr.conns(t)
			client, server := handshake(t, a, b, codec.MsgPack, Config{}, Config{})
			go echo(server)
			sent := make(chan error, 1)
			go func() {
				half := len(sizedMsgs) / 2
				err := client.WriteMsgs(sizedMsgs[:half])
				for _, m := range sizedMsgs[half:] {
					err = errors.Join(err, client.WriteMsg(m))
				}
				sent <- err
			}()
			for i, want := range sizedMsgs {
				got, err := client.ReadMsg()
				if err != nil || !bytes.Equal(got, want) {
					t.Fatalf("message %d: %d bytes, %v; want %d bytes", i, len(got), err, len(want))
				}
			}
			if err := <-sent; err != nil {
				t.Fatal(err)
			}
		})
	}
}

// A burst of small frames written at once is taken in with one read and
// handed out one message per ReadMsg.
func TestManyFramesOneRead(t *testing.T) {
	var msgs [][]byte
	for i := range 60 {
		msgs = append(msgs, pattern(i%10, byte(i)))
	}
	data := frames(msgs...)
	if len(data) > startBuffer {
		t.Fatalf("the burst (%d bytes) does not fit the start buffer", len(data))
	}
	a, b := net.Pipe()
	defer a.Close()
	counted := &countingConn{Conn: b}
	c := testConn(counted, 1<<16, 1<<16)
	defer c.Close()
	go a.Write(data)
	for i, want := range msgs {
		got, err := c.ReadMsg()
		if err != nil || !bytes.Equal(got, want) {
			t.Fatalf("message %d: % x, %v; want % x", i, got, err, want)
		}
	}
	if n := counted.reads.Load(); n != 1 {
		t.Errorf("%d reads for %d frames in one write, want 1", n, len(msgs))
	}
}

// A stream of frames of every kind is read the same wherever the reads
// split it: at each byte offset, and one byte at a time.
func TestSplitAtEveryOffset(t *testing.T) {
	msgs := [][]byte{{}, []byte("a"), pattern(300, 1), pattern(5000, 2), {}, pattern(70, 3)}
	ping := []byte("ping")
	data := slices.Concat(frames(msgs[:3]...), frame(framePing, ping), frame(framePong, []byte("pong")), frames(msgs[3:]...))
	wantOut := frame(framePong, ping)

	check := func(split string, rw *streamRW) {
		t.Helper()
		got, err := readAll(testConn(rw, 1<<16, 1<<16), len(data)/4)
		if err != io.EOF || !equalMsgs(got, msgs) {
			t.Fatalf("%s: read %d messages, %v; want %d, EOF", split, len(got), err, len(msgs))
		}
		if !bytes.Equal(rw.out.Bytes(), wantOut) {
			t.Fatalf("%s: wrote % x, want % x", split, rw.out.Bytes(), wantOut)
		}
	}
	for i := 0; i <= len(data); i++ {
		check(fmt.Sprintf("split at %d", i), chunked(data, i))
	}
	every := make([]int, len(data)-1)
	for i := range every {
		every[i] = i + 1
	}
	check("byte by byte", chunked(data, every...))
}

func equalMsgs(a, b [][]byte) bool { return slices.EqualFunc(a, b, bytes.Equal) }

func TestPingPong(t *testing.T) {
	msg := []byte("msg")
	tests := []struct {
		name     string
		in       []byte
		wantMsgs [][]byte
		wantOut  []byte
	}{
		{"ping", slices.Concat(frame(framePing, []byte{1, 2, 3, 4}), frame(0, msg)),
			[][]byte{msg}, []byte{0x02, 0, 0, 4, 1, 2, 3, 4}},
		{"empty ping", frame(framePing, nil), nil, []byte{0x02, 0, 0, 0}},
		{"two pings", slices.Concat(frame(framePing, []byte("a")), frame(0, msg), frame(framePing, []byte("bc"))),
			[][]byte{msg}, slices.Concat(frame(framePong, []byte("a")), frame(framePong, []byte("bc")))},
		{"large ping", frame(framePing, pattern(9000, 7)), nil, frame(framePong, pattern(9000, 7))},
		{"unsolicited pong", slices.Concat(frame(framePong, []byte("x")), frame(0, msg)), [][]byte{msg}, nil},
		{"empty pong", slices.Concat(frame(framePong, nil), frame(0, msg), frame(framePong, nil)), [][]byte{msg}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rw := chunked(tc.in)
			got, err := readAll(testConn(rw, 1<<16, 1<<16), len(tc.in)/4)
			if err != io.EOF || !equalMsgs(got, tc.wantMsgs) {
				t.Errorf("read %q, %v; want %q, EOF", got, err, tc.wantMsgs)
			}
			if !bytes.Equal(rw.out.Bytes(), tc.wantOut) {
				t.Errorf("wrote % x, want % x", rw.out.Bytes(), tc.wantOut)
			}
		})
	}
}

// Conn.Ping end to end: the peer's ReadMsg answers, and the PONG is
// dropped by the pinging side's ReadMsg.
func TestPingEndToEnd(t *testing.T) {
	for _, tr := range transports {
		t.Run(tr.name, func(t *testing.T) {
			a, b := tr.conns(t)
			client, server := handshake(t, a, b, codec.JSON, Config{}, Config{})
			// A pipe does not buffer: the client writes and reads at once.
			go func() {
				if client.Ping([]byte("beat")) == nil {
					client.WriteMsg([]byte("after ping"))
				}
			}()
			got := make(chan []byte, 1)
			go func() {
				m, _ := client.ReadMsg() // drops the PONG on its way
				got <- bytes.Clone(m)
			}()
			if m, err := server.ReadMsg(); err != nil || string(m) != "after ping" {
				t.Fatalf("server ReadMsg = %q, %v", m, err)
			}
			if err := server.WriteMsg([]byte("reply")); err != nil {
				t.Fatal(err)
			}
			if m := <-got; string(m) != "reply" {
				t.Errorf("client ReadMsg = %q, want \"reply\"", m)
			}
		})
	}
}

// The octets each write method puts on the wire.
func TestWriteFrames(t *testing.T) {
	tests := []struct {
		name  string
		write func(*Conn) error
		want  []byte
	}{
		{"WriteMsg", func(c *Conn) error { return c.WriteMsg([]byte("abc")) }, []byte{0, 0, 0, 3, 'a', 'b', 'c'}},
		{"WriteMsg empty", func(c *Conn) error { return c.WriteMsg(nil) }, []byte{0, 0, 0, 0}},
		{"WriteMsg 300", func(c *Conn) error { return c.WriteMsg(make([]byte, 300)) }, append([]byte{0, 0, 0x01, 0x2c}, make([]byte, 300)...)},
		{"Ping", func(c *Conn) error { return c.Ping([]byte("beat")) }, []byte{0x01, 0, 0, 4, 'b', 'e', 'a', 't'}},
		{"Ping empty", func(c *Conn) error { return c.Ping(nil) }, []byte{0x01, 0, 0, 0}},
		{"WriteMsgs", func(c *Conn) error { return c.WriteMsgs([][]byte{[]byte("a"), nil, []byte("bc")}) },
			[]byte{0, 0, 0, 1, 'a', 0, 0, 0, 0, 0, 0, 0, 2, 'b', 'c'}},
	}
	for _, tc := range tests {
		rw := &streamRW{}
		if err := tc.write(testConn(rw, MinLength, 1<<16)); err != nil || !bytes.Equal(rw.out.Bytes(), tc.want) {
			t.Errorf("%s: wrote % x, %v; want % x", tc.name, rw.out.Bytes(), err, tc.want)
		}
	}
}

// Headers with reserved bits, a reserved type, or the X bit with length
// bits set end the stream with ErrBadFrame, after the good frames before.
func TestBadFrame(t *testing.T) {
	for _, h := range [][]byte{
		{0x10, 0, 0, 0}, {0x20, 0, 0, 1}, {0x40, 0, 0, 0}, {0x80, 0, 0, 0}, {0xf0, 0, 0, 0}, {0xff, 0xff, 0xff, 0xff},
		{0x03, 0, 0, 0}, {0x04, 0, 0, 1}, {0x05, 0, 0, 0}, {0x06, 0, 0, 0}, {0x07, 0, 0, 2},
		{0x0b, 0, 0, 0}, {0x0f, 0, 0, 0}, {0x18, 0, 0, 0},
		{0x08, 0, 0, 1}, {0x08, 0, 1, 0}, {0x08, 1, 0, 0}, {0x08, 0xff, 0xff, 0xff}, {0x09, 0, 0, 4}, {0x0a, 0x80, 0, 0},
	} {
		in := slices.Concat(frame(0, []byte("ok")), h, []byte("body"))
		got, err := readAll(testConn(chunked(in), MaxLength, MaxLength), 2)
		if !errors.Is(err, ErrBadFrame) || len(got) != 1 || string(got[0]) != "ok" {
			t.Errorf("header % x: read %q, %v; want \"ok\", %v", h, got, err, ErrBadFrame)
		}
	}
}

// A frame over the limit this side announced is ErrFrameTooLarge, found
// from its header alone; one at the limit is read.
func TestFrameTooLarge(t *testing.T) {
	tests := []struct {
		limit  int
		header []byte
	}{
		{MinLength, []byte{0, 0, 0x02, 0x01}},
		{MinLength, []byte{0x01, 0, 0x02, 0x01}}, // PING
		{MinLength, []byte{0x02, 0, 0x02, 0x01}}, // PONG
		{MinLength, []byte{0x08, 0, 0, 0}},       // 2^24 by the X bit
		{MinLength, []byte{0, 0xff, 0xff, 0xff}},
		{1 << 16, []byte{0, 0x01, 0, 0x01}},
		{1 << 23, []byte{0, 0x80, 0, 0x01}},
		{1 << 23, []byte{0x08, 0, 0, 0}},
	}
	for _, tc := range tests {
		c := testConn(chunked(tc.header), tc.limit, MaxLength)
		_, err := c.ReadMsg()
		if !errors.Is(err, ErrFrameTooLarge) || !strings.Contains(err.Error(), fmt.Sprint(tc.limit)) {
			t.Errorf("limit %d, header % x: %v, want %v naming the limit", tc.limit, tc.header, err, ErrFrameTooLarge)
		}
	}
	for _, limit := range []int{MinLength, 1 << 16} {
		m := pattern(limit, 1)
		got, err := testConn(chunked(frame(0, m)), limit, MaxLength).ReadMsg()
		if err != nil || !bytes.Equal(got, m) {
			t.Errorf("frame of exactly the limit %d: %d bytes, %v", limit, len(got), err)
		}
	}
}

// The largest frames: 2^24 - 1 in the 24 length bits, 2^24 as the X bit
// with the length bits zero, written by WriteMsg or Ping and read back.
func TestLargestFrames(t *testing.T) {
	tests := []struct {
		name   string
		n      int
		write  func(*Conn, []byte) error
		header []byte
		isMsg  bool // read back as a message; a PING comes back as a PONG
	}{
		{"2^24-1", MaxLength - 1, (*Conn).WriteMsg, []byte{0, 0xff, 0xff, 0xff}, true},
		{"2^24", MaxLength, (*Conn).WriteMsg, []byte{0x08, 0, 0, 0}, true},
		{"2^24 ping", MaxLength, (*Conn).Ping, []byte{0x09, 0, 0, 0}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			body := pattern(tc.n, 3)
			w := &streamRW{}
			if err := tc.write(testConn(w, MinLength, MaxLength), body); err != nil {
				t.Fatal(err)
			}
			out := w.out.Bytes()
			if !bytes.Equal(out[:4], tc.header) || len(out) != 4+tc.n || !bytes.Equal(out[4:], body) {
				t.Fatalf("wrote header % x and %d bytes, want % x and %d", out[:4], len(out)-4, tc.header, tc.n)
			}
			r := chunked(out, 1<<20) // the body arrives in more than one read
			got, err := readAll(testConn(r, MaxLength, MaxLength), 1)
			wantMsgs, wantOut := [][]byte{body}, []byte(nil)
			if !tc.isMsg {
				wantMsgs, wantOut = nil, frame(framePong, body)
			}
			if err != io.EOF || !equalMsgs(got, wantMsgs) || !bytes.Equal(r.out.Bytes(), wantOut) {
				t.Errorf("read back %d messages, %v, and wrote %d bytes", len(got), err, r.out.Len())
			}
		})
	}
}

// A message over the peer's limit is refused before anything is written,
// and the connection stays usable.
func TestWriteOverPeerLimit(t *testing.T) {
	over := pattern(MinLength+1, 1)
	at := pattern(MinLength, 2)
	for name, write := range map[string]func(*Conn) error{
		"WriteMsg":  func(c *Conn) error { return c.WriteMsg(over) },
		"WriteMsgs": func(c *Conn) error { return c.WriteMsgs([][]byte{at, over, at}) },
		"Ping":      func(c *Conn) error { return c.Ping(over) },
	} {
		t.Run(name, func(t *testing.T) {
			rw := &streamRW{}
			c := testConn(rw, MaxLength, MinLength)
			if err := write(c); !errors.Is(err, ErrMsgTooLarge) {
				t.Errorf("%s over the limit: %v, want %v", name, err, ErrMsgTooLarge)
			}
			if rw.writes != 0 {
				t.Fatalf("%s over the limit wrote % x", name, rw.out.Bytes())
			}
			if err := c.WriteMsg(at); err != nil || !bytes.Equal(rw.out.Bytes(), frame(0, at)) {
				t.Errorf("WriteMsg at the limit afterwards: %v", err)
			}
		})
	}
}

// WriteMsgs puts a whole batch on the wire with one Write.
func TestWriteMsgsOneWrite(t *testing.T) {
	for _, batch := range [][][]byte{sizedMsgs, {[]byte("one")}, {{}, {}, {}}} {
		a, b := net.Pipe()
		counted := &countingConn{Conn: a}
		w, r := testConn(counted, MaxLength, MaxLength), testConn(b, MaxLength, MaxLength)
		go func() {
			w.WriteMsgs(batch)
			w.Close()
		}()
		got, err := readAll(r, len(batch))
		if err != io.EOF || !equalMsgs(got, batch) {
			t.Errorf("batch of %d: read %d messages, %v", len(batch), len(got), err)
		}
		if n := counted.writes.Load(); n != 1 {
			t.Errorf("batch of %d: %d writes, want 1", len(batch), n)
		}
		r.Close()
	}
}

// The read buffer grows for a large frame, no further than that frame
// needs, and is back to the start size once the frame has been read; the
// write buffer likewise does not keep a large message's size.
func TestBuffersShrink(t *testing.T) {
	small, large := []byte("small"), pattern(1<<20, 9)
	head := len(frame(0, small))
	data := frames(small, large, small, small)
	rw := chunked(data, head, head+len(frame(0, large)))
	c := testConn(rw, MaxLength, MaxLength) // a limit of 16 MiB is a bound, not an allocation
	for i, want := range [][]byte{small, large, small, small} {
		got, err := c.ReadMsg()
		if err != nil || !bytes.Equal(got, want) {
			t.Fatalf("message %d: %d bytes, %v", i, len(got), err)
		}
		size := cap(c.rbuf)
		if len(want) == len(large) {
			if size < 4+len(large) || size > 2*(4+len(large)) {
				t.Errorf("read buffer of %d bytes for a frame of %d", size, 4+len(large))
			}
		} else if size != startBuffer {
			t.Errorf("message %d: read buffer of %d bytes, want %d", i, size, startBuffer)
		}
	}

	for _, m := range [][]byte{large, small} {
		if err := c.WriteMsg(m); err != nil {
			t.Fatal(err)
		}
	}
	if cap(c.wbuf) > shrinkOver {
		t.Errorf("write buffer keeps %d bytes after a large message", cap(c.wbuf))
	}
}

// TestBufferFollowsArrivals checks that the read buffer grows with the
// bytes that arrive, not with the length a header announces: a peer that
// announces 16 MiB and sends a few bytes costs the start buffer.
func TestBufferFollowsArrivals(t *testing.T) {
	stalled := frame(0, make([]byte, MaxLength))[:4+100]
	c := testConn(chunked(stalled, 4), MaxLength, MaxLength)
	if _, err := c.ReadMsg(); err == nil {
		t.Fatal("read a frame that never arrived")
	}
	if cap(c.rbuf) > startBuffer {
		t.Errorf("read buffer of %d bytes for 104 bytes received", cap(c.rbuf))
	}
}

// enteredConn reports on entered when a Read or Write reaches it.
type enteredConn struct {
	net.Conn
	entered chan struct{}
	once    sync.Once
}

func (e *enteredConn) enter() { e.once.Do(func() { close(e.entered) }) }

func (e *enteredConn) Read(p []byte) (int, error)  { e.enter(); return e.Conn.Read(p) }
func (e *enteredConn) Write(p []byte) (int, error) { e.enter(); return e.Conn.Write(p) }

// Close ends a ReadMsg waiting for data and a WriteMsg waiting on a peer
// that does not read; a closed Conn refuses to write and closes again
// without an error.
func TestClose(t *testing.T) {
	for name, op := range map[string]func(*Conn) error{
		"ReadMsg":  func(c *Conn) error { _, err := c.ReadMsg(); return err },
		"WriteMsg": func(c *Conn) error { return c.WriteMsg([]byte("never read")) },
	} {
		t.Run(name, func(t *testing.T) {
			a, b := net.Pipe() // nobody reads or writes at a
			defer a.Close()
			ec := &enteredConn{Conn: b, entered: make(chan struct{})}
			c := testConn(ec, MaxLength, MaxLength)
			done := make(chan error, 1)
			go func() { done <- op(c) }()
			<-ec.entered
			if err := c.Close(); err != nil {
				t.Fatalf("Close: %v", err)
			}
			if err := <-done; err == nil {
				t.Errorf("%s returned no error after Close", name)
			}
			if err := c.Close(); err != nil {
				t.Errorf("second Close: %v", err)
			}
		})
	}
	for name, rw := range map[string]io.ReadWriter{"net.Conn": newPipeEnd(t), "no Close method": &streamRW{}} {
		c := testConn(rw, MaxLength, MaxLength)
		if err := c.Close(); err != nil {
			t.Errorf("%s: Close: %v", name, err)
		}
		for _, r := range []struct {
			op        string
			err, want error
		}{
			{"WriteMsg", c.WriteMsg([]byte("x")), ErrClosed},
			{"WriteMsgs", c.WriteMsgs([][]byte{[]byte("x")}), ErrClosed},
			{"Ping", c.Ping(nil), ErrClosed},
			{"Close", c.Close(), nil},
		} {
			if !errors.Is(r.err, r.want) {
				t.Errorf("%s: %s after Close: %v, want %v", name, r.op, r.err, r.want)
			}
		}
	}
}

// newPipeEnd is one end of a pipe whose other end is closed with the test.
func newPipeEnd(t *testing.T) net.Conn {
	a, b := net.Pipe()
	t.Cleanup(func() { a.Close(); b.Close() })
	return b
}

// Writers on several goroutines (WriteMsg, WriteMsgs and Ping) never
// interleave their frames: each message arrives whole, and each writer's
// messages arrive in its order.
func TestConcurrentWrites(t *testing.T) {
	const writers, perWriter = 8, 200
	a, b := tcpConns(t)
	client, server := handshake(t, a, b, codec.MsgPack, Config{}, Config{})
	msg := func(g, i int) []byte {
		return append(fmt.Appendf(nil, "%d:%d:", g, i), pattern((g*37+i)%300, byte(g))...)
	}
	var wg sync.WaitGroup
	for g := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < perWriter; i += 2 {
				var err error
				if g%2 == 0 {
					err = errors.Join(client.WriteMsg(msg(g, i)), client.WriteMsg(msg(g, i+1)))
				} else {
					err = client.WriteMsgs([][]byte{msg(g, i), msg(g, i+1)})
				}
				if err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		for range perWriter {
			client.Ping([]byte("concurrent"))
		}
	}()
	next := make([]int, writers)
	for range writers * perWriter {
		m, err := server.ReadMsg()
		if err != nil {
			t.Fatal(err)
		}
		var g, i int
		if _, err := fmt.Sscanf(string(m), "%d:%d:", &g, &i); err != nil || g < 0 || g >= writers {
			t.Fatalf("garbled message %q", m)
		}
		if i != next[g] || !bytes.Equal(m, msg(g, i)) {
			t.Fatalf("writer %d: got message %d (%d bytes), want message %d", g, i, len(m), next[g])
		}
		next[g]++
	}
	wg.Wait()
}

func TestRemoteAddr(t *testing.T) {
	a, b := tcpConns(t)
	defer a.Close()
	defer b.Close()
	if got := testConn(b, MinLength, MinLength).RemoteAddr(); got == nil || got.String() != a.LocalAddr().String() {
		t.Errorf("RemoteAddr() = %v, want %v", got, a.LocalAddr())
	}
	if got := testConn(&streamRW{}, MinLength, MinLength).RemoteAddr(); got != nil {
		t.Errorf("RemoteAddr() without a network connection = %v, want nil", got)
	}
}

// Buffered is true exactly when the next ReadMsg returns without reading:
// a whole message is buffered, or a header ReadMsg rejects at once. PINGs
// and PONGs alone do not count, nor does a 2^24 frame of which only the
// header has arrived.
func TestBuffered(t *testing.T) {
	ping, pong := frame(framePing, []byte("p")), frame(framePong, []byte("p"))
	tests := []struct {
		name  string
		rest  []byte // in the read buffer after the first message
		want  bool
		limit int // MaxRecv; 0: MaxLength
	}{
		{"nothing", nil, false, 0},
		{"message", frames([]byte("m")), true, 0},
		{"empty message", frames(nil), true, 0},
		{"partial header", []byte{0, 0}, false, 0},
		{"partial body", []byte{0, 0, 0, 5, 'a'}, false, 0},
		{"2^24 header only", []byte{0x08, 0, 0, 0}, false, 0},
		{"ping", ping, false, 0},
		{"pong", pong, false, 0},
		{"ping, pong, message", slices.Concat(ping, pong, frames(nil)), true, 0},
		{"ping, partial message", slices.Concat(ping, []byte{0, 0, 0, 2, 'a'}), false, 0},
		{"reserved bits", []byte{0x10, 0, 0, 0}, true, 0},
		{"too large", []byte{0, 0x01, 0, 0}, true, 1 << 12},
		{"2^24 too large", []byte{0x08, 0, 0, 0}, true, 1 << 12},
		{"ping, too large", slices.Concat(ping, []byte{0, 0x01, 0, 0}), true, 1 << 12},
	}
	for _, tc := range tests {
		rw := chunked(slices.Concat(frames([]byte("first")), tc.rest))
		c := testConn(rw, cmp.Or(tc.limit, MaxLength), MaxLength)
		if _, err := c.ReadMsg(); err != nil {
			t.Fatal(err)
		}
		got := c.Buffered()
		reads := rw.reads
		c.ReadMsg() // the message or error buffered, or the stream's end
		if read := rw.reads > reads; got != tc.want || got == read {
			t.Errorf("%s: Buffered() = %v, want %v; the next ReadMsg read: %v", tc.name, got, tc.want, read)
		}
	}
}

// stuckReader returns err from every Read, with no bytes.
type stuckReader struct{ err error }

func (s stuckReader) Read([]byte) (int, error) { return 0, s.err }

// A read error ends ReadMsg with that error; a reader that returns nothing
// and no error ends it with io.ErrNoProgress rather than a spin.
func TestReadErrors(t *testing.T) {
	broken := errors.New("line broken")
	for _, tc := range []struct{ in, want error }{
		{broken, broken},
		{nil, io.ErrNoProgress},
	} {
		c := testConn(readWriter{stuckReader{tc.in}, io.Discard}, MinLength, MinLength)
		if _, err := c.ReadMsg(); !errors.Is(err, tc.want) {
			t.Errorf("reader failing with %v: ReadMsg: %v, want %v", tc.in, err, tc.want)
		}
	}
}

// A busy stream of small frames: reads that fill the buffer double it,
// up to streamBuffer (fewer, larger reads); once the reads dwindle, after
// shrinkAfter small reads in a row, it is back to the start size, and not
// after fewer: a lull between waves keeps the stream buffer.
func TestBufferFollowsStream(t *testing.T) {
	msgs := make([][]byte, 3000)
	for i := range msgs {
		msgs[i] = pattern(100, byte(i))
	}
	busy := frames(msgs...)
	// Then one frame per read.
	data, cuts := busy, []int{len(busy)}
	for i := range 2*shrinkAfter + 1 {
		data = append(data, frames(msgs[i])...)
		cuts = append(cuts, len(data))
	}
	c := testConn(chunked(data, cuts[:len(cuts)-1]...), MaxLength, MaxLength)
	for i := range len(msgs) {
		if _, err := c.ReadMsg(); err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
	}
	if size := cap(c.rbuf); size != streamBuffer {
		t.Errorf("read buffer of %d bytes in a busy stream, want %d", size, streamBuffer)
	}
	for i := range 2 * shrinkAfter {
		if _, err := c.ReadMsg(); err != nil {
			t.Fatal(err)
		}
		if size := cap(c.rbuf); i < 4 && size != streamBuffer {
			t.Fatalf("read buffer of %d bytes after %d small reads, want %d", size, i+1, streamBuffer)
		}
	}
	// The next read, the one an idle session waits in, has the small buffer.
	if _, err := c.ReadMsg(); err != nil {
		t.Fatalf("after the last message: %v", err)
	}
	if _, err := c.ReadMsg(); err != io.EOF {
		t.Fatalf("after the last message: %v", err)
	}
	if size := cap(c.rbuf); size != startBuffer {
		t.Errorf("read buffer of %d bytes once the stream dwindled, want %d", size, startBuffer)
	}
}
