package main

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync/atomic"
	"time"

	"github.com/wampedge/wampedge/edge/client"
	"github.com/wampedge/wampedge/rawsocket"
)

// Reconnecting: the first retry comes soon (a router restarting is back
// in a moment), later ones back off up to maxBackoff.
const (
	minBackoff = 100 * time.Millisecond
	maxBackoff = 5 * time.Second
)

// staying is a command that lives on sessions: setup subscribes or
// registers on each new one; finished, if not nil, closes when the
// command is done (subscribe -count).
type staying struct {
	setup    func(context.Context, *client.Client) error
	finished <-chan struct{}
}

// lostError: the session ended under a staying command, which may go on
// with a new one.
type lostError struct{ err error }

func (e *lostError) Error() string {
	if e.err == nil {
		return "session lost"
	}
	return describe(e.err) + " (session lost)"
}

// stay runs a staying command until it is done or interrupted, on a new
// session each time the last one is lost, unless -once. Only the first
// connection's failure ends it: after that the router is known to exist,
// and wampcat waits for it to come back.
func (o *options) stay(ctx context.Context, s staying) error {
	if !o.overWebSocket() && o.keepalive > 0 {
		o.clientCfg.Keepalive = o.keepalive // RawSocket PINGs
	}
	c, err := o.connect(ctx)
	if err != nil {
		return err
	}
	for {
		err := o.serve(ctx, c, s)
		var lost *lostError
		if !errors.As(err, &lost) || o.once {
			return err
		}
		fmt.Fprintf(o.stderr, "wampcat: %v; reconnecting\n", lost)
		if c = o.reconnect(ctx); c == nil {
			return nil // interrupted
		}
	}
}

// serve runs s on one session until s is done (nil), ctx ends (nil), or
// the session is lost (*lostError); any other error is s's own.
func (o *options) serve(ctx context.Context, c *client.Client, s staying) error {
	defer c.Close()
	sctx, cancel := context.WithTimeout(ctx, o.timeout)
	err := s.setup(sctx, c)
	cancel()
	switch {
	case ctx.Err() != nil:
		return nil
	case errors.Is(err, client.ErrClosed), errors.Is(err, context.DeadlineExceeded):
		return &lostError{err}
	case err != nil:
		return err
	}
	k := o.watch(c)
	defer k.stop()
	select {
	case <-ctx.Done():
		return nil
	case <-s.finished:
		return nil
	case <-c.Done():
		if k.expired.Load() || errors.Is(c.Err(), rawsocket.ErrPingTimeout) {
			return &lostError{fmt.Errorf("the router did not answer within %v (-keepalive)", o.keepalive)}
		}
		return &lostError{c.Err()}
	}
}

// reconnect joins again, with backoff and jitter, until it succeeds or
// ctx ends (nil). Each distinct failure is reported once.
func (o *options) reconnect(ctx context.Context) *client.Client {
	delay, reported := minBackoff, ""
	for {
		jittered := delay/2 + rand.N(delay/2+1)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(jittered):
		}
		c, err := o.connect(ctx)
		if err == nil {
			fmt.Fprintln(o.stderr, "wampcat: reconnected")
			return c
		}
		if ctx.Err() != nil {
			return nil
		}
		if msg := describe(err); msg != reported {
			fmt.Fprintf(o.stderr, "wampcat: %s; retrying\n", msg)
			reported = msg
		}
		delay = min(2*delay, maxBackoff)
	}
}

// probeSubscription is a subscription ID no router hands out (IDs count
// up from 1 to 2^53): unsubscribing from it changes nothing, and the
// router answers at once with ERROR wamp.error.no_such_subscription.
const probeSubscription = 1 << 53

// keepalive checks every -keepalive that the router still answers, and
// ends the session when it does not within as long again: a session on a
// line gone dead (a serial cable pulled at the far end, a router stopped
// or cut off) would otherwise wait for ever. Over RawSocket (tcp, tls,
// unix, serial) the transport does it with PINGs (client.Config.Keepalive);
// over WebSocket this watch does it with a WAMP round trip.
type keepalive struct {
	expired atomic.Bool
	done    chan struct{}
}

func (o *options) watch(c *client.Client) *keepalive {
	k := &keepalive{done: make(chan struct{})}
	if o.keepalive <= 0 || !o.overWebSocket() {
		return k
	}
	go func() {
		tick := time.NewTicker(o.keepalive)
		defer tick.Stop()
		for {
			select {
			case <-k.done:
				return
			case <-c.Done():
				return
			case <-tick.C:
			}
			ctx, cancel := context.WithTimeout(context.Background(), o.keepalive)
			err := c.Unsubscribe(ctx, &client.Subscription{ID: probeSubscription})
			cancel()
			if errors.Is(err, context.DeadlineExceeded) {
				k.expired.Store(true)
				c.Close()
				return
			}
		}
	}()
	return k
}

func (k *keepalive) stop() { close(k.done) }

// overWebSocket reports whether the router's URL is ws:// or wss://,
// where there is no RawSocket PING.
func (o *options) overWebSocket() bool {
	return strings.HasPrefix(o.url, "ws:") || strings.HasPrefix(o.url, "wss:")
}
