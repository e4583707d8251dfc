package interop

import (
	"context"
	"errors"
	"strings"
	"sync"

	nexus "github.com/gammazero/nexus/v3/client"
	"github.com/gammazero/nexus/v3/transport/serialize"
	"github.com/gammazero/nexus/v3/wamp"
	"github.com/wampedge/wampedge/codec"
	"github.com/wampedge/wampedge/edge/client"
	"github.com/xconnio/xconn-go"
)

// Go peers run in the test process. Their Kill is done by the harness:
// it drops the peer's connections at its proxy, which is what the router
// sees of a killed process.

// ---- wampedge's own client ----

type edgePeer struct {
	c      *client.Client
	events chan Event
	mu     sync.Mutex
	subs   map[uint64]*client.Subscription
	regs   map[uint64]*client.Registration
}

func startEdgePeer(url, ser string) (Peer, error) {
	s := codec.MsgPack
	if ser == "json" {
		s = codec.JSON
	}
	ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
	defer cancel()
	c, err := client.Dial(ctx, url, client.Config{Serializer: s, MaxLength: peerMaxLen})
	if err != nil {
		return nil, err
	}
	return &edgePeer{c: c, events: make(chan Event, 1024), subs: map[uint64]*client.Subscription{}, regs: map[uint64]*client.Registration{}}, nil
}

func edgeErr(err error) error {
	var ce *client.Error
	if errors.As(err, &ce) {
		args, kwargs, _ := ce.Decode()
		return &WampError{URI: ce.URI, Payload: controlPayload(args, kwargs)}
	}
	return err
}

func edgePayload(p Payload) client.Payload {
	args, kwargs := nativeArgs(p)
	return client.ArgsKw(args, kwargs)
}

func (e *edgePeer) ctx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), opTimeout)
}

func (e *edgePeer) Session() uint64      { return e.c.ID() }
func (e *edgePeer) Events() <-chan Event { return e.events }

func (e *edgePeer) Subscribe(topic string) (uint64, error) {
	ctx, cancel := e.ctx()
	defer cancel()
	sub, err := e.c.Subscribe(ctx, topic, func(ev *client.Event) {
		e.events <- Event{Publication: ev.Publication, Payload: controlPayload(ev.Args, ev.Kwargs)}
	})
	if err != nil {
		return 0, edgeErr(err)
	}
	e.mu.Lock()
	e.subs[sub.ID] = sub
	e.mu.Unlock()
	return sub.ID, nil
}

func (e *edgePeer) Unsubscribe(id uint64) error {
	ctx, cancel := e.ctx()
	defer cancel()
	e.mu.Lock()
	sub := e.subs[id]
	e.mu.Unlock()
	return edgeErr(e.c.Unsubscribe(ctx, sub))
}

func (e *edgePeer) Publish(topic string, p Payload, ack bool, excludeMe *bool) error {
	ctx, cancel := e.ctx()
	defer cancel()
	return edgeErr(e.c.Publish(ctx, topic, edgePayload(p), client.PublishOptions{Acknowledge: ack, IncludeMe: excludeMe != nil && !*excludeMe}))
}

func (e *edgePeer) Register(procedure, behavior string) (uint64, error) {
	ctx, cancel := e.ctx()
	defer cancel()
	reg, err := e.c.Register(ctx, procedure, func(_ context.Context, inv *client.Invocation) (client.Payload, error) {
		if behavior == "error" {
			return client.Payload{}, &client.Error{URI: "com.example.error", Payload: inv.Payload}
		}
		return inv.Payload, nil
	})
	if err != nil {
		return 0, edgeErr(err)
	}
	e.mu.Lock()
	e.regs[reg.ID] = reg
	e.mu.Unlock()
	return reg.ID, nil
}

func (e *edgePeer) Unregister(id uint64) error {
	ctx, cancel := e.ctx()
	defer cancel()
	e.mu.Lock()
	reg := e.regs[id]
	e.mu.Unlock()
	return edgeErr(e.c.Unregister(ctx, reg))
}

func (e *edgePeer) Call(procedure string, p Payload) (Payload, error) {
	ctx, cancel := e.ctx()
	defer cancel()
	res, err := e.c.Call(ctx, procedure, edgePayload(p))
	if err != nil {
		return Payload{}, edgeErr(err)
	}
	return controlPayload(res.Args, res.Kwargs), nil
}

func (e *edgePeer) Leave() error { return e.c.Close() }
func (e *edgePeer) Kill()        {}

// ---- the nexus client ----

type nexusPeer struct {
	c      *nexus.Client
	events chan Event
	mu     sync.Mutex
	topics map[uint64]string // subscription -> topic: nexus unsubscribes by topic
	procs  map[uint64]string
}

func startNexusPeer(url, ser string) (Peer, error) {
	p := &nexusPeer{events: make(chan Event, 1024), topics: map[uint64]string{}, procs: map[uint64]string{}}
	cfg := nexus.Config{Realm: "realm1", Serialization: serialize.MSGPACK, RecvLimit: peerMaxLen, Logger: quietLogger{}}
	if ser == "json" {
		cfg.Serialization = serialize.JSON
	}
	ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
	defer cancel()
	// nexus takes tcp://HOST:PORT and unix://PATH.
	c, err := nexus.ConnectNet(ctx, url, cfg)
	if err != nil {
		return nil, err
	}
	p.c = c
	return p, nil
}

type quietLogger struct{}

func (quietLogger) Print(...any)          {}
func (quietLogger) Println(...any)        {}
func (quietLogger) Printf(string, ...any) {}

func nexusErr(err error) error {
	var re nexus.RPCError
	if errors.As(err, &re) && re.Err != nil {
		return &WampError{URI: string(re.Err.Error), Payload: controlPayload(re.Err.Arguments, re.Err.ArgumentsKw)}
	}
	if err != nil && strings.Contains(err.Error(), "wamp.error.") {
		// nexus reports subscribe/register errors as text: keep the URI.
		i := strings.Index(err.Error(), "wamp.error.")
		uri := strings.Fields(err.Error()[i:])[0]
		return &WampError{URI: strings.TrimRight(uri, ":,)"), Payload: Payload{}}
	}
	return err
}

func (n *nexusPeer) Session() uint64      { return uint64(n.c.ID()) }
func (n *nexusPeer) Events() <-chan Event { return n.events }

func (n *nexusPeer) Subscribe(topic string) (uint64, error) {
	err := n.c.Subscribe(topic, func(ev *wamp.Event) {
		n.events <- Event{Subscription: uint64(ev.Subscription), Publication: uint64(ev.Publication), Payload: controlPayload(ev.Arguments, ev.ArgumentsKw)}
	}, nil)
	if err != nil {
		return 0, nexusErr(err)
	}
	id, _ := n.c.SubscriptionID(topic)
	n.mu.Lock()
	n.topics[uint64(id)] = topic
	n.mu.Unlock()
	return uint64(id), nil
}

func (n *nexusPeer) Unsubscribe(id uint64) error {
	n.mu.Lock()
	topic := n.topics[id]
	n.mu.Unlock()
	return nexusErr(n.c.Unsubscribe(topic))
}

func (n *nexusPeer) Publish(topic string, p Payload, ack bool, excludeMe *bool) error {
	opts := wamp.Dict{}
	if ack {
		opts["acknowledge"] = true
	}
	if excludeMe != nil {
		opts["exclude_me"] = *excludeMe
	}
	args, kwargs := nativeArgs(p)
	return nexusErr(n.c.Publish(topic, opts, args, kwargs))
}

func (n *nexusPeer) Register(procedure, behavior string) (uint64, error) {
	err := n.c.Register(procedure, func(_ context.Context, inv *wamp.Invocation) nexus.InvokeResult {
		if behavior == "error" {
			return nexus.InvokeResult{Err: "com.example.error", Args: inv.Arguments, Kwargs: inv.ArgumentsKw}
		}
		return nexus.InvokeResult{Args: inv.Arguments, Kwargs: inv.ArgumentsKw}
	}, nil)
	if err != nil {
		return 0, nexusErr(err)
	}
	id, _ := n.c.RegistrationID(procedure)
	n.mu.Lock()
	n.procs[uint64(id)] = procedure
	n.mu.Unlock()
	return uint64(id), nil
}

func (n *nexusPeer) Unregister(id uint64) error {
	n.mu.Lock()
	procedure := n.procs[id]
	n.mu.Unlock()
	return nexusErr(n.c.Unregister(procedure))
}

func (n *nexusPeer) Call(procedure string, p Payload) (Payload, error) {
	ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
	defer cancel()
	args, kwargs := nativeArgs(p)
	res, err := n.c.Call(ctx, procedure, nil, args, kwargs, nil)
	if err != nil {
		return Payload{}, nexusErr(err)
	}
	return controlPayload(res.Arguments, res.ArgumentsKw), nil
}

func (n *nexusPeer) Leave() error { return n.c.Close() }
func (n *nexusPeer) Kill()        {}

// ---- the xconn-go client ----

type xconnPeer struct {
	s      *xconn.Session
	events chan Event
	mu     sync.Mutex
	subs   map[uint64]xconn.SubscribeResponse
	regs   map[uint64]xconn.RegisterResponse
	nextID uint64 // xconn does not expose router IDs: local handles
}

func startXconnPeer(url, ser string) (Peer, error) {
	p := &xconnPeer{events: make(chan Event, 1024), subs: map[uint64]xconn.SubscribeResponse{}, regs: map[uint64]xconn.RegisterResponse{}}
	spec := xconn.MsgPackSerializerSpec
	if ser == "json" {
		spec = xconn.JSONSerializerSpec
	}
	c := xconn.Client{SerializerSpec: spec}
	ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
	defer cancel()
	s, err := c.Connect(ctx, strings.Replace(url, "tcp://", "rs://", 1), "realm1")
	if err != nil {
		return nil, err
	}
	p.s = s
	return p, nil
}

func xconnErr(err error) error {
	var xe *xconn.Error
	if errors.As(err, &xe) {
		return &WampError{URI: xe.URI, Payload: controlPayload(xe.Args, xe.Kwargs)}
	}
	return err
}

func (x *xconnPeer) Session() uint64      { return x.s.ID() }
func (x *xconnPeer) Events() <-chan Event { return x.events }

func (x *xconnPeer) handle() uint64 {
	x.mu.Lock()
	defer x.mu.Unlock()
	x.nextID++
	return x.nextID
}

func (x *xconnPeer) Subscribe(topic string) (uint64, error) {
	r := x.s.Subscribe(topic, func(ev *xconn.Event) {
		x.events <- Event{Payload: controlPayload(ev.Args(), ev.Kwargs())}
	}).Do()
	if r.Err != nil {
		return 0, xconnErr(r.Err)
	}
	id := x.handle()
	x.mu.Lock()
	x.subs[id] = r
	x.mu.Unlock()
	return id, nil
}

func (x *xconnPeer) Unsubscribe(id uint64) error {
	x.mu.Lock()
	r := x.subs[id]
	x.mu.Unlock()
	return xconnErr(r.Unsubscribe())
}

func (x *xconnPeer) Publish(topic string, p Payload, ack bool, excludeMe *bool) error {
	args, kwargs := nativeArgs(p)
	req := x.s.Publish(topic).Args(args...).Kwargs(kwargs)
	if ack {
		req = req.Acknowledge(true)
	}
	if excludeMe != nil {
		req = req.ExcludeMe(*excludeMe)
	}
	return xconnErr(req.Do().Err)
}

func (x *xconnPeer) Register(procedure, behavior string) (uint64, error) {
	r := x.s.Register(procedure, func(_ context.Context, inv *xconn.Invocation) *xconn.InvocationResult {
		if behavior == "error" {
			return &xconn.InvocationResult{Err: "com.example.error", Args: inv.Args(), Kwargs: inv.Kwargs()}
		}
		return &xconn.InvocationResult{Args: inv.Args(), Kwargs: inv.Kwargs()}
	}).Do()
	if r.Err != nil {
		return 0, xconnErr(r.Err)
	}
	id := x.handle()
	x.mu.Lock()
	x.regs[id] = r
	x.mu.Unlock()
	return id, nil
}

func (x *xconnPeer) Unregister(id uint64) error {
	x.mu.Lock()
	r := x.regs[id]
	x.mu.Unlock()
	return xconnErr(r.Unregister())
}

func (x *xconnPeer) Call(procedure string, p Payload) (Payload, error) {
	args, kwargs := nativeArgs(p)
	ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
	defer cancel()
	r := x.s.Call(procedure).Args(args...).Kwargs(kwargs).DoContext(ctx)
	if r.Err != nil {
		return Payload{}, xconnErr(r.Err)
	}
	return controlPayload(r.Args(), r.Kwargs()), nil
}

func (x *xconnPeer) Leave() error { return x.s.Leave() }
func (x *xconnPeer) Kill()        {}
