package rawsocket

import (
	"bytes"
	"errors"
	"io"
	"syscall"
	"testing"
	"time"

	"github.com/wampedge/wampedge/codec"
)

// Abort on a socket with room: the last message arrives, then the end of
// the connection.
func TestAbortSendsLast(t *testing.T) {
	a, b := tcpConns(t)
	client, server := handshake(t, a, b, codec.MsgPack, Config{Timeout: time.Second}, Config{Timeout: time.Second})
	if err := server.WriteMsg([]byte("before")); err != nil {
		t.Fatal(err)
	}
	if err := server.Abort([]byte("last words")); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"before", "last words"} {
		a.SetReadDeadline(time.Now().Add(2 * time.Second))
		got, err := client.ReadMsg()
		if err != nil || string(got) != want {
			t.Fatalf("ReadMsg = %q, %v; want %q", got, err, want)
		}
	}
	a.SetReadDeadline(time.Now().Add(2 * time.Second))
	if _, err := client.ReadMsg(); !errors.Is(err, io.EOF) {
		t.Fatalf("after the last message ReadMsg = %v, want EOF: the peer had it all, a plain close", err)
	}
	if err := server.WriteMsg([]byte("after")); !errors.Is(err, ErrClosed) {
		t.Fatalf("WriteMsg after Abort = %v, want ErrClosed", err)
	}
}

// Abort on a socket the peer stopped reading: the kernel lets go of what
// it held unsent at once (a reset), and the last message is not written
// into the middle of a frame.
func TestAbortFullSocketResets(t *testing.T) {
	a, b := tcpConns(t)
	client, server := handshake(t, a, b, codec.MsgPack, Config{Timeout: time.Second}, Config{Timeout: time.Second})
	big := bytes.Repeat([]byte{'x'}, 1<<20)
	for range 64 { // 64 MiB: far past both socket buffers
		if _, flush, err := server.TryWriteMsgs([][]byte{big}); err != nil {
			t.Fatal(err)
		} else if flush {
			break
		}
	}
	if n, ok := unsent(server.raw); !ok || n == 0 {
		t.Fatalf("unsent = %d, %v: the socket should be full", n, ok)
	}
	if err := server.Abort([]byte("last words")); err != nil {
		t.Fatal(err)
	}
	a.SetReadDeadline(time.Now().Add(5 * time.Second))
	var err error
	for err == nil {
		var m []byte
		if m, err = client.ReadMsg(); err == nil && !bytes.Equal(m, big) {
			t.Fatalf("read %d bytes %.16q..., want only whole copies of the big message", len(m), m)
		}
	}
	if !errors.Is(err, syscall.ECONNRESET) && !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("the peer's read ended with %v, want a reset", err)
	}
}
