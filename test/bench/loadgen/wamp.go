package loadgen

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/tinylib/msgp/msgp"
	"github.com/wampedge/wampedge/codec"
	"github.com/wampedge/wampedge/rawsocket"
)

// Realm is the realm every WAMP target serves.
const Realm = "realm1"

// helloDetails announces every role the benchmark plays.
var helloDetails, _ = (&codec.HelloDetails{
	Roles: map[string]codec.Role{"publisher": {}, "subscriber": {}, "caller": {}, "callee": {}},
	Agent: "wampedge-bench",
}).MarshalMsg(nil)

// DialWAMP connects to a router at addr (HOST:PORT) over RawSocket with
// MessagePack and joins Realm. ctx bounds the set-up.
func DialWAMP(ctx context.Context, addr string) (*Conn, error) {
	c, err := dialRawSocket(ctx, addr)
	if err != nil {
		return nil, err
	}
	if err := c.request(ctx, &codec.Hello{Realm: []byte(Realm), Details: helloDetails}, codec.TypeWelcome); err != nil {
		c.Close()
		return nil, fmt.Errorf("joining %s: %w", Realm, err)
	}
	return c, nil
}

// HandshakeWAMP runs the RawSocket handshake alone, as a router's first
// accepted connection, and closes the connection.
func HandshakeWAMP(ctx context.Context, addr string) error {
	c, err := dialRawSocket(ctx, addr)
	if err != nil {
		return err
	}
	return c.Close()
}

func dialRawSocket(ctx context.Context, addr string) (*Conn, error) {
	var d net.Dialer
	nc, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	cfg := rawsocket.Config{MaxLength: rawsocket.MaxLength}
	if dl, ok := ctx.Deadline(); ok {
		cfg.Timeout = max(time.Until(dl), time.Millisecond)
	}
	if _, err := rawsocket.Connect(nc, codec.MsgPack, cfg); err != nil {
		nc.Close()
		return nil, err
	}
	return newConn(nc, wampFraming), nil
}

// SubscribeWAMP subscribes c to topic.
func (c *Conn) SubscribeWAMP(ctx context.Context, topic string) error {
	return c.request(ctx, &codec.Subscribe{Request: 1, Topic: []byte(topic)}, codec.TypeSubscribed)
}

// RegisterWAMP registers c as the callee of procedure.
func (c *Conn) RegisterWAMP(ctx context.Context, procedure string) error {
	return c.request(ctx, &codec.Register{Request: 1, Procedure: []byte(procedure)}, codec.TypeRegistered)
}

// request sends m and reads the one answer it expects, within ctx.
func (c *Conn) request(ctx context.Context, m codec.Message, want codec.Type) error {
	if dl, ok := ctx.Deadline(); ok {
		c.nc.SetDeadline(dl)
		defer c.nc.SetDeadline(time.Time{})
	}
	if err := c.Write(AppendWAMP(nil, m)); err != nil {
		return err
	}
	f, err := c.ReadFrame()
	if err != nil {
		return err
	}
	msg := f[4:]
	got, err := codec.TypeOf(msg)
	if err != nil {
		return err
	}
	if got != want {
		return fmt.Errorf("got %v, want %v: %s", got, want, describe(msg))
	}
	return nil
}

// describe says what an unexpected answer (ABORT, ERROR) was about.
func describe(msg []byte) string {
	m, err := codec.Decode(msg)
	if err != nil {
		return err.Error()
	}
	switch m := m.(type) {
	case *codec.Abort:
		return string(m.Reason)
	case *codec.Error:
		return string(m.Error)
	}
	return fmt.Sprintf("%T", m)
}

// AppendWAMP appends m as a RawSocket frame.
func AppendWAMP(b []byte, m codec.Message) []byte {
	start := len(b)
	b = append(b, 0, 0, 0, 0)
	b = m.Append(b)
	binary.BigEndian.PutUint32(b[start:], uint32(len(b)-start-4))
	return b
}

// Payload40 is a 40-byte MessagePack Arguments list: ["<38 bytes>"].
var Payload40 = append([]byte{0x91, 0xd9, 38}, []byte("0123456789abcdefghijklmnopqrstuvwxyzAB")...)

// RequestID reads element 1 of the WAMP message in a frame: the request
// ID of an INVOCATION, RESULT, CALL or YIELD.
func RequestID(frame []byte) (uint64, error) {
	if len(frame) < 4 {
		return 0, errors.New("loadgen: short frame")
	}
	b := frame[4:]
	n, b, err := msgp.ReadArrayHeaderBytes(b)
	if err != nil || n < 2 {
		return 0, fmt.Errorf("loadgen: not a WAMP message: % x", frame[4:min(len(frame), 20)])
	}
	if _, b, err = msgp.ReadUint64Bytes(b); err != nil {
		return 0, err
	}
	id, _, err := msgp.ReadUint64Bytes(b)
	return id, err
}

// wampFraming is RawSocket's: a 4-byte header, 24 bits of length.
func wampFraming(b []byte) (int, error) {
	if len(b) < 4 {
		return 0, nil
	}
	if b[0]&0xf8 != 0 {
		return 0, fmt.Errorf("loadgen: RawSocket header with reserved bits: % x", b[:4])
	}
	n := 4 + (int(b[1])<<16 | int(b[2])<<8 | int(b[3]))
	if len(b) < n {
		return 0, nil
	}
	return n, nil
}
