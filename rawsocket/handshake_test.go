package rawsocket

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wampedge/wampedge/codec"
	"github.com/wampedge/wampedge/internal/testutil"
)

// acceptOverPipe runs Accept on one end of a pipe while the other end
// sends req and then reads whatever comes back until Accept's side closes.
func acceptOverPipe(t *testing.T, cfg Config, req []byte) (c *Conn, reply []byte, err error) {
	t.Helper()
	client, server := net.Pipe()
	defer client.Close()
	type result struct {
		c   *Conn
		err error
	}
	done := make(chan result, 1)
	go func() {
		c, err := Accept(server, cfg)
		server.Close()
		done <- result{c, err}
	}()
	if _, err := client.Write(req); err != nil {
		t.Fatalf("writing the request: %v", err)
	}
	reply, rerr := io.ReadAll(client)
	r := <-done
	if rerr != nil {
		t.Fatalf("reading the reply: %v", rerr)
	}
	return r.c, reply, r.err
}

func TestAccept(t *testing.T) {
	type testCase struct {
		name      string
		cfg       Config
		req       []byte
		wantErr   error  // nil: the handshake succeeds
		wantReply []byte // nil: nothing may be written
		// On success:
		wantSer            codec.Serializer
		wantSend, wantRecv int
	}
	ok := func(name string, cfg Config, req, reply []byte, send, recv int) testCase {
		return testCase{name: name, cfg: cfg, req: req, wantReply: reply,
			wantSer: codec.Serializer(req[1] & 0x0f), wantSend: send, wantRecv: recv}
	}
	refused := func(name string, cfg Config, req []byte, err error, reply []byte) testCase {
		return testCase{name: name, cfg: cfg, req: req, wantErr: err, wantReply: reply}
	}
	k64 := Config{MaxLength: 1 << 16} // announces L = 7
	unsupported := []byte{Magic, 0x10, 0, 0}
	reserved := []byte{Magic, 0x30, 0, 0}

	var tests []testCase
	// Every client length nibble with both serializers: the reply carries
	// the server's own nibble (7) and echoes the serializer.
	for _, s := range []codec.Serializer{codec.JSON, codec.MsgPack} {
		for l := range byte(16) {
			tests = append(tests, ok(fmt.Sprintf("%v/L=%d", s, l), k64,
				[]byte{Magic, l<<4 | byte(s), 0, 0}, []byte{Magic, 0x70 | byte(s), 0, 0},
				1<<(9+l), 1<<16))
		}
	}
	// The server's nibble is its MaxLength rounded up to a power of two.
	for _, c := range []struct {
		max int
		l   byte
	}{
		{0, 11}, {-1, 11}, {1, 0}, {MinLength, 0}, {MinLength + 1, 1},
		{1 << 16, 7}, {1<<16 + 1, 8}, {MaxLength, 15}, {1 << 30, 15},
	} {
		tests = append(tests, ok(fmt.Sprintf("server MaxLength %d", c.max), Config{MaxLength: c.max},
			[]byte{Magic, 0xf2, 0, 0}, []byte{Magic, c.l<<4 | 2, 0, 0}, MaxLength, 1<<(9+c.l)))
	}
	for _, req := range [][]byte{{0, 0xf2, 0, 0}, {0x7e, 0xf2, 0, 0}, {0xff, 0xf2, 0, 0}, []byte("GET ")} {
		tests = append(tests, refused(fmt.Sprintf("magic % x", req), k64, req, ErrNotRawSocket, nil))
	}
	for l := range byte(16) {
		tests = append(tests, refused(fmt.Sprintf("serializer 0/L=%d", l), k64,
			[]byte{Magic, l << 4, 0, 0}, ErrIllegalSerializer, nil))
	}
	for s := byte(3); s < 16; s++ {
		tests = append(tests, refused(fmt.Sprintf("serializer %d", s), k64,
			[]byte{Magic, 0xf0 | s, 0, 0}, ErrSerializerUnsupported, unsupported))
	}
	for _, r := range [][2]byte{{1, 0}, {0, 1}, {0x80, 0}, {0xff, 0xff}} {
		tests = append(tests, refused(fmt.Sprintf("reserved % x", r), k64,
			[]byte{Magic, 0xf2, r[0], r[1]}, ErrReservedBits, reserved))
	}
	onlyMsgPack := Config{MaxLength: 1 << 16, Serializers: []codec.Serializer{codec.MsgPack}}
	onlyJSON := Config{MaxLength: 1 << 16, Serializers: []codec.Serializer{codec.JSON}}
	atLeast4K := Config{MaxLength: 1 << 16, MinPeerLength: 1 << 12}
	atLeast5000 := Config{MaxLength: 1 << 16, MinPeerLength: 5000}
	unacceptable := []byte{Magic, 0x20, 0, 0}
	tests = append(tests,
		refused("MinPeerLength 4K/L=2", atLeast4K, []byte{Magic, 0x22, 0, 0}, ErrLengthUnacceptable, unacceptable),
		ok("MinPeerLength 4K/L=3", atLeast4K, []byte{Magic, 0x32, 0, 0}, []byte{Magic, 0x72, 0, 0}, 1<<12, 1<<16),
		refused("MinPeerLength 5000/L=3", atLeast5000, []byte{Magic, 0x31, 0, 0}, ErrLengthUnacceptable, unacceptable),
		ok("MinPeerLength 5000/L=4", atLeast5000, []byte{Magic, 0x41, 0, 0}, []byte{Magic, 0x71, 0, 0}, 1<<13, 1<<16),
		refused("MinPeerLength after serializer", atLeast4K, []byte{Magic, 0x03, 0, 0}, ErrSerializerUnsupported, unsupported),
		refused("only msgpack/json", onlyMsgPack, []byte{Magic, 0xf1, 0, 0}, ErrSerializerUnsupported, unsupported),
		ok("only msgpack/msgpack", onlyMsgPack, []byte{Magic, 0xf2, 0, 0}, []byte{Magic, 0x72, 0, 0}, MaxLength, 1<<16),
		refused("only json/msgpack", onlyJSON, []byte{Magic, 0xf2, 0, 0}, ErrSerializerUnsupported, unsupported),
		ok("only json/json", onlyJSON, []byte{Magic, 0x01, 0, 0}, []byte{Magic, 0x71, 0, 0}, MinLength, 1<<16),
	)

	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, reply, err := acceptOverPipe(t, tc.cfg, tc.req)
			if !bytes.Equal(reply, tc.wantReply) {
				t.Errorf("reply % x, want % x", reply, tc.wantReply)
			}
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) || c != nil {
					t.Fatalf("Accept = %v, %v; want nil, %v", c, err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Accept: %v", err)
			}
			if c.Serializer() != tc.wantSer || c.MaxSend() != tc.wantSend || c.MaxRecv() != tc.wantRecv {
				t.Errorf("Conn: serializer %v, MaxSend %d, MaxRecv %d; want %v, %d, %d",
					c.Serializer(), c.MaxSend(), c.MaxRecv(), tc.wantSer, tc.wantSend, tc.wantRecv)
			}
		})
	}
}

func TestAcceptTruncated(t *testing.T) {
	req := []byte{Magic, 0xf2, 0, 0}
	for n := range len(req) {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			rw := chunked(req[:n])
			_, err := Accept(rw, Config{})
			want := io.ErrUnexpectedEOF
			if n == 0 {
				want = io.EOF
			}
			if !errors.Is(err, want) {
				t.Errorf("Accept: %v, want %v", err, want)
			}
			if rw.out.Len() != 0 {
				t.Errorf("wrote % x on a truncated handshake", rw.out.Bytes())
			}
		})
	}
}

// A handshake that trickles in octet by octet is still one handshake.
func TestAcceptOctetByOctet(t *testing.T) {
	rw := chunked([]byte{Magic, 0x12, 0, 0}, 1, 2, 3)
	c, err := Accept(rw, Config{MaxLength: MinLength})
	if err != nil {
		t.Fatal(err)
	}
	if want := []byte{Magic, 0x02, 0, 0}; !bytes.Equal(rw.out.Bytes(), want) {
		t.Errorf("reply % x, want % x", rw.out.Bytes(), want)
	}
	if c.MaxSend() != 1<<10 {
		t.Errorf("MaxSend %d, want %d", c.MaxSend(), 1<<10)
	}
}

// A peer that never sends its four octets is dropped after Config.Timeout.
func TestHandshakeTimeout(t *testing.T) {
	cfg := Config{Timeout: 20 * time.Millisecond}
	t.Run("accept", func(t *testing.T) {
		_, silent := net.Pipe()
		defer silent.Close()
		if _, err := Accept(silent, cfg); !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Errorf("Accept: %v, want a deadline error", err)
		}
	})
	t.Run("connect", func(t *testing.T) {
		client, router := net.Pipe()
		defer client.Close()
		go io.Copy(io.Discard, router) // takes the request, never answers
		defer router.Close()
		if _, err := Connect(client, codec.MsgPack, cfg); !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Errorf("Connect: %v, want a deadline error", err)
		}
	})
}

// The handshake deadline is lifted once the handshake is done: a session
// may stay quiet for longer than the handshake was allowed to take.
func TestHandshakeClearsDeadline(t *testing.T) {
	cfg := Config{Timeout: 10 * time.Millisecond}
	a, b := net.Pipe()
	client, server := handshake(t, a, b, codec.MsgPack, cfg, cfg)
	done := make(chan error, 1)
	go func() {
		time.Sleep(5 * cfg.Timeout) // past the deadline; nothing is measured
		done <- client.WriteMsg([]byte("late"))
	}()
	msg, err := server.ReadMsg()
	if err != nil || string(msg) != "late" {
		t.Fatalf("ReadMsg = %q, %v; want \"late\"", msg, err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// failingWriter refuses every write.
type failingWriter struct{ err error }

func (f failingWriter) Write([]byte) (int, error) { return 0, f.err }

// A handshake whose reply or request cannot be written fails with the
// write's error.
func TestHandshakeWriteError(t *testing.T) {
	broken := errors.New("line broken")
	rw := func(in []byte) io.ReadWriter { return readWriter{chunked(in), failingWriter{broken}} }
	if _, err := Accept(rw([]byte{Magic, 0xf2, 0, 0}), Config{}); !errors.Is(err, broken) {
		t.Errorf("Accept: %v, want %v", err, broken)
	}
	if _, err := Connect(rw([]byte{Magic, 0xf2, 0, 0}), codec.MsgPack, Config{}); !errors.Is(err, broken) {
		t.Errorf("Connect: %v, want %v", err, broken)
	}
}

// connectOverPipe runs Connect on one end of a pipe while the other end
// reads the request, answers with reply and closes.
func connectOverPipe(t *testing.T, s codec.Serializer, cfg Config, reply []byte) (c *Conn, req []byte, err error) {
	t.Helper()
	client, router := net.Pipe()
	defer client.Close()
	got := make(chan []byte, 1)
	go func() {
		defer router.Close()
		req := make([]byte, 4)
		n, _ := io.ReadFull(router, req)
		if len(reply) > 0 {
			router.Write(reply)
		}
		got <- req[:n]
	}()
	c, err = Connect(client, s, cfg)
	return c, <-got, err
}

func TestConnectRequest(t *testing.T) {
	tests := []struct {
		s   codec.Serializer
		max int
		req []byte
	}{
		{codec.MsgPack, 0, []byte{Magic, 0xb2, 0, 0}},
		{codec.JSON, 0, []byte{Magic, 0xb1, 0, 0}},
		{codec.JSON, MinLength, []byte{Magic, 0x01, 0, 0}},
		{codec.MsgPack, 1 << 16, []byte{Magic, 0x72, 0, 0}},
		{codec.MsgPack, MaxLength, []byte{Magic, 0xf2, 0, 0}},
	}
	for _, tc := range tests {
		_, req, _ := connectOverPipe(t, tc.s, Config{MaxLength: tc.max}, []byte{Magic, 0xf0 | byte(tc.s), 0, 0})
		if !bytes.Equal(req, tc.req) {
			t.Errorf("Connect(%v, MaxLength %d) sent % x, want % x", tc.s, tc.max, req, tc.req)
		}
	}
}

func TestConnect(t *testing.T) {
	tests := []struct {
		name     string
		s        codec.Serializer
		reply    []byte
		wantErr  error
		wantCode byte // of the *HandshakeError, when wantErr is one
		// On success, with the client's default limit as MaxRecv:
		wantSend int
	}{
		{name: "msgpack", s: codec.MsgPack, reply: []byte{Magic, 0x72, 0, 0}, wantSend: 1 << 16},
		{name: "json", s: codec.JSON, reply: []byte{Magic, 0xf1, 0, 0}, wantSend: MaxLength},
		{name: "smallest", s: codec.MsgPack, reply: []byte{Magic, 0x02, 0, 0}, wantSend: MinLength},
		{name: "serializer unsupported", s: codec.MsgPack, reply: []byte{Magic, 0x10, 0, 0}, wantErr: ErrSerializerUnsupported, wantCode: 1},
		{name: "length unacceptable", s: codec.MsgPack, reply: []byte{Magic, 0x20, 0, 0}, wantErr: ErrLengthUnacceptable, wantCode: 2},
		{name: "reserved bits", s: codec.MsgPack, reply: []byte{Magic, 0x30, 0, 0}, wantErr: ErrReservedBits, wantCode: 3},
		{name: "max connections", s: codec.MsgPack, reply: []byte{Magic, 0x40, 0, 0}, wantErr: ErrMaxConnections, wantCode: 4},
		{name: "reserved code", s: codec.MsgPack, reply: []byte{Magic, 0x50, 0, 0}, wantErr: &HandshakeError{5}, wantCode: 5},
		{name: "code 0", s: codec.MsgPack, reply: []byte{Magic, 0x00, 0, 0}, wantErr: ErrBadReply},
		{name: "no magic", s: codec.MsgPack, reply: []byte{0, 0x72, 0, 0}, wantErr: ErrBadReply},
		{name: "HTTP", s: codec.MsgPack, reply: []byte("HTTP"), wantErr: ErrBadReply},
		{name: "reserved octet 2", s: codec.MsgPack, reply: []byte{Magic, 0x72, 1, 0}, wantErr: ErrBadReply},
		{name: "reserved octet 3", s: codec.MsgPack, reply: []byte{Magic, 0x10, 0, 1}, wantErr: ErrBadReply},
		{name: "serializer mismatch", s: codec.MsgPack, reply: []byte{Magic, 0x71, 0, 0}, wantErr: ErrBadReply},
		{name: "serializer mismatch json", s: codec.JSON, reply: []byte{Magic, 0x72, 0, 0}, wantErr: ErrBadReply},
		{name: "reserved serializer", s: codec.MsgPack, reply: []byte{Magic, 0x7f, 0, 0}, wantErr: ErrBadReply},
		{name: "truncated", s: codec.MsgPack, reply: []byte{Magic, 0x72}, wantErr: io.ErrUnexpectedEOF},
		{name: "closed", s: codec.MsgPack, reply: nil, wantErr: io.EOF},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, _, err := connectOverPipe(t, tc.s, Config{}, tc.reply)
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) || c != nil {
					t.Fatalf("Connect = %v, %v; want nil, %v", c, err, tc.wantErr)
				}
				var he *HandshakeError
				if isHE := errors.As(err, &he); isHE != (tc.wantCode != 0) || isHE && he.Code != tc.wantCode {
					t.Errorf("Connect: %#v, want a *HandshakeError with code %d: %v", err, tc.wantCode, tc.wantCode != 0)
				}
				return
			}
			if err != nil {
				t.Fatalf("Connect: %v", err)
			}
			if c.Serializer() != tc.s || c.MaxSend() != tc.wantSend || c.MaxRecv() != DefaultMaxLength {
				t.Errorf("Conn: serializer %v, MaxSend %d, MaxRecv %d; want %v, %d, %d",
					c.Serializer(), c.MaxSend(), c.MaxRecv(), tc.s, tc.wantSend, DefaultMaxLength)
			}
		})
	}
}

func TestHandshakeErrorText(t *testing.T) {
	for code, want := range map[byte]string{
		1: "serializer unsupported", 2: "length unacceptable", 3: "reserved bits",
		4: "connection count", 9: "handshake error 9",
	} {
		if got := (&HandshakeError{code}).Error(); !strings.Contains(got, want) {
			t.Errorf("HandshakeError{%d}: %q, want it to mention %q", code, got, want)
		}
	}
	if errors.Is(ErrSerializerUnsupported, ErrReservedBits) || errors.Is(ErrBadReply, ErrReservedBits) {
		t.Error("refusals with different codes match")
	}
}

// Accept and Connect agree on each other's limits: what one may send is
// what the other announced it receives.
func TestHandshakeLimits(t *testing.T) {
	for _, tc := range []struct{ client, server int }{
		{0, 0}, {MinLength, MaxLength}, {MaxLength, MinLength}, {1000, 70000},
	} {
		for _, s := range []codec.Serializer{codec.JSON, codec.MsgPack} {
			a, b := net.Pipe()
			client, server := handshake(t, a, b, s, Config{MaxLength: tc.client}, Config{MaxLength: tc.server})
			if client.MaxSend() != server.MaxRecv() || server.MaxSend() != client.MaxRecv() {
				t.Errorf("limits %d/%d: client sends %d receives %d, server sends %d receives %d",
					tc.client, tc.server, client.MaxSend(), client.MaxRecv(), server.MaxSend(), server.MaxRecv())
			}
			if client.MaxRecv() < tc.client || server.MaxRecv() < tc.server {
				t.Errorf("limits %d/%d: announced %d/%d", tc.client, tc.server, client.MaxRecv(), server.MaxRecv())
			}
			if client.Serializer() != s || server.Serializer() != s {
				t.Errorf("serializers %v/%v, want %v", client.Serializer(), server.Serializer(), s)
			}
		}
	}
}

// A listener at MaxConns answers the next client with 7F 40 00 00 and
// serves again once a connection is done.
func TestListenerMaxConns(t *testing.T) {
	var log testutil.SyncBuffer
	release := make(chan struct{})
	free := sync.OnceFunc(func() { close(release) })
	l, url := serve(t, "tcp://127.0.0.1:0", ListenConfig{MaxConns: 1, Logger: slog.New(slog.NewTextHandler(&log, nil))},
		func(c *Conn) { <-release })
	t.Cleanup(free) // runs before serve's cleanup: no handler is left waiting

	first, err := Dial(context.Background(), url, codec.MsgPack, DialConfig{})
	if err != nil {
		t.Fatal(err)
	}
	defer first.Close()
	if n := l.Active(); n != 1 {
		t.Errorf("Active() = %d, want 1", n)
	}

	nc, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	nc.Write([]byte{Magic, 0xf2, 0, 0})
	reply := make([]byte, 4)
	if _, err := io.ReadFull(nc, reply); err != nil || !bytes.Equal(reply, []byte{Magic, 0x40, 0, 0}) {
		t.Fatalf("over MaxConns: reply % x, %v; want 7f 40 00 00", reply, err)
	}
	if rest, _ := io.ReadAll(nc); len(rest) != 0 { // EOF, or a reset: the request was never read
		t.Errorf("over MaxConns: % x after the refusal, want the connection closed", rest)
	}
	if _, err := Dial(context.Background(), url, codec.MsgPack, DialConfig{}); !errors.Is(err, ErrMaxConnections) {
		t.Errorf("Dial over MaxConns: %v, want %v", err, ErrMaxConnections)
	}
	if !strings.Contains(log.String(), "maximum connection count") {
		t.Errorf("refusal not logged: %q", log.String())
	}

	free() // the first session ends and frees its slot
	if _, err := first.ReadMsg(); err == nil {
		t.Fatal("first connection still open after its handler returned")
	}
	again, err := Dial(context.Background(), url, codec.MsgPack, DialConfig{})
	if err != nil {
		t.Fatalf("Dial after a slot was freed: %v", err)
	}
	again.Close()
}
