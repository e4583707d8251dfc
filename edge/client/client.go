package client

import (
	"context"
	"crypto/ed25519"
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
// *rawsocket.Conn is one, and Dial makes one over WebSocket. ReadMsg's
// message may be reused by the next call; Close must unblock ReadMsg.
type Transport interface {
	ReadMsg() ([]byte, error)
	WriteMsg(msg []byte) error
	Serializer() codec.Serializer
	Close() error
}

// Config says how to join. The zero Config joins realm1 with MessagePack,
// anonymously.
type Config struct {
	Realm      string           // "realm1" when empty
	Serializer codec.Serializer // codec.MsgPack when zero
	Agent      string           // announced in HELLO
	MaxLength  int              // largest message this client accepts
	TLS        *tls.Config      // for tls:// and wss:// URLs

	// Authentication: each credential set offers its method, in the order
	// cryptosign, wampcra, ticket; with none set the session is anonymous.
	AuthID     string             // requested authid (ticket and wampcra need one)
	AuthRole   string             // requested authrole (optional)
	Ticket     string             // "ticket": the ticket
	Secret     string             // "wampcra": the secret (or password, when the router salts)
	PrivateKey ed25519.PrivateKey // "cryptosign": the key; see LoadPrivateKey

	// Keepalive, when positive, sends a RawSocket PING after this much
	// silence from the router and ends the session (Err is
	// rawsocket.ErrPingTimeout) if nothing comes within as long again:
	// a session on a line gone dead ends instead of waiting for ever.
	// RawSocket transports only (tcp, tls, unix, serial).
	Keepalive time.Duration

	// RawPayloads leaves events, invocations and results undecoded: only
	// their Payload is set, not Args and Kwargs. For a bridge that
	// forwards payloads as they are.
	RawPayloads bool
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
	raw   bool // Config.RawPayloads

	// From WELCOME.
	authID, authRole, authMethod string
	features                     map[string]map[string]bool // role → feature → announced

	nextReq atomic.Uint64

	mu      sync.Mutex
	pending map[uint64]*waiter
	subs    map[uint64]*Subscription
	regs    map[uint64]*Registration
	invs    map[uint64]context.CancelCauseFunc // running invocations, by request
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
// can arrive. progress, if set, takes a call's progressive results.
// cancel says the request is a CALL, to be cancelled when given up on.
type waiter struct {
	ch       chan reply
	install  func(codec.Message)
	progress *progressQueue
	cancel   bool
}

// Dial connects to a router at a transport URL and joins a realm: tcp://,
// tls://, unix://, ws://, wss://, or serial:///DEVICE?baud=115200 for a
// router behind a serial line. ctx bounds connecting and joining.
func Dial(ctx context.Context, url string, cfg Config) (*Client, error) {
	if cfg.Serializer == 0 {
		cfg.Serializer = codec.MsgPack
	}
	var conn Transport
	var err error
	switch {
	case strings.HasPrefix(url, "ws:"), strings.HasPrefix(url, "wss:"):
		conn, err = dialWebSocket(ctx, url, cfg)
	case strings.HasPrefix(url, "serial:"):
		rc := rawsocket.Config{MaxLength: cfg.MaxLength, PingInterval: cfg.Keepalive, PingTimeout: cfg.Keepalive}
		if dl, ok := ctx.Deadline(); ok { // the handshake's time limit
			rc.Timeout = max(time.Until(dl), time.Millisecond)
		}
		conn, err = serial.Dial(url, cfg.Serializer, rc)
	default:
		conn, err = rawsocket.Dial(ctx, url, cfg.Serializer, rawsocket.DialConfig{
			Config: rawsocket.Config{MaxLength: cfg.MaxLength, PingInterval: cfg.Keepalive, PingTimeout: cfg.Keepalive},
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

// Join runs a session over a connected transport: HELLO, answering each
// CHALLENGE with the credentials cfg holds, then WELCOME, or the router's
// ABORT as an *AbortError.
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
	if cfg.PrivateKey != nil && len(cfg.PrivateKey) != ed25519.PrivateKeySize {
		return nil, fmt.Errorf("client: the private key has %d bytes, not %d", len(cfg.PrivateKey), ed25519.PrivateKeySize)
	}
	c := &Client{
		t: t, dec: dec, enc: codec.NewCodec(t.Serializer()), realm: cfg.Realm, raw: cfg.RawPayloads,
		pending: make(map[uint64]*waiter),
		subs:    make(map[uint64]*Subscription),
		regs:    make(map[uint64]*Registration),
		invs:    make(map[uint64]context.CancelCauseFunc),
		events:  make(chan func(), 256),
		done:    make(chan struct{}),
	}
	c.ctx, c.stop = context.WithCancel(context.Background())
	offered := authMethods(cfg)
	hd := codec.HelloDetails{
		Roles:       clientRoles,
		Agent:       cfg.Agent,
		AuthMethods: offered,
		AuthID:      cfg.AuthID,
		AuthRole:    cfg.AuthRole,
		AuthExtra:   authExtra(cfg),
	}
	details, err := hd.MarshalMsg(nil)
	if err != nil {
		return nil, fmt.Errorf("client: HELLO: %w", err)
	}
	if err := c.send(&codec.Hello{Realm: []byte(cfg.Realm), Details: details}); err != nil {
		return nil, err
	}
	// Until WELCOME nothing else runs: read it here, under ctx.
	stop := context.AfterFunc(ctx, func() { t.Close() })
	welcome, err := c.handshake(cfg, offered)
	if !stop() {
		c.stop()
		return nil, fmt.Errorf("client: joining %s: %w", cfg.Realm, ctx.Err())
	}
	if err != nil {
		c.stop()
		return nil, err
	}
	c.id = welcome.Session
	c.welcomed(welcome.Details)
	go c.readLoop()
	go c.dispatchEvents()
	return c, nil
}

// clientRoles are the roles and features HELLO announces: what this
// package implements. Routers forward progressive results and INTERRUPT
// only to callees that announce them.
var clientRoles = map[string]codec.Role{
	"publisher":  {Features: map[string]bool{"publisher_exclusion": true, "publisher_identification": true}},
	"subscriber": {Features: map[string]bool{"pattern_based_subscription": true, "publisher_identification": true}},
	"caller": {Features: map[string]bool{
		"caller_identification": true, "progressive_call_results": true, "call_canceling": true,
	}},
	"callee": {Features: map[string]bool{
		"caller_identification": true, "progressive_call_results": true, "call_canceling": true,
		"pattern_based_registration": true, "shared_registration": true,
	}},
}

// handshake reads the router's answers to HELLO up to WELCOME, answering
// each CHALLENGE (there may be more than one round).
func (c *Client) handshake(cfg Config, offered []string) (*codec.Welcome, error) {
	for {
		msg, err := c.read()
		if err != nil {
			return nil, fmt.Errorf("client: joining %s: %w", cfg.Realm, err)
		}
		switch m := msg.(type) {
		case *codec.Welcome:
			return m, nil
		case *codec.Abort:
			return nil, abortError(m.Details, m.Reason)
		case *codec.Challenge:
			signature, err := signChallenge(cfg, offered, string(m.AuthMethod), m.Extra)
			if err != nil {
				d, _ := (&codec.CloseDetails{Message: err.Error()}).MarshalMsg(nil)
				c.send(&codec.Abort{Details: d, Reason: []byte("wamp.error.cannot_authenticate")})
				return nil, fmt.Errorf("client: joining %s: %w", cfg.Realm, err)
			}
			if err := c.send(&codec.Authenticate{Signature: []byte(signature)}); err != nil {
				return nil, fmt.Errorf("client: joining %s: %w", cfg.Realm, err)
			}
		default:
			return nil, fmt.Errorf("client: joining %s: router sent %v instead of WELCOME", cfg.Realm, msg.Type())
		}
	}
}

// welcomed keeps what WELCOME.Details says about the session and the
// router. Details that do not decode leave them empty: the session is
// fine, the router just announced nothing usable.
func (c *Client) welcomed(details []byte) {
	var d codec.WelcomeDetails
	if d.Decode(details) != nil {
		return
	}
	c.authID, c.authRole, c.authMethod = d.AuthID, d.AuthRole, d.AuthMethod
	c.features = make(map[string]map[string]bool, len(d.Roles))
	for role, r := range d.Roles {
		c.features[role] = r.Features
	}
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

// AuthID is the authid the router assigned in WELCOME ("" if it gave none).
func (c *Client) AuthID() string { return c.authID }

// AuthRole is the authrole the router assigned in WELCOME.
func (c *Client) AuthRole() string { return c.authRole }

// AuthMethod is the authentication method the router used, as WELCOME
// says ("anonymous", "ticket", "wampcra", "cryptosign", ...).
func (c *Client) AuthMethod() string { return c.authMethod }

// RouterFeature reports whether WELCOME announced feature for role, as
// in RouterFeature("dealer", "progressive_call_results").
func (c *Client) RouterFeature(role, feature string) bool {
	features := c.features[role]
	if feature == "call_canceling" && features["call_cancelling"] { // a spelling in the spec text
		return true
	}
	return features[feature]
}

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
	return c.awaitWith(ctx, req, m, &waiter{})
}

// awaitInstall is await with a function the reader runs on success.
func (c *Client) awaitInstall(ctx context.Context, req uint64, m codec.Message, install func(codec.Message)) (codec.Message, error) {
	return c.awaitWith(ctx, req, m, &waiter{install: install})
}

// awaitWith sends a request and waits for its answer as w says; a call's
// progressive results are delivered here, in order, before its answer.
func (c *Client) awaitWith(ctx context.Context, req uint64, m codec.Message, w *waiter) (codec.Message, error) {
	w.ch = make(chan reply, 1)
	if err := c.addPending(req, w); err != nil {
		return nil, err
	}
	defer c.dropPending(req) // given up on: a late reply is dropped
	if err := c.send(m); err != nil {
		return nil, err
	}
	var ready <-chan struct{} // nil, never ready, without progress
	if w.progress != nil {
		ready = w.progress.ready
	}
	for {
		select {
		case <-ready:
			w.progress.deliver()
		case r := <-w.ch:
			if w.progress != nil {
				w.progress.deliver() // those that came before the answer
			}
			return r.msg, r.err
		case <-ctx.Done():
			if w.cancel {
				c.cancelCall(req)
			}
			return nil, ctx.Err()
		case <-c.done:
			return nil, c.closedErr()
		}
	}
}

// addPending makes req's answer go to w.
func (c *Client) addPending(req uint64, w *waiter) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closing {
		return ErrClosed
	}
	c.pending[req] = w
	return nil
}

func (c *Client) dropPending(req uint64) {
	c.mu.Lock()
	delete(c.pending, req)
	c.mu.Unlock()
}

// cancelCall asks the router to cancel a call given up on, if it said it
// can: a router that did not may take CANCEL for a protocol violation.
// killnowait: the callee is interrupted and the router answers at once
// (the answer is dropped, as nobody waits for it).
func (c *Client) cancelCall(req uint64) {
	if !c.RouterFeature("dealer", "call_canceling") {
		return
	}
	options, _ := (&codec.CancelOptions{Mode: "killnowait"}).MarshalMsg(nil)
	c.send(&codec.Cancel{Request: req, Options: options})
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
				cancel(ErrInterrupted)
			}
		case *codec.Result:
			c.onResult(m)
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
