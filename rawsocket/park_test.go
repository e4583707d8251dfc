package rawsocket

import (
	"bytes"
	"context"
	"errors"
	"net"
	"runtime"
	"testing"
	"time"

	"github.com/wampedge/wampedge/codec"
)

// An idle socket's ReadMsg says ErrIdle; parked, it holds no buffer and
// no goroutine, and readable runs once the peer sends, after which
// ReadMsg has the message. A pipe cannot park.
func TestParkWakesOnBytes(t *testing.T) {
	a, b := tcpConns(t)
	client, server := handshake(t, a, b, codec.MsgPack, Config{}, Config{PingInterval: -1})
	server.SetIdle(30 * time.Millisecond)
	start := time.Now()
	if _, err := server.ReadMsg(); !errors.Is(err, ErrIdle) {
		t.Fatalf("ReadMsg on a silent peer: %v, want ErrIdle", err)
	}
	if waited := time.Since(start); waited < 15*time.Millisecond {
		t.Errorf("ErrIdle after %v, before half the idle time", waited)
	}
	woken := make(chan struct{})
	if !server.Park(func() { close(woken) }) {
		t.Fatal("a TCP connection did not park")
	}
	if server.rbuf != nil {
		t.Errorf("a parked connection holds a %d-byte read buffer", cap(server.rbuf))
	}
	select {
	case <-woken:
		t.Fatal("woken before the peer sent anything")
	case <-time.After(50 * time.Millisecond):
	}
	if err := client.WriteMsg([]byte("hello")); err != nil {
		t.Fatal(err)
	}
	select {
	case <-woken:
	case <-time.After(5 * time.Second):
		t.Fatal("not woken by the peer's message")
	}
	if m, err := server.ReadMsg(); err != nil || !bytes.Equal(m, []byte("hello")) {
		t.Fatalf("after waking: %q, %v", m, err)
	}

	p1, p2 := net.Pipe()
	defer p1.Close()
	defer p2.Close()
	pc := testConn(p1, MinLength, MinLength)
	pc.SetIdle(time.Millisecond)
	if pc.idle != 0 || pc.Park(func() { t.Error("a pipe's readable ran") }) {
		t.Error("a pipe took SetIdle or parked")
	}
}

// parkC parks c and returns a channel closed when its readable runs.
func parkC(t *testing.T, c *Conn) <-chan struct{} {
	t.Helper()
	woken := make(chan struct{})
	if !c.Park(func() { close(woken) }) {
		t.Fatal("a TCP connection did not park")
	}
	return woken
}

// awaitWake waits for a parked connection to wake because of what, and
// checks what ReadMsg then says: msg, or an error for msg nil.
func awaitWake(t *testing.T, c *Conn, woken <-chan struct{}, what string, msg []byte) {
	t.Helper()
	select {
	case <-woken:
	case <-time.After(5 * time.Second):
		t.Fatalf("%s did not wake the parked connection", what)
	}
	m, err := c.ReadMsg()
	if msg == nil && err == nil {
		t.Fatalf("ReadMsg after %s: %q, want an error", what, m)
	}
	if msg != nil && (err != nil || !bytes.Equal(m, msg)) {
		t.Fatalf("ReadMsg after %s: %q, %v; want %q", what, m, err, msg)
	}
}

// Bytes that arrived before Park wake it at once (the poller is
// level-triggered), and Close wakes a parked connection, whose ReadMsg
// then fails: nobody waits for bytes that cannot come. So does the peer
// hanging up.
func TestParkEdges(t *testing.T) {
	a, b := tcpConns(t)
	client, server := handshake(t, a, b, codec.MsgPack, Config{}, Config{PingInterval: -1})
	if err := client.WriteMsg([]byte("early")); err != nil {
		t.Fatal(err)
	}
	time.Sleep(20 * time.Millisecond) // in the server's socket buffer
	awaitWake(t, server, parkC(t, server), "bytes there before Park", []byte("early"))

	woken := parkC(t, server)
	server.Close()
	awaitWake(t, server, woken, "Close", nil)
	if server.Park(func() { t.Error("readable of a closed connection ran") }) {
		t.Error("a closed connection parked")
	}

	a, b = tcpConns(t)
	client, server = handshake(t, a, b, codec.MsgPack, Config{}, Config{PingInterval: -1})
	woken = parkC(t, server)
	client.Close()
	awaitWake(t, server, woken, "the peer's hang-up", nil)
}

// A listener's handler that parks returns without the connection
// closing; the connection counts as active until it closes; parked
// connections hold no goroutine.
func TestListenerKeepsParked(t *testing.T) {
	l, err := Listen("tcp://127.0.0.1:0", ListenConfig{Config: Config{PingInterval: -1}})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	const n = 50
	parked := make(chan *Conn, n)
	go l.Serve(func(c *Conn) {
		if !c.Park(func() { c.ReadMsg(); c.Close() }) {
			t.Error("no park")
		}
		parked <- c
	})
	before := runtime.NumGoroutine()
	var clients []*Conn
	for range n {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		c, err := Dial(ctx, l.Endpoint().String(), codec.MsgPack, DialConfig{})
		cancel()
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		clients = append(clients, c)
		<-parked
	}
	// The handlers' goroutines end.
	for deadline := time.Now().Add(5 * time.Second); runtime.NumGoroutine() > before+5 && time.Now().Before(deadline); {
		time.Sleep(5 * time.Millisecond)
	}
	if got := runtime.NumGoroutine(); got > before+5 {
		t.Errorf("%d goroutines for %d parked connections (%d before)", got, n, before)
	}
	if l.Active() != n {
		t.Errorf("Active() = %d with %d parked connections", l.Active(), n)
	}
	for _, c := range clients {
		c.WriteMsg([]byte("bye"))
	}
	deadline := time.Now().Add(5 * time.Second)
	for l.Active() != 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if l.Active() != 0 {
		t.Errorf("Active() = %d after every connection closed", l.Active())
	}
}
