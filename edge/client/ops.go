package client

import (
	"context"
	"fmt"

	"github.com/wampedge/wampedge/codec"
)

// PublishOptions are the options of Publish.
type PublishOptions struct {
	// Acknowledge waits for the router's PUBLISHED (or ERROR).
	Acknowledge bool
	// IncludeMe delivers the event to this session too, if subscribed
	// (exclude_me: false).
	IncludeMe bool
}

// Publish publishes an event. Without Acknowledge it returns once the
// message is written, and the router reports no error.
func (c *Client) Publish(ctx context.Context, topic string, p Payload, opts PublishOptions) error {
	o := codec.PublishOptions{Acknowledge: opts.Acknowledge}
	if opts.IncludeMe {
		o.ExcludeMe = codec.False
	}
	options, _ := o.MarshalMsg(nil)
	req := c.request()
	m := &codec.Publish{Request: req, Options: options, Topic: []byte(topic), Args: p.Args, Kwargs: p.Kwargs}
	if !opts.Acknowledge {
		return c.send(m)
	}
	_, err := c.await(ctx, req, m)
	return err
}

// Event is an event delivered to a Subscribe handler.
type Event struct {
	Topic       string
	Publication uint64
	Args        []any
	Kwargs      map[string]any
	Payload     Payload // the same arguments, as they arrived
}

// Subscription is an active subscription.
type Subscription struct {
	ID      uint64
	Topic   string
	handler func(*Event)
}

// Subscribe subscribes handler to topic. Handlers run one at a time, in
// the order events arrive; a slow handler holds up later events.
func (c *Client) Subscribe(ctx context.Context, topic string, handler func(*Event)) (*Subscription, error) {
	req := c.request()
	sub := &Subscription{Topic: topic, handler: handler}
	_, err := c.awaitInstall(ctx, req, &codec.Subscribe{Request: req, Topic: []byte(topic)}, func(m codec.Message) {
		sub.ID = m.(*codec.Subscribed).Subscription
		c.mu.Lock()
		c.subs[sub.ID] = sub
		c.mu.Unlock()
	})
	if err != nil {
		return nil, err
	}
	return sub, nil
}

// Unsubscribe ends a subscription.
func (c *Client) Unsubscribe(ctx context.Context, sub *Subscription) error {
	req := c.request()
	if _, err := c.await(ctx, req, &codec.Unsubscribe{Request: req, Subscription: sub.ID}); err != nil {
		return err
	}
	c.mu.Lock()
	delete(c.subs, sub.ID)
	c.mu.Unlock()
	return nil
}

func (c *Client) onEvent(m *codec.Event) {
	c.mu.Lock()
	sub := c.subs[m.Subscription]
	c.mu.Unlock()
	if sub == nil {
		return
	}
	p := Payload{Args: m.Args, Kwargs: m.Kwargs}
	args, kwargs, _ := p.Decode()
	ev := &Event{Topic: sub.Topic, Publication: m.Publication, Args: args, Kwargs: kwargs, Payload: p}
	select {
	case c.events <- func() { sub.handler(ev) }:
	case <-c.done:
	}
}

func (c *Client) dispatchEvents() {
	for {
		select {
		case f := <-c.events:
			f()
		case <-c.done:
			return
		}
	}
}

// Result is the answer to a call.
type Result struct {
	Args    []any
	Kwargs  map[string]any
	Payload Payload
}

// Call calls a procedure and waits for its result, or until ctx is done.
// A WAMP error comes back as *Error.
func (c *Client) Call(ctx context.Context, procedure string, p Payload) (*Result, error) {
	req := c.request()
	msg, err := c.await(ctx, req, &codec.Call{Request: req, Procedure: []byte(procedure), Args: p.Args, Kwargs: p.Kwargs})
	if err != nil {
		return nil, err
	}
	r := msg.(*codec.Result)
	out := Payload{Args: r.Args, Kwargs: r.Kwargs}
	args, kwargs, err := out.Decode()
	return &Result{Args: args, Kwargs: kwargs, Payload: out}, err
}

// Invocation is a call delivered to a Register handler.
type Invocation struct {
	Procedure string
	Args      []any
	Kwargs    map[string]any
	Payload   Payload
}

// Handler answers an invocation with a payload, or with an error: an
// *Error is sent as it is, any other error as wamp.error.runtime_error
// with its text. Its context is cancelled when the session ends.
type Handler func(ctx context.Context, inv *Invocation) (Payload, error)

// Registration is an active registration.
type Registration struct {
	ID        uint64
	Procedure string
	handler   Handler
}

// Register registers handler for procedure.
func (c *Client) Register(ctx context.Context, procedure string, handler Handler) (*Registration, error) {
	req := c.request()
	reg := &Registration{Procedure: procedure, handler: handler}
	_, err := c.awaitInstall(ctx, req, &codec.Register{Request: req, Procedure: []byte(procedure)}, func(m codec.Message) {
		reg.ID = m.(*codec.Registered).Registration
		c.mu.Lock()
		c.regs[reg.ID] = reg
		c.mu.Unlock()
	})
	if err != nil {
		return nil, err
	}
	return reg, nil
}

// Unregister ends a registration.
func (c *Client) Unregister(ctx context.Context, reg *Registration) error {
	req := c.request()
	if _, err := c.await(ctx, req, &codec.Unregister{Request: req, Registration: reg.ID}); err != nil {
		return err
	}
	c.mu.Lock()
	delete(c.regs, reg.ID)
	c.mu.Unlock()
	return nil
}

func (c *Client) onInvocation(m *codec.Invocation) {
	c.mu.Lock()
	reg := c.regs[m.Registration]
	var ctx context.Context
	var cancel context.CancelFunc
	if reg != nil {
		ctx, cancel = context.WithCancel(c.ctx)
		c.invs[m.Request] = cancel
	}
	c.mu.Unlock()
	if reg == nil {
		c.send(&codec.Error{RequestType: codec.TypeInvocation, Request: m.Request, Error: []byte("wamp.error.no_such_registration")})
		return
	}
	p := Payload{Args: m.Args, Kwargs: m.Kwargs}
	args, kwargs, _ := p.Decode()
	inv := &Invocation{Procedure: reg.Procedure, Args: args, Kwargs: kwargs, Payload: p}
	go func() {
		out, err := runHandler(ctx, reg.handler, inv)
		c.mu.Lock()
		delete(c.invs, m.Request)
		c.mu.Unlock()
		cancel()
		if err == nil {
			c.send(&codec.Yield{Request: m.Request, Args: out.Args, Kwargs: out.Kwargs})
			return
		}
		e, ok := err.(*Error)
		if !ok {
			e = &Error{URI: "wamp.error.runtime_error", Payload: Args(err.Error())}
		}
		c.send(&codec.Error{RequestType: codec.TypeInvocation, Request: m.Request, Error: []byte(e.URI), Args: e.Args, Kwargs: e.Kwargs})
	}()
}

// runHandler runs a handler, turning a panic into an error answer.
func runHandler(ctx context.Context, h Handler, inv *Invocation) (out Payload, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("handler panicked: %v", r) // no stack: it goes to a remote caller
		}
	}()
	return h(ctx, inv)
}
