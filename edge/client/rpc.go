package client

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/wampedge/wampedge/codec"
)

// Result is the answer to a call, or one of its progressive results.
type Result struct {
	Args     []any          // nil with Config.RawPayloads
	Kwargs   map[string]any // nil with Config.RawPayloads
	Payload  Payload
	Progress bool   // a progressive result, handed to CallOptions.Progress
	Details  []byte // RESULT.Details, encoded as MessagePack like Payload
}

// CallOptions are the options of CallWith.
type CallOptions struct {
	// DiscloseMe asks the router to tell the callee who calls
	// (Invocation.Caller). A router may refuse the call with
	// wamp.error.option_disallowed.disclose_me.
	DiscloseMe bool
	// ForwardFor names the sessions a router-to-router bridge calls for,
	// nearest first.
	ForwardFor []codec.ForwardFor
	// Timeout asks the router to give up on the call after this long
	// (rounded up to milliseconds), answering wamp.error.timeout. Routers
	// without the call_timeout feature ignore it; ctx bounds the wait in
	// any case.
	Timeout time.Duration
	// Progress, if set, asks for progressive results and receives each,
	// in order, before CallWith returns the final one. It runs in the
	// goroutine that called CallWith.
	Progress func(*Result)
}

// Call calls a procedure and waits for its result, or until ctx is done.
// A WAMP error comes back as *Error.
func (c *Client) Call(ctx context.Context, procedure string, p Payload) (*Result, error) {
	return c.CallWith(ctx, procedure, p, CallOptions{})
}

// CallWith calls a procedure with options and waits for its result, or
// until ctx is done. A call given up on is cancelled at the router
// (CANCEL, mode killnowait) when the router announced call_canceling.
func (c *Client) CallWith(ctx context.Context, procedure string, p Payload, opts CallOptions) (*Result, error) {
	o := codec.CallOptions{DiscloseMe: opts.DiscloseMe, ForwardFor: opts.ForwardFor, ReceiveProgress: opts.Progress != nil}
	if opts.Timeout > 0 {
		o.Timeout = uint64((opts.Timeout + time.Millisecond - 1) / time.Millisecond)
	}
	options, err := o.MarshalMsg(nil)
	if err != nil {
		return nil, fmt.Errorf("client: call options: %w", err)
	}
	w := &waiter{cancel: true}
	if opts.Progress != nil {
		w.progress = newProgressQueue(func(r *codec.Result) {
			res := c.result(r)
			res.Args, res.Kwargs = c.decode(res.Payload)
			res.Progress = true
			opts.Progress(res)
		})
	}
	req := c.request()
	msg, err := c.awaitWith(ctx, req, &codec.Call{Request: req, Options: options, Procedure: []byte(procedure), Args: p.Args, Kwargs: p.Kwargs}, w)
	if err != nil {
		return nil, err
	}
	res := c.result(msg.(*codec.Result))
	if c.raw {
		return res, nil
	}
	res.Args, res.Kwargs, err = res.Payload.Decode()
	return res, err
}

func (c *Client) result(r *codec.Result) *Result {
	return &Result{Payload: Payload{Args: r.Args, Kwargs: r.Kwargs}, Details: r.Details}
}

// onResult hands a RESULT to its call: a progressive one to the call's
// queue (dropped if the call did not ask for them), the final one as the
// answer.
func (c *Client) onResult(m *codec.Result) {
	var d codec.ResultDetails
	if d.Decode(m.Details) == nil && d.Progress {
		c.mu.Lock()
		w := c.pending[m.Request]
		c.mu.Unlock()
		if w != nil && w.progress != nil {
			w.progress.push(m)
		}
		return
	}
	c.answer(m.Request, reply{msg: m})
}

// progressQueue holds a call's progressive results from the reader until
// the caller's goroutine delivers them: the reader never waits for a slow
// Progress function, and the order is kept.
type progressQueue struct {
	onResult func(*codec.Result)
	ready    chan struct{} // holds a token while results are queued
	mu       sync.Mutex
	queued   []*codec.Result
}

func newProgressQueue(onResult func(*codec.Result)) *progressQueue {
	return &progressQueue{onResult: onResult, ready: make(chan struct{}, 1)}
}

func (q *progressQueue) push(r *codec.Result) {
	q.mu.Lock()
	q.queued = append(q.queued, r)
	q.mu.Unlock()
	select {
	case q.ready <- struct{}{}:
	default:
	}
}

// deliver runs onResult for each queued result, in order.
func (q *progressQueue) deliver() {
	q.mu.Lock()
	queued := q.queued
	q.queued = nil
	q.mu.Unlock()
	for _, r := range queued {
		q.onResult(r)
	}
}

// ErrInterrupted is the cause (context.Cause) of an invocation handler's
// context when the router interrupts the call: the caller cancelled it, or
// it timed out. The handler's answer is then ERROR wamp.error.canceled,
// whatever it returns.
var ErrInterrupted = errors.New("client: call interrupted by the router")

// Invocation is a call delivered to a Register handler.
type Invocation struct {
	// Procedure is the procedure called: for a pattern registration the
	// concrete one the router names, else the registration's.
	Procedure string
	Args      []any          // nil with Config.RawPayloads
	Kwargs    map[string]any // nil with Config.RawPayloads
	Payload   Payload

	// Who calls, when the router discloses it (CallOptions.DiscloseMe).
	Caller         uint64
	CallerAuthID   string
	CallerAuthRole string
	ForwardFor     []codec.ForwardFor // the hops of a bridged call

	// ReceiveProgress says the caller takes progressive results: the
	// handler may send them with Progress.
	ReceiveProgress bool

	Details []byte // INVOCATION.Details, encoded as MessagePack like Payload

	c        *Client
	request  uint64
	ctx      context.Context // the handler's
	mu       sync.Mutex      // orders progressive results before the answer
	answered bool
}

// Progress sends a progressive result to the caller, ahead of the
// handler's final answer. It fails unless the caller asked for them
// (ReceiveProgress), and once the call is interrupted or answered.
func (inv *Invocation) Progress(ctx context.Context, p Payload) error {
	if !inv.ReceiveProgress || inv.c == nil {
		return errors.New("client: the caller did not ask for progressive results")
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if inv.ctx.Err() != nil {
		return context.Cause(inv.ctx)
	}
	inv.mu.Lock()
	defer inv.mu.Unlock()
	if inv.answered {
		return errors.New("client: the invocation is already answered")
	}
	options, _ := (&codec.YieldOptions{Progress: true}).MarshalMsg(nil)
	return inv.c.send(&codec.Yield{Request: inv.request, Options: options, Args: p.Args, Kwargs: p.Kwargs})
}

// Handler answers an invocation with a payload, or with an error: an
// *Error is sent as it is, any other error as wamp.error.runtime_error
// with its text. Its context is cancelled when the session ends, or with
// cause ErrInterrupted when the router interrupts the call.
type Handler func(ctx context.Context, inv *Invocation) (Payload, error)

// RegisterOptions are the options of RegisterWith.
type RegisterOptions struct {
	// Match is the matching policy: "" or "exact", "prefix" or
	// "wildcard", as for subscriptions.
	Match string
	// Invoke is the policy for a procedure several callees register:
	// "" or "single" (no other may), "roundrobin", "random", "first" or
	// "last". Every callee must ask for the same one.
	Invoke string
}

// Registration is an active registration.
type Registration struct {
	ID        uint64
	Procedure string
	Match     string // as in RegisterOptions
	Invoke    string // as in RegisterOptions
	handler   Handler
}

// Register registers handler for procedure.
func (c *Client) Register(ctx context.Context, procedure string, handler Handler) (*Registration, error) {
	return c.RegisterWith(ctx, procedure, RegisterOptions{}, handler)
}

// RegisterWith registers handler for procedure with options, such as a
// pattern or a shared registration.
func (c *Client) RegisterWith(ctx context.Context, procedure string, opts RegisterOptions, handler Handler) (*Registration, error) {
	match, err := matchOption(opts.Match)
	if err != nil {
		return nil, err
	}
	invoke := opts.Invoke
	switch invoke {
	case "single":
		invoke = "" // the default
	case "", "roundrobin", "random", "first", "last":
	default:
		return nil, fmt.Errorf("client: unknown invoke policy %q (want single, roundrobin, random, first or last)", opts.Invoke)
	}
	options, _ := (&codec.RegisterOptions{Match: match, Invoke: invoke}).MarshalMsg(nil)
	req := c.request()
	reg := &Registration{Procedure: procedure, Match: opts.Match, Invoke: opts.Invoke, handler: handler}
	_, err = c.awaitInstall(ctx, req, &codec.Register{Request: req, Options: options, Procedure: []byte(procedure)}, func(m codec.Message) {
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
	var cancel context.CancelCauseFunc
	if reg != nil {
		ctx, cancel = context.WithCancelCause(c.ctx)
		c.invs[m.Request] = cancel
	}
	c.mu.Unlock()
	if reg == nil {
		c.send(&codec.Error{RequestType: codec.TypeInvocation, Request: m.Request, Error: []byte("wamp.error.no_such_registration")})
		return
	}
	var d codec.InvocationDetails
	d.Decode(m.Details) // best effort: the call counts, not its details
	inv := &Invocation{
		Procedure: reg.Procedure, Payload: Payload{Args: m.Args, Kwargs: m.Kwargs},
		Caller: d.Caller, CallerAuthID: d.CallerAuthID, CallerAuthRole: d.CallerAuthRole,
		ForwardFor: d.ForwardFor, ReceiveProgress: d.ReceiveProgress, Details: m.Details,
		c: c, request: m.Request, ctx: ctx,
	}
	if d.Procedure != "" {
		inv.Procedure = d.Procedure
	}
	inv.Args, inv.Kwargs = c.decode(inv.Payload)
	go func() {
		out, err := runHandler(ctx, reg.handler, inv)
		c.mu.Lock()
		delete(c.invs, m.Request)
		c.mu.Unlock()
		interrupted := errors.Is(context.Cause(ctx), ErrInterrupted)
		cancel(nil)
		inv.mu.Lock()
		defer inv.mu.Unlock()
		inv.answered = true
		switch {
		case interrupted:
			c.send(&codec.Error{RequestType: codec.TypeInvocation, Request: m.Request, Error: []byte("wamp.error.canceled")})
		case err == nil:
			c.send(&codec.Yield{Request: m.Request, Args: out.Args, Kwargs: out.Kwargs})
		default:
			e, ok := err.(*Error)
			if !ok {
				e = &Error{URI: "wamp.error.runtime_error", Payload: Args(err.Error())}
			}
			c.send(&codec.Error{RequestType: codec.TypeInvocation, Request: m.Request, Error: []byte(e.URI), Args: e.Args, Kwargs: e.Kwargs})
		}
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
