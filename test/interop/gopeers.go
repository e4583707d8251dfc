package interop

import (
	"cmp"
	"context"
	"errors"
	"strings"
	"sync"
	"time"

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
	notes  chan Note
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
	return &edgePeer{c: c, events: make(chan Event, 1024), notes: make(chan Note, 64), subs: map[uint64]*client.Subscription{}, regs: map[uint64]*client.Registration{}}, nil
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

func (e *edgePeer) Notes() <-chan Note { return e.notes }

func (e *edgePeer) Subscribe(topic string) (uint64, error) { return e.SubscribeWith(topic, SubOpts{}) }

func (e *edgePeer) SubscribeWith(topic string, o SubOpts) (uint64, error) {
	if o.GetRetained {
		return 0, unsupported("get_retained: edge/client's SubscribeOptions has Match only")
	}
	ctx, cancel := e.ctx()
	defer cancel()
	sub, err := e.c.SubscribeWith(ctx, topic, client.SubscribeOptions{Match: o.Match}, func(ev *client.Event) {
		e.events <- Event{Publication: ev.Publication, Payload: controlPayload(ev.Args, ev.Kwargs),
			Details: &EventDetails{Topic: ev.Topic, Publisher: ev.Publisher, Retained: edgeRetained(ev.Details)}}
	})
	if err != nil {
		return 0, edgeErr(err)
	}
	e.mu.Lock()
	e.subs[sub.ID] = sub
	e.mu.Unlock()
	return sub.ID, nil
}

// edgeRetained reads EVENT.Details.retained, which edge/client does not
// decode for the application.
func edgeRetained(details []byte) bool {
	var d codec.EventDetails
	return d.Decode(details) == nil && d.Retained
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
	return e.PublishWith(topic, p, PubOpts{Acknowledge: ack, ExcludeMe: excludeMe})
}

func (e *edgePeer) PublishWith(topic string, p Payload, o PubOpts) error {
	switch {
	case o.Retain:
		return unsupported("retain: edge/client's PublishOptions has no retain")
	case o.Exclude != nil || o.Eligible != nil || o.ExcludeAuthID != nil || o.ExcludeAuthRole != nil || o.EligibleAuthID != nil || o.EligibleAuthRole != nil:
		return unsupported("exclude/eligible: edge/client's PublishOptions has no subscriber black- or whitelisting")
	}
	ctx, cancel := e.ctx()
	defer cancel()
	return edgeErr(e.c.Publish(ctx, topic, edgePayload(p), client.PublishOptions{
		Acknowledge: o.Acknowledge, IncludeMe: o.ExcludeMe != nil && !*o.ExcludeMe, DiscloseMe: o.DiscloseMe,
	}))
}

func (e *edgePeer) Register(procedure, behavior string) (uint64, error) {
	return e.RegisterWith(procedure, RegOpts{Behavior: behavior})
}

func (e *edgePeer) RegisterWith(procedure string, o RegOpts) (uint64, error) {
	h, err := e.handler(o)
	if err != nil {
		return 0, err
	}
	ctx, cancel := e.ctx()
	defer cancel()
	reg, err := e.c.RegisterWith(ctx, procedure, client.RegisterOptions{Match: o.Match, Invoke: o.Invoke}, h)
	if err != nil {
		return 0, edgeErr(err)
	}
	e.mu.Lock()
	e.regs[reg.ID] = reg
	e.mu.Unlock()
	return reg.ID, nil
}

// handler answers invocations as the behavior says (PROTOCOL.md).
func (e *edgePeer) handler(o RegOpts) (client.Handler, error) {
	switch o.Behavior {
	case "echo":
		return func(_ context.Context, inv *client.Invocation) (client.Payload, error) { return inv.Payload, nil }, nil
	case "error":
		return func(_ context.Context, inv *client.Invocation) (client.Payload, error) {
			return client.Payload{}, &client.Error{URI: "com.example.error", Payload: inv.Payload}
		}, nil
	case "whoami":
		return func(_ context.Context, inv *client.Invocation) (client.Payload, error) {
			return client.ArgsKw([]any{}, whoami(inv.Procedure, inv.Caller, e.c.ID())), nil
		}, nil
	case "progress":
		n := cmp.Or(o.Count, defaultProgress)
		return func(ctx context.Context, inv *client.Invocation) (client.Payload, error) {
			if !inv.ReceiveProgress {
				return client.Payload{}, &client.Error{URI: errNoProgress, Payload: client.Args("the invocation offers no progressive results")}
			}
			for i := 1; i <= n; i++ {
				if err := inv.Progress(ctx, client.Args(i)); err != nil {
					return client.Payload{}, err
				}
			}
			return inv.Payload, nil
		}, nil
	case "slow":
		return func(ctx context.Context, inv *client.Invocation) (client.Payload, error) {
			e.note(Note{Kind: "invoked", Procedure: inv.Procedure})
			select {
			case <-ctx.Done():
				if errors.Is(context.Cause(ctx), client.ErrInterrupted) {
					// edge/client does not tell the INTERRUPT's mode.
					e.note(Note{Kind: "interrupt", Procedure: inv.Procedure})
				}
				return client.Payload{}, &client.Error{URI: "wamp.error.canceled"}
			case <-time.After(slowLimit):
				return inv.Payload, nil
			}
		}, nil
	}
	return nil, unsupported("behavior %q", o.Behavior)
}

func (e *edgePeer) note(n Note) {
	select {
	case e.notes <- n:
	default:
	}
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

func (e *edgePeer) StartCall(procedure string, p Payload, o CallOpts) (PendingCall, error) {
	if o.Cancelable && o.CancelMode != "killnowait" {
		return nil, unsupported("edge/client cancels a call only by ending its context, with mode killnowait")
	}
	opts := client.CallOptions{DiscloseMe: o.DiscloseMe, Timeout: time.Duration(o.Timeout) * time.Millisecond}
	var progress []Payload
	if o.ReceiveProgress {
		opts.Progress = func(r *client.Result) { progress = append(progress, controlPayload(r.Args, r.Kwargs)) }
	}
	ctx, cancel := e.ctx()
	cancelled := false
	var mu sync.Mutex
	return startGoCall(func() error {
		mu.Lock()
		cancelled = true
		mu.Unlock()
		cancel()
		return nil
	}, func() (CallResult, error) {
		defer cancel()
		res, err := e.c.CallWith(ctx, procedure, edgePayload(p), opts)
		if err != nil {
			mu.Lock()
			defer mu.Unlock()
			if cancelled && errors.Is(err, context.Canceled) {
				// edge/client drops the router's answer to a call it gave up on.
				return CallResult{}, errCanceledLocally
			}
			return CallResult{}, edgeErr(err)
		}
		return CallResult{Payload: controlPayload(res.Args, res.Kwargs), Progress: progress}, nil
	}), nil
}

func (e *edgePeer) Leave() error { return e.c.Close() }
func (e *edgePeer) Kill()        {}

// ---- the nexus client ----

type nexusPeer struct {
	c      *nexus.Client
	events chan Event
	notes  chan Note
	mu     sync.Mutex
	topics map[uint64]string // subscription -> topic: nexus unsubscribes by topic
	procs  map[uint64]string
}

func startNexusPeer(url, ser string) (Peer, error) {
	p := &nexusPeer{events: make(chan Event, 1024), notes: make(chan Note, 64), topics: map[uint64]string{}, procs: map[uint64]string{}}
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

func (n *nexusPeer) Notes() <-chan Note { return n.notes }

func (n *nexusPeer) Subscribe(topic string) (uint64, error) { return n.SubscribeWith(topic, SubOpts{}) }

func (n *nexusPeer) SubscribeWith(topic string, o SubOpts) (uint64, error) {
	opts := wamp.Dict{}
	if o.Match != "" {
		opts["match"] = o.Match
	}
	if o.GetRetained {
		opts["get_retained"] = true
	}
	err := n.c.Subscribe(topic, func(ev *wamp.Event) {
		d := &EventDetails{}
		d.Topic, _ = wamp.AsString(ev.Details["topic"])
		pub, _ := wamp.AsID(ev.Details["publisher"])
		d.Publisher = uint64(pub)
		d.Retained, _ = wamp.AsBool(ev.Details["retained"])
		n.events <- Event{Subscription: uint64(ev.Subscription), Publication: uint64(ev.Publication), Payload: controlPayload(ev.Arguments, ev.ArgumentsKw), Details: d}
	}, opts)
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
	return n.PublishWith(topic, p, PubOpts{Acknowledge: ack, ExcludeMe: excludeMe})
}

func (n *nexusPeer) PublishWith(topic string, p Payload, o PubOpts) error {
	args, kwargs := nativeArgs(p)
	return nexusErr(n.c.Publish(topic, publishOptions(o), args, kwargs))
}

// publishOptions is PUBLISH.Options as a dict, for the libraries that
// take one.
func publishOptions(o PubOpts) map[string]any {
	opts := map[string]any{}
	if o.Acknowledge {
		opts["acknowledge"] = true
	}
	if o.ExcludeMe != nil {
		opts["exclude_me"] = *o.ExcludeMe
	}
	if o.DiscloseMe {
		opts["disclose_me"] = true
	}
	if o.Retain {
		opts["retain"] = true
	}
	for key, ids := range map[string][]uint64{"exclude": o.Exclude, "eligible": o.Eligible} {
		if ids != nil {
			list := make([]any, len(ids))
			for i, id := range ids {
				list[i] = id
			}
			opts[key] = list
		}
	}
	for key, strs := range map[string][]string{
		"exclude_authid": o.ExcludeAuthID, "exclude_authrole": o.ExcludeAuthRole,
		"eligible_authid": o.EligibleAuthID, "eligible_authrole": o.EligibleAuthRole,
	} {
		if strs != nil {
			list := make([]any, len(strs))
			for i, s := range strs {
				list[i] = s
			}
			opts[key] = list
		}
	}
	return opts
}

func (n *nexusPeer) Register(procedure, behavior string) (uint64, error) {
	return n.RegisterWith(procedure, RegOpts{Behavior: behavior})
}

func (n *nexusPeer) RegisterWith(procedure string, o RegOpts) (uint64, error) {
	h, err := n.handler(o)
	if err != nil {
		return 0, err
	}
	opts := wamp.Dict{}
	if o.Match != "" {
		opts["match"] = o.Match
	}
	if o.Invoke != "" {
		opts["invoke"] = o.Invoke
	}
	if err := n.c.Register(procedure, h, opts); err != nil {
		return 0, nexusErr(err)
	}
	id, _ := n.c.RegistrationID(procedure)
	n.mu.Lock()
	n.procs[uint64(id)] = procedure
	n.mu.Unlock()
	return uint64(id), nil
}

// handler answers invocations as the behavior says (PROTOCOL.md).
func (n *nexusPeer) handler(o RegOpts) (nexus.InvocationHandler, error) {
	switch o.Behavior {
	case "echo":
		return func(_ context.Context, inv *wamp.Invocation) nexus.InvokeResult {
			return nexus.InvokeResult{Args: inv.Arguments, Kwargs: inv.ArgumentsKw}
		}, nil
	case "error":
		return func(_ context.Context, inv *wamp.Invocation) nexus.InvokeResult {
			return nexus.InvokeResult{Err: "com.example.error", Args: inv.Arguments, Kwargs: inv.ArgumentsKw}
		}, nil
	case "whoami":
		return func(_ context.Context, inv *wamp.Invocation) nexus.InvokeResult {
			proc, _ := wamp.AsString(inv.Details["procedure"])
			caller, _ := wamp.AsID(inv.Details["caller"])
			return nexus.InvokeResult{Args: wamp.List{}, Kwargs: whoami(proc, uint64(caller), uint64(n.c.ID()))}
		}, nil
	case "progress":
		count := cmp.Or(o.Count, defaultProgress)
		return func(ctx context.Context, inv *wamp.Invocation) nexus.InvokeResult {
			if ok, _ := wamp.AsBool(inv.Details["receive_progress"]); !ok {
				return nexus.InvokeResult{Err: errNoProgress, Args: wamp.List{"the invocation offers no progressive results"}}
			}
			for i := 1; i <= count; i++ {
				if err := n.c.SendProgress(ctx, wamp.List{i}, nil); err != nil {
					return nexus.InvokeResult{Err: "wamp.error.runtime_error", Args: wamp.List{err.Error()}}
				}
			}
			return nexus.InvokeResult{Args: inv.Arguments, Kwargs: inv.ArgumentsKw}
		}, nil
	case "slow":
		return func(ctx context.Context, inv *wamp.Invocation) nexus.InvokeResult {
			proc, _ := wamp.AsString(inv.Details["procedure"])
			n.note(Note{Kind: "invoked", Procedure: proc})
			select {
			case <-ctx.Done():
				select {
				case <-n.c.Done(): // the session ended, not an INTERRUPT
				default:
					// nexus cancels the handler's context on INTERRUPT and does not tell the mode.
					n.note(Note{Kind: "interrupt", Procedure: proc})
				}
				return nexus.InvokeResult{Err: "wamp.error.canceled"}
			case <-time.After(slowLimit):
				return nexus.InvokeResult{Args: inv.Arguments, Kwargs: inv.ArgumentsKw}
			}
		}, nil
	}
	return nil, unsupported("behavior %q", o.Behavior)
}

func (n *nexusPeer) note(note Note) {
	select {
	case n.notes <- note:
	default:
	}
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

func (n *nexusPeer) StartCall(procedure string, p Payload, o CallOpts) (PendingCall, error) {
	opts := wamp.Dict{}
	if o.DiscloseMe {
		opts["disclose_me"] = true
	}
	if o.Timeout > 0 {
		opts["timeout"] = o.Timeout
	}
	if o.Cancelable {
		// The mode is the client's, for all its calls: the scenarios
		// cancel one call at a time.
		if err := n.c.SetCallCancelMode(o.CancelMode); err != nil {
			return nil, unsupported("cancel mode %q: %v", o.CancelMode, err)
		}
	}
	var mu sync.Mutex
	var progress []Payload
	var progcb nexus.ProgressHandler
	if o.ReceiveProgress {
		progcb = func(r *wamp.Result) {
			mu.Lock()
			progress = append(progress, controlPayload(r.Arguments, r.ArgumentsKw))
			mu.Unlock()
		}
	}
	args, kwargs := nativeArgs(p)
	ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
	cancelled := false
	return startGoCall(func() error {
		mu.Lock()
		cancelled = true
		mu.Unlock()
		cancel()
		return nil
	}, func() (CallResult, error) {
		defer cancel()
		res, err := n.c.Call(ctx, procedure, opts, args, kwargs, progcb)
		mu.Lock()
		defer mu.Unlock()
		if err != nil {
			if cancelled && errors.Is(err, context.Canceled) {
				// nexus waits for the router's ERROR, then reports ctx.Err() instead.
				return CallResult{}, errCanceledLocally
			}
			return CallResult{}, nexusErr(err)
		}
		return CallResult{Payload: controlPayload(res.Arguments, res.ArgumentsKw), Progress: progress}, nil
	}), nil
}

func (n *nexusPeer) Leave() error { return n.c.Close() }
func (n *nexusPeer) Kill()        {}

// ---- the xconn-go client ----

type xconnPeer struct {
	s      *xconn.Session
	events chan Event
	notes  chan Note
	mu     sync.Mutex
	subs   map[uint64]xconn.SubscribeResponse
	regs   map[uint64]xconn.RegisterResponse
	nextID uint64 // xconn does not expose router IDs: local handles
}

func startXconnPeer(url, ser string) (Peer, error) {
	p := &xconnPeer{events: make(chan Event, 1024), notes: make(chan Note), subs: map[uint64]xconn.SubscribeResponse{}, regs: map[uint64]xconn.RegisterResponse{}}
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

func (x *xconnPeer) Notes() <-chan Note { return x.notes }

func (x *xconnPeer) Subscribe(topic string) (uint64, error) { return x.SubscribeWith(topic, SubOpts{}) }

func (x *xconnPeer) SubscribeWith(topic string, o SubOpts) (uint64, error) {
	req := x.s.Subscribe(topic, func(ev *xconn.Event) {
		retained, _ := ev.Details()["retained"].(bool)
		x.events <- Event{Payload: controlPayload(ev.Args(), ev.Kwargs()),
			Details: &EventDetails{Topic: ev.Topic(), Publisher: ev.Publisher(), Retained: retained}}
	})
	if o.Match != "" {
		req = req.Match(o.Match)
	}
	if o.GetRetained {
		req = req.Option("get_retained", true)
	}
	r := req.Do()
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
	return x.PublishWith(topic, p, PubOpts{Acknowledge: ack, ExcludeMe: excludeMe})
}

func (x *xconnPeer) PublishWith(topic string, p Payload, o PubOpts) error {
	args, kwargs := nativeArgs(p)
	req := x.s.Publish(topic).Args(args...).Kwargs(kwargs)
	for k, v := range publishOptions(o) {
		req = req.Option(k, v)
	}
	return xconnErr(req.Do().Err)
}

func (x *xconnPeer) Register(procedure, behavior string) (uint64, error) {
	return x.RegisterWith(procedure, RegOpts{Behavior: behavior})
}

func (x *xconnPeer) RegisterWith(procedure string, o RegOpts) (uint64, error) {
	h, err := x.handler(procedure, o)
	if err != nil {
		return 0, err
	}
	req := x.s.Register(procedure, h)
	if o.Match != "" {
		req = req.Match(o.Match)
	}
	if o.Invoke != "" {
		req = req.Invoke(o.Invoke)
	}
	r := req.Do()
	if r.Err != nil {
		return 0, xconnErr(r.Err)
	}
	id := x.handle()
	x.mu.Lock()
	x.regs[id] = r
	x.mu.Unlock()
	return id, nil
}

// handler answers invocations as the behavior says (PROTOCOL.md).
func (x *xconnPeer) handler(procedure string, o RegOpts) (xconn.InvocationHandler, error) {
	switch o.Behavior {
	case "echo":
		return func(_ context.Context, inv *xconn.Invocation) *xconn.InvocationResult {
			return &xconn.InvocationResult{Args: inv.Args(), Kwargs: inv.Kwargs()}
		}, nil
	case "error":
		return func(_ context.Context, inv *xconn.Invocation) *xconn.InvocationResult {
			return &xconn.InvocationResult{Err: "com.example.error", Args: inv.Args(), Kwargs: inv.Kwargs()}
		}, nil
	case "whoami":
		return func(_ context.Context, inv *xconn.Invocation) *xconn.InvocationResult {
			return &xconn.InvocationResult{Args: []any{}, Kwargs: whoami(inv.Procedure(), inv.Caller(), x.s.ID())}
		}, nil
	case "progress":
		n := cmp.Or(o.Count, defaultProgress)
		return func(_ context.Context, inv *xconn.Invocation) *xconn.InvocationResult {
			if inv.SendProgress == nil { // set only with receive_progress
				return &xconn.InvocationResult{Err: errNoProgress, Args: []any{"the invocation offers no progressive results"}}
			}
			for i := 1; i <= n; i++ {
				if err := inv.SendProgress([]any{i}, nil); err != nil {
					return &xconn.InvocationResult{Err: "wamp.error.runtime_error", Args: []any{err.Error()}}
				}
			}
			return &xconn.InvocationResult{Args: inv.Args(), Kwargs: inv.Kwargs()}
		}, nil
	case "slow":
		return nil, unsupported("behavior slow: xconn-go v0.1.0 has no INTERRUPT handling (its handlers get context.Background())")
	}
	return nil, unsupported("behavior %q", o.Behavior)
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

func (x *xconnPeer) StartCall(procedure string, p Payload, o CallOpts) (PendingCall, error) {
	if o.Cancelable {
		return nil, unsupported("xconn-go v0.1.0 has no call canceling (a TODO in its session.go)")
	}
	args, kwargs := nativeArgs(p)
	req := x.s.Call(procedure).Args(args...).Kwargs(kwargs)
	if o.DiscloseMe {
		req = req.Option("disclose_me", true)
	}
	if o.Timeout > 0 {
		req = req.Option("timeout", o.Timeout)
	}
	var mu sync.Mutex
	var progress []Payload
	if o.ReceiveProgress {
		req = req.ProgressReceiver(func(r *xconn.ProgressResult) {
			mu.Lock()
			progress = append(progress, controlPayload(r.Args(), r.Kwargs()))
			mu.Unlock()
		})
	}
	return startGoCall(func() error { return unsupported("cancel") }, func() (CallResult, error) {
		ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
		defer cancel()
		r := req.DoContext(ctx)
		if r.Err != nil {
			return CallResult{}, xconnErr(r.Err)
		}
		mu.Lock()
		defer mu.Unlock()
		return CallResult{Payload: controlPayload(r.Args(), r.Kwargs()), Progress: progress}, nil
	}), nil
}

func (x *xconnPeer) Leave() error { return x.s.Leave() }
func (x *xconnPeer) Kill()        {}
