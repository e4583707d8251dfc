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

// Bytes that arrived before Park wake it at once (the poller is
// level-triggered), and Close wakes a parked connection, whose ReadMsg
// then fails: nobody waits for bytes that cannot come.
func TestParkEdges(t *testing.T) {
	a, b := tcpConns(t)
	client, server := handshake(t, a, b, codec.MsgPack, Config{}, Config{PingInterval: -1})
	if err := client.WriteMsg([]byte("early")); err != nil {
		t.Fatal(err)
	}
	time.Sleep(20 * time.Millisecond) // in the server's socket buffer
	woken := make(chan struct{})
	if !server.Park(func() { close(woken) }) {
		t.Fatal("no park")
	}
	select {
	case <-woken:
	case <-time.After(5 * time.Second):
		t.Fatal("bytes there before Park did not wake it")
	}
	if m, err := server.ReadMsg(); err != nil || string(m) != "early" {
		t.Fatalf("%q, %v", m, err)
	}

	closed := make(chan struct{})
	if !server.Park(func() { close(closed) }) {
		t.Fatal("no second park")
	}
	server.Close()
	select {
	case <-closed:
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not wake the parked connection")
	}
	if _, err := server.ReadMsg(); err == nil {
		t.Fatal("ReadMsg after Close succeeded")
	}
	if server.Park(func() { t.Error("readable of a closed connection ran") }) {
		t.Error("a closed connection parked")
	}

	// The peer hanging up wakes it too.
	a, b = tcpConns(t)
	client, server = handshake(t, a, b, codec.MsgPack, Config{}, Config{PingInterval: -1})
	hungUp := make(chan struct{})
	if !server.Park(func() { close(hungUp) }) {
		t.Fatal("no park")
	}
	client.Close()
	select {
	case <-hungUp:
	case <-time.After(5 * time.Second):
		t.Fatal("the peer's hang-up did not wake the parked connection")
	}
	if _, err := server.ReadMsg(); err == nil {
		t.Fatal("ReadMsg after the peer hung up succeeded")
	}
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
	time.Sleep(50 * time.Millisecond) // the handlers' goroutines end
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
