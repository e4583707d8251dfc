package rawsocket

import (
	"errors"
	"io"
	"net"
	"testing"
	"time"

	"github.com/wampedge/wampedge/codec"
)

// Waits in these tests are bounds on failure, never measurements: the
// machine may be loaded.
const keepaliveBound = 10 * time.Second

func TestKeepaliveSettings(t *testing.T) {
	for _, tc := range []struct {
		name              string
		cfg               Config
		interval, timeout time.Duration
		on                bool
	}{
		{"defaults", Config{}, DefaultPingInterval, DefaultPingTimeout, true},
		{"set", Config{PingInterval: time.Second, PingTimeout: 2 * time.Second}, time.Second, 2 * time.Second, true},
		{"interval only", Config{PingInterval: time.Minute}, time.Minute, DefaultPingTimeout, true},
		{"interval off", Config{PingInterval: -1}, 0, 0, false},
		{"timeout off", Config{PingTimeout: -1}, 0, 0, false},
	} {
		interval, timeout, on := tc.cfg.keepaliveSettings()
		if interval != tc.interval || timeout != tc.timeout || on != tc.on {
			t.Errorf("%s: %v, %v, %v; want %v, %v, %v", tc.name, interval, timeout, on, tc.interval, tc.timeout, tc.on)
		}
	}
}

// keepalivePair is a TCP connection whose server side ran Accept with
// cfg and reads in a goroutine (as a router's session does: the
// keepalive sees only what ReadMsg reads); the client side is the bare
// socket, past the handshake. readErr gets the server's read error.
func keepalivePair(t *testing.T, cfg Config) (client net.Conn, server *Conn, writes *countingConn, readErr <-chan error) {
	t.Helper()
	a, b := tcpConns(t)
	cc := &countingConn{Conn: b}
	accepted := make(chan *Conn, 1)
	go func() {
		c, err := Accept(cc, cfg)
		if err != nil {
			t.Error(err)
		}
		accepted <- c
	}()
	if _, err := a.Write([]byte{Magic, 0xf2, 0, 0}); err != nil {
		t.Fatal(err)
	}
	var reply [4]byte
	a.SetReadDeadline(time.Now().Add(keepaliveBound))
	if _, err := io.ReadFull(a, reply[:]); err != nil {
		t.Fatal(err)
	}
	a.SetReadDeadline(time.Time{})
	server = <-accepted
	if server == nil {
		t.FailNow()
	}
	t.Cleanup(func() { a.Close(); server.Close() })
	errs := make(chan error, 1)
	go func() {
		for {
			if _, err := server.ReadMsg(); err != nil {
				errs <- err
				return
			}
		}
	}()
	return a, server, cc, errs
}

// readFrameHeader reads one frame from the bare client socket and
// returns its type and body.
func readFrameHeader(t *testing.T, nc net.Conn) (typ byte, body []byte, err error) {
	t.Helper()
	nc.SetReadDeadline(time.Now().Add(keepaliveBound))
	var h [4]byte
	if _, err := io.ReadFull(nc, h[:]); err != nil {
		return 0, nil, err
	}
	n := int(h[1])<<16 | int(h[2])<<8 | int(h[3])
	body = make([]byte, n)
	if _, err := io.ReadFull(nc, body); err != nil {
		return 0, nil, err
	}
	return h[0] & 0x07, body, nil
}

// TestKeepaliveClosesSilentPeer: a peer that sends nothing and answers
// no PING (a half-open connection) gets one PING, then the connection is
// closed, and ReadMsg says why.
func TestKeepaliveClosesSilentPeer(t *testing.T) {
	client, _, _, readErr := keepalivePair(t, Config{PingInterval: 50 * time.Millisecond, PingTimeout: 50 * time.Millisecond})
	typ, _, err := readFrameHeader(t, client)
	if err != nil || typ != framePing {
		t.Fatalf("got frame type %d (%v), want a PING", typ, err)
	}
	select {
	case err := <-readErr:
		if !errors.Is(err, ErrPingTimeout) {
			t.Fatalf("ReadMsg: %v, want ErrPingTimeout", err)
		}
	case <-time.After(keepaliveBound):
		t.Fatal("the connection is still open after the PING went unanswered")
	}
	if _, _, err := readFrameHeader(t, client); err == nil {
		t.Fatal("got another frame, want the connection closed")
	}
}

// TestKeepaliveAnsweredPeerStays: a peer that answers each PING with a
// PONG stays connected through many intervals.
func TestKeepaliveAnsweredPeerStays(t *testing.T) {
	client, _, writes, readErr := keepalivePair(t, Config{PingInterval: 20 * time.Millisecond, PingTimeout: keepaliveBound})
	for i := range 5 {
		typ, body, err := readFrameHeader(t, client)
		if err != nil || typ != framePing {
			t.Fatalf("PING %d: frame type %d (%v)", i, typ, err)
		}
		if _, err := client.Write(frame(framePong, body)); err != nil {
			t.Fatal(err)
		}
	}
	select {
	case err := <-readErr:
		t.Fatalf("the connection ended: %v", err)
	default:
	}
	if n := writes.writes.Load(); n < 6 { // the handshake reply and five PINGs
		t.Errorf("%d writes, want at least 6", n)
	}
}

// TestKeepaliveAnyFrameCounts: a peer that never reads, and so never
// answers a PING, but keeps sending, is alive.
func TestKeepaliveAnyFrameCounts(t *testing.T) {
	const interval, timeout = 30 * time.Millisecond, 300 * time.Millisecond
	client, _, _, readErr := keepalivePair(t, Config{PingInterval: interval, PingTimeout: timeout})
	msg := frame(frameMessage, []byte{0x91, 0x01})
	for range int(2 * (interval + timeout) / (10 * time.Millisecond)) {
		client.SetWriteDeadline(time.Now().Add(keepaliveBound))
		if _, err := client.Write(msg); err != nil {
			t.Fatalf("the connection ended while the peer was sending: %v", err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	select {
	case err := <-readErr:
		t.Fatalf("the connection ended while the peer was sending: %v", err)
	default:
	}
}

// TestKeepaliveOff: a negative interval sends no PING.
func TestKeepaliveOff(t *testing.T) {
	_, server, writes, _ := keepalivePair(t, Config{PingInterval: -1, PingTimeout: time.Millisecond})
	if server.ka != nil {
		t.Fatal("keepalive running with PingInterval -1")
	}
	time.Sleep(100 * time.Millisecond)
	if n := writes.writes.Load(); n != 1 { // the handshake reply
		t.Errorf("%d writes, want only the handshake reply", n)
	}
}

// TestKeepaliveClientSide: Connect runs no keepalive; the router's side
// does, and Close stops it.
func TestKeepaliveClientSide(t *testing.T) {
	a, b := net.Pipe()
	client, server := handshake(t, a, b, codec.MsgPack, Config{}, Config{})
	if client.ka != nil {
		t.Error("Connect started a keepalive")
	}
	if server.ka == nil {
		t.Fatal("Accept started no keepalive by default")
	}
	server.Close()
	server.ka.mu.Lock()
	stopped := server.ka.stopped
	server.ka.mu.Unlock()
	if !stopped {
		t.Error("Close left the keepalive running")
	}
}

// A client asks for a keepalive with a positive PingInterval: against a
// router that answers PINGs it stays up; against a peer gone silent its
// ReadMsg ends with ErrPingTimeout.
func TestClientKeepalive(t *testing.T) {
	cfg := Config{Timeout: time.Second, PingInterval: 30 * time.Millisecond, PingTimeout: 30 * time.Millisecond}
	a, b := tcpConns(t)
	client, server := handshake(t, a, b, codec.MsgPack, cfg, Config{Timeout: time.Second, PingInterval: -1})
	go func() { // the router's reader answers the PINGs
		for {
			if _, err := server.ReadMsg(); err != nil {
				return
			}
		}
	}()
	time.AfterFunc(200*time.Millisecond, func() { server.WriteMsg([]byte("still here")) })
	if m, err := client.ReadMsg(); err != nil || string(m) != "still here" {
		t.Fatalf("ReadMsg = %q, %v; want the message after several PINGs answered", m, err)
	}

	a2, b2 := tcpConns(t)
	quiet, _ := handshake(t, a2, b2, codec.MsgPack, cfg, Config{Timeout: time.Second, PingInterval: -1})
	// The far end's reader never runs: no PONG comes.
	start := time.Now()
	if _, err := quiet.ReadMsg(); !errors.Is(err, ErrPingTimeout) {
		t.Fatalf("ReadMsg = %v, want ErrPingTimeout", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("the keepalive took %v", d)
	}
}
