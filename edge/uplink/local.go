package uplink

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/wampedge/wampedge/codec"
	"github.com/wampedge/wampedge/edge/client"
)

// setUpLocal puts the local side of every rule in place, once: the
// local session lives as long as the bridge.
func (u *Uplink) setUpLocal() error {
	ctx, cancel := context.WithTimeout(u.ctx, 10*time.Second)
	defer cancel()
	_, err := u.local.Register(ctx, StatusProc, func(context.Context, *client.Invocation) (client.Payload, error) {
		return client.Args(u.status()), nil
	})
	if err != nil {
		return fmt.Errorf("uplink: registering %s: %w", StatusProc, err)
	}
	watchRegistrations := false
	for i := range u.cfg.Rules {
		rule := &u.cfg.Rules[i]
		switch rule.Direction {
		case TopicsOut:
			_, err = u.local.SubscribeWith(ctx, rule.Local, client.SubscribeOptions{Match: rule.Match}, func(e *client.Event) {
				u.eventOut(rule, e)
			})
		case ProceduresIn:
			_, err = u.local.RegisterWith(ctx, rule.Local, client.RegisterOptions{Match: rule.Match}, func(ctx context.Context, inv *client.Invocation) (client.Payload, error) {
				return u.callOut(ctx, rule, inv)
			})
		case ProceduresOut:
			watchRegistrations = true
		}
		if err != nil {
			return fmt.Errorf("uplink: local side of rule %d (%s %q): %w", i, rule.Direction, rule.Local, err)
		}
	}
	if watchRegistrations {
		return u.procs.watch(ctx)
	}
	return nil
}

// eventOut queues a local event for the cloud.
func (u *Uplink) eventOut(rule *Rule, e *client.Event) {
	topic, ok := rule.toCloud(e.Topic)
	if !ok {
		return
	}
	u.queue.push(topic, e.Payload, publisher(e.Publisher, e.PublisherAuthID, e.PublisherAuthRole))
}

// publisher is the forward_for hop of a disclosed publisher or caller.
func publisher(session uint64, authid, authrole string) *codec.ForwardFor {
	if session == 0 {
		return nil
	}
	return &codec.ForwardFor{Session: session, AuthID: authid, AuthRole: authrole}
}

// forwarded returns call options that carry a disclosed caller on.
func forwarded(from *codec.ForwardFor, timeout time.Duration) client.CallOptions {
	o := client.CallOptions{Timeout: timeout}
	if from != nil {
		o.DiscloseMe, o.ForwardFor = true, []codec.ForwardFor{*from}
	}
	return o
}

// callOut forwards a local call to the cloud (procedures_in), with its
// progressive results, and the cloud's answer or error as it is.
func (u *Uplink) callOut(ctx context.Context, rule *Rule, inv *client.Invocation) (client.Payload, error) {
	procedure, ok := rule.toCloud(inv.Procedure)
	if !ok {
		return client.Payload{}, &client.Error{URI: "wamp.error.no_such_procedure", Payload: client.Args("the uplink does not forward " + inv.Procedure)}
	}
	cloud := u.cloudSession()
	if cloud == nil {
		return client.Payload{}, u.unavailable()
	}
	u.callsOut.Add(1)
	return forwardCall(ctx, cloud, procedure, inv, u.cfg.CallTimeout, u.unavailable)
}

// errDiscloseDisallowed is a router's refusal to disclose the caller.
const errDiscloseDisallowed = "wamp.error.option_disallowed.disclose_me"

// forwardCall makes a call on one side for an invocation from the other.
func forwardCall(ctx context.Context, to *client.Client, procedure string, inv *client.Invocation, timeout time.Duration, lost func() error) (client.Payload, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	opts := forwarded(publisher(inv.Caller, inv.CallerAuthID, inv.CallerAuthRole), timeout)
	if inv.ReceiveProgress {
		opts.Progress = func(r *client.Result) { inv.Progress(ctx, r.Payload) }
	}
	res, err := to.CallWith(ctx, procedure, inv.Payload, opts)
	var refused *client.Error
	if opts.DiscloseMe && errors.As(err, &refused) && refused.URI == errDiscloseDisallowed {
		opts.DiscloseMe, opts.ForwardFor = false, nil // the router will not tell: call anyway
		res, err = to.CallWith(ctx, procedure, inv.Payload, opts)
	}
	switch {
	case err == nil:
		return res.Payload, nil
	case errors.Is(err, client.ErrClosed):
		return client.Payload{}, lost()
	case errors.Is(err, context.DeadlineExceeded):
		return client.Payload{}, &client.Error{URI: "wamp.error.timeout", Payload: client.Args(fmt.Sprintf("no answer within %v", timeout))}
	}
	return client.Payload{}, err // a *client.Error passes as it is
}

// unavailable is the error of a call forwarded while the cloud is down.
func (u *Uplink) unavailable() error {
	msg := "the uplink to " + u.cfg.URL + " is not connected"
	if e := u.errText(); e != "" {
		msg += ": " + e
	}
	return &client.Error{URI: ErrUnavailable, Payload: client.Args(msg)}
}

// subscribeCloud subscribes the cloud side of every topics_in rule.
func (u *Uplink) subscribeCloud(cloud *client.Client) error {
	ctx, cancel := context.WithTimeout(u.ctx, 30*time.Second)
	defer cancel()
	for i := range u.cfg.Rules {
		rule := &u.cfg.Rules[i]
		if rule.Direction != TopicsIn {
			continue
		}
		_, err := cloud.SubscribeWith(ctx, rule.Cloud, client.SubscribeOptions{Match: rule.Match}, func(e *client.Event) {
			topic, ok := rule.toLocal(e.Topic)
			if !ok {
				return
			}
			opts := client.PublishOptions{}
			if from := publisher(e.Publisher, e.PublisherAuthID, e.PublisherAuthRole); from != nil {
				opts.DiscloseMe, opts.ForwardFor = true, []codec.ForwardFor{*from}
			}
			if u.local.Publish(u.ctx, topic, e.Payload, opts) == nil {
				u.eventsIn.Add(1)
			}
		})
		if err != nil {
			return fmt.Errorf("subscribing %q in the cloud: %w", rule.Cloud, err)
		}
	}
	return nil
}
