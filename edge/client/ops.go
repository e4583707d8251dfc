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
	// DiscloseMe asks the router to tell subscribers who published
	// (Event.Publisher). A router may refuse: with Acknowledge, the
	// publish then fails with wamp.error.option_disallowed.disclose_me.
	DiscloseMe bool
	// ForwardFor names the sessions a router-to-router bridge publishes
	// for, nearest first.
	ForwardFor []codec.ForwardFor
	// Retain asks the router to keep the event as the topic's retained
	// one, for later subscribers that ask for it (GetRetained).
	Retain bool
}

// Publish publishes an event. Without Acknowledge it returns once the
// message is written, and the router reports no error.
func (c *Client) Publish(ctx context.Context, topic string, p Payload, opts PublishOptions) error {
	req := c.request()
	m, err := publishMsg(req, topic, p, opts)
	if err != nil {
		return err
	}
	if !opts.Acknowledge {
		return c.send(m)
	}
	_, err = c.await(ctx, req, m)
	return err
}

// PublishAck publishes an event with acknowledgement without waiting for
// it: it returns once the message is written, and the channel then gets
// the router's answer, exactly once: nil (PUBLISHED), an *Error (ERROR),
// or an ErrClosed error if the session ends first. For a sender that
// keeps many publications in flight.
func (c *Client) PublishAck(topic string, p Payload, opts PublishOptions) (<-chan error, error) {
	opts.Acknowledge = true
	req := c.request()
	m, err := publishMsg(req, topic, p, opts)
	if err != nil {
		return nil, err
	}
	w := &waiter{ch: make(chan reply, 1)}
	if err := c.addPending(req, w); err != nil {
		return nil, err
	}
	if err := c.send(m); err != nil {
		c.dropPending(req)
		return nil, err
	}
	ack := make(chan error, 1)
	go func() {
		defer c.dropPending(req)
		select {
		case r := <-w.ch:
			ack <- r.err
		case <-c.done:
			select {
			case r := <-w.ch: // answered just before the end
				ack <- r.err
			default:
				ack <- c.closedErr()
			}
		}
	}()
	return ack, nil
}

func publishMsg(req uint64, topic string, p Payload, opts PublishOptions) (*codec.Publish, error) {
	o := codec.PublishOptions{Acknowledge: opts.Acknowledge, DiscloseMe: opts.DiscloseMe, ForwardFor: opts.ForwardFor, Retain: opts.Retain}
	if opts.IncludeMe {
		o.ExcludeMe = codec.False
	}
	options, err := o.MarshalMsg(nil)
	if err != nil {
		return nil, fmt.Errorf("client: publish options: %w", err)
	}
	return &codec.Publish{Request: req, Options: options, Topic: []byte(topic), Args: p.Args, Kwargs: p.Kwargs}, nil
}

// Event is an event delivered to a Subscribe handler.
type Event struct {
	// Topic is the topic published to: for a pattern subscription the
	// concrete one the router names, else the subscription's.
	Topic       string
	Publication uint64
	Args        []any          // nil with Config.RawPayloads
	Kwargs      map[string]any // nil with Config.RawPayloads
	Payload     Payload        // the same arguments, as they arrived

	// Who published, when the router discloses it (PublishOptions.DiscloseMe).
	Publisher         uint64
	PublisherAuthID   string
	PublisherAuthRole string
	ForwardFor        []codec.ForwardFor // the hops of a bridged event

	// Retained: the router kept this event and sent it because the
	// subscription asked (SubscribeOptions.GetRetained).
	Retained bool

	Details []byte // EVENT.Details, encoded as MessagePack like Payload
}

// SubscribeOptions are the options of SubscribeWith.
type SubscribeOptions struct {
	// Match is the matching policy: "" or "exact", "prefix" (topics
	// starting with the subscription's), or "wildcard" (empty components
	// of the subscription's topic match any one component).
	Match string
	// GetRetained asks for the topic's retained event, if it has one,
	// before any other (Event.Retained).
	GetRetained bool
}

// Subscription is an active subscription.
type Subscription struct {
	ID      uint64
	Topic   string
	Match   string // as in SubscribeOptions
	handler func(*Event)
}

// Subscribe subscribes handler to topic. Handlers run one at a time, in
// the order events arrive; a slow handler holds up later events.
func (c *Client) Subscribe(ctx context.Context, topic string, handler func(*Event)) (*Subscription, error) {
	return c.SubscribeWith(ctx, topic, SubscribeOptions{}, handler)
}

// SubscribeWith subscribes handler to topic with options, such as a
// pattern. Handlers run as with Subscribe.
func (c *Client) SubscribeWith(ctx context.Context, topic string, opts SubscribeOptions, handler func(*Event)) (*Subscription, error) {
	match, err := matchOption(opts.Match)
	if err != nil {
		return nil, err
	}
	options, _ := (&codec.SubscribeOptions{Match: match, GetRetained: opts.GetRetained}).MarshalMsg(nil)
	req := c.request()
	sub := &Subscription{Topic: topic, Match: opts.Match, handler: handler}
	_, err = c.awaitInstall(ctx, req, &codec.Subscribe{Request: req, Options: options, Topic: []byte(topic)}, func(m codec.Message) {
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

// matchOption checks a matching policy here, since a router may end the
// session over a bad one; "exact" is the default, so it is left out.
func matchOption(match string) (string, error) {
	switch match {
	case "", "exact":
		return "", nil
	case "prefix", "wildcard":
		return match, nil
	}
	return "", fmt.Errorf("client: unknown match policy %q (want exact, prefix or wildcard)", match)
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
	var d codec.EventDetails
	d.Decode(m.Details) // best effort: the event counts, not its details
	ev := &Event{
		Topic: sub.Topic, Publication: m.Publication, Payload: Payload{Args: m.Args, Kwargs: m.Kwargs},
		Publisher: d.Publisher, PublisherAuthID: d.PublisherAuthID, PublisherAuthRole: d.PublisherAuthRole,
		ForwardFor: d.ForwardFor, Retained: d.Retained, Details: m.Details,
	}
	if d.Topic != "" {
		ev.Topic = d.Topic
	}
	ev.Args, ev.Kwargs = c.decode(ev.Payload)
	select {
	case c.events <- func() { sub.handler(ev) }:
	case <-c.done:
	}
}

// decode returns a payload's Go values, or nothing with RawPayloads. A
// payload that does not decode leaves them nil: Payload still has it.
func (c *Client) decode(p Payload) ([]any, map[string]any) {
	if c.raw {
		return nil, nil
	}
	args, kwargs, _ := p.Decode()
	return args, kwargs
}

// dispatchEvents runs the handlers of the events read, in order. When
// the session ends it still runs those that were read before the end
// (events the router sent before its GOODBYE), then stops.
func (c *Client) dispatchEvents() {
	for {
		select {
		case f := <-c.events:
			f()
		case <-c.done:
			for {
				select {
				case f := <-c.events:
					f()
				default:
					return
				}
			}
		}
	}
}
