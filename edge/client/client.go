package client

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/wampedge/wampedge/codec"
	"github.com/wampedge/wampedge/rawsocket"
	"github.com/wampedge/wampedge/serial"
)

// Transport is the message connection a client runs over;
// *rawsocket.Conn is one.
type Transport interface {
	ReadMsg() ([]byte, error)
	WriteMsg(msg []byte) error
	Serializer() codec.Serializer
	Close() error
}

// Config says how to join. The zero Config joins realm1 with MessagePack.
type Config struct {
	Realm      string           // "realm1" when empty
	Serializer codec.Serializer // codec.MsgPack when zero
	AuthID     string           // requested authid (optional)
	Agent      string           // announced in HELLO
	MaxLength  int              // largest message this client accepts
	TLS        *tls.Config      // for tls:// URLs
}

// ErrClosed is returned by calls on a client whose session has ended.
var ErrClosed = errors.New("client: session closed")

// Client is one WAMP session: publish, subscribe, call, register. All
// methods are safe for concurrent use. Event handlers run one at a time
// in order of arrival; invocation handlers each in a goroutine of their
// own.
type Client struct {
	t     Transport
	dec   codec.Codec // reader's
	enc   codec.Codec // writers', under wmu
	wmu   sync.Mutex
	wbuf  []byte
	id    uint64
	realm string

	nextReq atomic.Uint64

	mu      sync.Mutex
	pending map[uint64]*waiter
	subs    map[uint64]*Subscription
	regs    map[uint64]*Registration
	invs    map[uint64]context.CancelFunc
	closing bool

	events chan func()
	ctx    context.Context // cancelled when the session ends
	stop   context.CancelFunc
	done   chan struct{}
	err    error // why the session ended; set before done closes
}

type reply struct {
	msg codec.Message
	err error
}

// waiter is a request waiting for its answer. install, if set, runs in
// the reader goroutine on a successful answer, before the reader reads
// on: a handler is in place before the first event or invocation for it
// can arrive.
type waiter struct {
	ch      chan reply
	install func(codec.Message)
}

// Dial connects to a router at a transport URL (tcp://, tls://, unix://,
// or serial:///DEVICE?baud=115200 for a router behind a serial line) and
// joins a realm. ctx bounds connecting and joining.
func Dial(ctx context.Context, url string, cfg Config) (*Client, error) {
	if cfg.Serializer == 0 {
		cfg.Serializer = codec.MsgPack
	}
	var conn *rawsocket.Conn
	var err error
	if strings.HasPrefix(url, "serial:") {
		rc := rawsocket.Config{MaxLength: cfg.MaxLength}
		if dl, ok := ctx.Deadline(); ok { // the handshake's time limit
			rc.Timeout = max(time.Until(dl), time.Millisecond)
		}
		conn, err = serial.Dial(url, cfg.Serializer, rc)
	} else {
		conn, err = rawsocket.Dial(ctx, url, cfg.Serializer, rawsocket.DialConfig{
			Config: rawsocket.Config{MaxLength: cfg.MaxLength},
			TLS:    cfg.TLS,
		})
	}
	if err != nil {
		return nil, err
	}
	c, err := Join(ctx, conn, cfg)
	if err != nil {
		conn.Close()
		return nil, err
	}
	return c, nil
}

// Join runs a session over a connected transport: HELLO, then WELCOME or
// the router's ABORT as an *AbortError.
func Join(ctx context.Context, t Transport, cfg Config) (*Client, error) {
	if cfg.Realm == "" {
		cfg.Realm = "realm1"
	}
	if cfg.Agent == "" {
		cfg.Agent = "wampedge-client"
	}
	dec := codec.NewCodec(t.Serializer())
	if dec == nil {
		return nil, fmt.Errorf("client: unsupported serializer %v", t.Serializer())
	}
	c := &Client{
		t: t, dec: dec, enc: codec.NewCodec(t.Serializer()), realm: cfg.Realm,
		pending: make(map[uint64]*waiter),
		subs:    make(map[uint64]*Subscription),
		regs:    make(map[uint64]*Registration),
		invs:    make(map[uint64]context.CancelFunc),
		events:  make(chan func(), 256),
		done:    make(chan struct{}),
	}
	c.ctx, c.stop = context.WithCancel(context.Background())
	hd := codec.HelloDetails{
		Roles: map[string]codec.Role{
			"publisher": {}, "subscriber": {}, "caller": {}, "callee": {},
		},
		Agent:  cfg.Agent,
		AuthID: cfg.AuthID,
	}
	details, _ := hd.MarshalMsg(nil)
	if err := c.send(&codec.Hello{Realm: []byte(cfg.Realm), Details: details}); err != nil {
		return nil, err
	}
	// Until WELCOME nothing else runs: read it here, under ctx.
	stop := context.AfterFunc(ctx, func() { t.Close() })
	msg, err := c.read()
	if !stop() {
		c.stop()
		return nil, fmt.Errorf("client: joining %s: %w", cfg.Realm, ctx.Err())
	}
	if err != nil {
		c.stop()
		return nil, fmt.Errorf("client: joining %s: %w", cfg.Realm, err)
	}
	switch m := msg.(type) {
	case *codec.Welcome:
		c.id = m.Session
	case *codec.Abort:
		c.stop()
		return nil, abortError(m.Details, m.Reason)
	default:
		c.stop()
		return nil, fmt.Errorf("client: joining %s: router sent %v instead of WELCOME", cfg.Realm, msg.Type())
	}
	go c.readLoop()
	go c.dispatchEvents()
	return c, nil
}

func abortError(details, reason []byte) *AbortError {
	var d codec.CloseDetails
	d.Decode(codec.TypeAbort, details)
	return &AbortError{Reason: string(reason), Message: d.Message}
}

// ID is the session ID the router assigned.
func (c *Client) ID() uint64 { return c.id }

// Realm is the realm the session joined.
func (c *Client) Realm() string { return c.realm }

// Done is closed when the session has ended; Err then says why.
func (c *Client) Done() <-chan struct{} { return c.done }

// Err is why the session ended (nil after a clean Close).
func (c *Client) Err() error {
	select {
	case <-c.done:
		return c.err
	default:
		return nil
	}
}

// read returns the next message, decoded into a fresh struct that owns
// its bytes (the transport reuses its buffer).
func (c *Client) read() (codec.Message, error) {
	frame, err := c.t.ReadMsg()
	if err != nil {
		return nil, err
	}
	msg, err := c.dec.Decode(nil, frame)
	if err != nil {
		return nil, err
	}
	if c.t.Serializer() == codec.MsgPack {
		msg = append([]byte(nil), msg...)
	}
	return codec.Decode(msg)
}

// send encodes and writes one message; on an ended session it fails
// with ErrClosed, not with the transport's error.
func (c *Client) send(m codec.Message) error {
	select {
	case <-c.done:
		return c.closedErr()
	default:
	}
	c.wmu.Lock()
	defer c.wmu.Unlock()
	msg := m.Append(c.wbuf[:0])
	var err error
	wire := msg
	if c.enc.Serializer() != codec.MsgPack {
		if wire, err = c.enc.Encode(nil, msg); err != nil {
			return err
		}
	}
	c.wbuf = msg[:0]
	return c.t.WriteMsg(wire)
}

func (c *Client) request() uint64 { return c.nextReq.Add(1) }

// await registers a request, sends it, and waits for its answer.
func (c *Client) await(ctx context.Context, req uint64, m codec.Message) (codec.Message, error) {
	return c.awaitInstall(ctx, req, m, nil)
}

// awaitInstall is await with a function the reader runs on success.
func (c *Client) awaitInstall(ctx context.Context, req uint64, m codec.Message, install func(codec.Message)) (codec.Message, error) {
	w := &waiter{ch: make(chan reply, 1), install: install}
	c.mu.Lock()
	if c.closing {
		c.mu.Unlock()
		return nil, ErrClosed
	}
	c.pending[req] = w
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		delete(c.pending, req) // given up on: a late reply is dropped
		c.mu.Unlock()
	}()
	if err := c.send(m); err != nil {
		return nil, err
	}
	select {
	case r := <-w.ch:
		return r.msg, r.err
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-c.done:
		return nil, c.closedErr()
	}
}

func (c *Client) closedErr() error {
	if c.err != nil {
		return fmt.Errorf("%w: %v", ErrClosed, c.err)
	}
	return ErrClosed
}

// answer delivers a reply to the request waiting for it; a reply to a
// request given up on (its ctx ended) is dropped.
func (c *Client) answer(req uint64, r reply) {
	c.mu.Lock()
	w := c.pending[req]
	delete(c.pending, req)
	c.mu.Unlock()
	if w == nil {
		return
	}
	if w.install != nil && r.err == nil {
		w.install(r.msg)
	}
	w.ch <- r
}

func (c *Client) readLoop() {
	var err error
	defer func() { c.end(err) }()
	for {
		var msg codec.Message
		if msg, err = c.read(); err != nil {
			return
		}
		switch m := msg.(type) {
		case *codec.Event:
			c.onEvent(m)
		case *codec.Invocation:
			c.onInvocation(m)
		case *codec.Interrupt:
			c.mu.Lock()
			cancel := c.invs[m.Request]
			c.mu.Unlock()
			if cancel != nil {
				cancel()
			}
		case *codec.Result:
			c.answer(m.Request, reply{msg: m})
		case *codec.Published:
			c.answer(m.Request, reply{msg: m})
		case *codec.Subscribed:
			c.answer(m.Request, reply{msg: m})
		case *codec.Unsubscribed:
			c.answer(m.Request, reply{msg: m})
		case *codec.Registered:
			c.answer(m.Request, reply{msg: m})
		case *codec.Unregistered:
			c.answer(m.Request, reply{msg: m})
		case *codec.Error:
			c.answer(m.Request, reply{err: &Error{URI: string(m.Error), Payload: Payload{Args: m.Args, Kwargs: m.Kwargs}}})
		case *codec.Goodbye:
			c.mu.Lock()
			leaving := c.closing
			c.mu.Unlock()
			if !leaving { // the router closes the session: answer it
				c.send(&codec.Goodbye{Reason: []byte("wamp.close.goodbye_and_out")})
				err = &AbortError{Reason: string(m.Reason), Message: closeMessage(m.Details)}
			} else {
				err = nil
			}
			return
		case *codec.Abort:
			err = abortError(m.Details, m.Reason)
			return
		}
	}
}

func closeMessage(details []byte) string {
	var d codec.CloseDetails
	d.Decode(codec.TypeGoodbye, details)
	return d.Message
}

// end records why the session ended and releases everything waiting.
func (c *Client) end(err error) {
	c.mu.Lock()
	initiated := c.closing // by Close: the transport error is ours
	c.closing = true
	c.mu.Unlock()
	if err != nil && !initiated {
		c.err = err
	}
	c.t.Close()
	c.stop()
	close(c.done)
}

// Close leaves the realm with GOODBYE, waits up to a second for the
// router's reply, and closes the connection.
func (c *Client) Close() error {
	c.mu.Lock()
	already := c.closing
	c.closing = true
	c.mu.Unlock()
	if !already {
		c.send(&codec.Goodbye{Reason: []byte("wamp.close.close_realm")})
		select {
		case <-c.done:
		case <-time.After(time.Second):
		}
	}
	c.t.Close()
	<-c.done
	return nil
}
