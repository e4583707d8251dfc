package uplink

import (
	"context"
	"crypto/ed25519"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/wampedge/wampedge/codec"
	"github.com/wampedge/wampedge/edge"
	"github.com/wampedge/wampedge/edge/client"
	"github.com/wampedge/wampedge/rawsocket"
)

// The bridge's own URIs in the local realm, and its error.
const (
	StateTopic     = "wampedge.uplink.on_state"
	StatusProc     = "wampedge.uplink.status"
	ErrUnavailable = "wampedge.error.uplink_unavailable"
)

// States of the cloud session, in the order States lists them. Each
// attempt to connect announces connecting; failed attempts change
// nothing else (their reason is in the status as last_error), and the
// log has a line per state change and per distinct reason: a cloud
// that is down for a week is not a line per retry.
const (
	StateConnecting   = "connecting"   // an attempt to join the cloud is under way
	StateConnected    = "connected"    // joined; mappings in place
	StateDisconnected = "disconnected" // a session was lost; waiting to retry with backoff
	StateClosed       = "closed"       // Close was called
)

// States are every state, for those that show one gauge per state.
var States = []string{StateConnecting, StateConnected, StateDisconnected, StateClosed}

// Config configures a bridge.
type Config struct {
	URL        string           // tcp://, tls://, ws:// or wss:// of the cloud router
	Realm      string           // the cloud realm
	Serializer codec.Serializer // to the cloud: MsgPack (default) or JSON
	TLS        *tls.Config      // tls:// and wss://: CA, client certificate

	AuthID, AuthRole string
	Ticket           string             // ticket authentication
	Secret           string             // WAMP-CRA (plain or salted)
	PrivateKey       ed25519.PrivateKey // cryptosign

	LocalRealm string // the local realm bridged ("realm1")
	Rules      []Rule

	BackoffMin, BackoffMax  time.Duration // reconnect delays (1s, 1m); jittered
	QueueEvents, QueueBytes int           // the offline queue (10000 events, 4 MiB)
	CallTimeout             time.Duration // a forwarded call's limit (1m)

	Logger *slog.Logger
}

// Check reports what is wrong with a configuration, naming the field.
func Check(c Config) error { return c.withDefaults() }

func (c *Config) withDefaults() error {
	if c.URL == "" || c.Realm == "" {
		return errors.New("uplink: needs a cloud URL and realm")
	}
	if c.Serializer == 0 {
		c.Serializer = codec.MsgPack
	}
	if c.LocalRealm == "" {
		c.LocalRealm = "realm1"
	}
	if c.BackoffMin <= 0 {
		c.BackoffMin = time.Second
	}
	if c.BackoffMax < c.BackoffMin {
		c.BackoffMax = max(time.Minute, c.BackoffMin)
	}
	if c.QueueEvents <= 0 {
		c.QueueEvents = 10000
	}
	if c.QueueBytes <= 0 {
		c.QueueBytes = 4 << 20
	}
	if c.CallTimeout <= 0 {
		c.CallTimeout = time.Minute
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	for i := range c.Rules {
		if err := c.Rules[i].check(); err != nil {
			return fmt.Errorf("uplink: rules[%d]: %w", i, err)
		}
	}
	return nil
}

// Uplink is a running bridge.
type Uplink struct {
	cfg   Config
	log   *slog.Logger
	local *client.Client
	queue *eventQueue
	procs *exporter

	ctx    context.Context // ends with Close
	cancel context.CancelFunc
	done   chan struct{}

	mu         sync.Mutex
	cloud      *client.Client // nil while not connected
	state      string
	since      time.Time
	lastErr    string
	lastKey    string // what lastErr is a case of, for logging each reason once
	reconnects int

	eventsIn, callsOut, callsIn atomic.Uint64
}

// Start joins the local router in-process, sets up the local side of
// every rule, and starts connecting to the cloud in the background. It
// fails only when the configuration is wrong or the local realm cannot
// be joined; an unreachable cloud is retried forever.
func Start(r *edge.Router, cfg Config) (*Uplink, error) {
	if err := cfg.withDefaults(); err != nil {
		return nil, err
	}
	u := &Uplink{
		cfg:   cfg,
		log:   cfg.Logger.With("uplink", cfg.URL, "cloud_realm", cfg.Realm),
		queue: newEventQueue(cfg.QueueEvents, cfg.QueueBytes),
		state: StateConnecting, since: time.Now(),
		done: make(chan struct{}),
	}
	u.ctx, u.cancel = context.WithCancel(context.Background())
	local, err := joinLocal(u.ctx, r, cfg.LocalRealm)
	if err != nil {
		return nil, fmt.Errorf("uplink: joining the local realm %q: %w", cfg.LocalRealm, err)
	}
	u.local = local
	u.procs = newExporter(u)
	if err := u.setUpLocal(); err != nil {
		local.Close()
		return nil, err
	}
	go u.run()
	return u, nil
}

// joinLocal opens a session to the router in this process: RawSocket
// over an in-memory pipe, served as the router's internal bridge.
func joinLocal(ctx context.Context, r *edge.Router, realm string) (*client.Client, error) {
	routerEnd, bridgeEnd := net.Pipe()
	go func() {
		conn, err := rawsocket.Accept(routerEnd, rawsocket.Config{MaxLength: rawsocket.MaxLength})
		if err != nil {
			routerEnd.Close()
			return
		}
		r.ServeInternal(conn)
	}()
	conn, err := rawsocket.Connect(bridgeEnd, codec.MsgPack, rawsocket.Config{MaxLength: rawsocket.MaxLength})
	if err != nil {
		bridgeEnd.Close()
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	return client.Join(ctx, conn, client.Config{Realm: realm, Agent: "wampedge-uplink", RawPayloads: true})
}

// Close stops the bridge: the cloud session leaves, the local one too.
// Events still queued are lost.
func (u *Uplink) Close() {
	u.cancel()
	<-u.done
	u.local.Close()
}

// run keeps a cloud session up until Close.
func (u *Uplink) run() {
	defer close(u.done)
	defer u.setState(StateClosed, "")
	delay := u.cfg.BackoffMin
	u.log.Info("uplink: " + StateConnecting)
	for attempt := 0; ; attempt++ {
		if attempt > 0 {
			wait := delay/2 + rand.N(delay/2+1) // jitter: two edges do not retry in step
			select {
			case <-time.After(wait):
			case <-u.ctx.Done():
				return
			case <-u.local.Done():
				return
			}
			delay = min(2*delay, u.cfg.BackoffMax)
		}
		u.announce(StateConnecting, "")
		cloud, err := u.dial()
		if err != nil {
			u.failed(err)
			if u.ctx.Err() != nil {
				return
			}
			continue
		}
		delay = u.cfg.BackoffMin
		u.serve(cloud)
		if u.ctx.Err() != nil || isDone(u.local.Done()) {
			return
		}
		u.setState(StateDisconnected, u.errText())
		u.mu.Lock()
		u.reconnects++
		u.mu.Unlock()
	}
}

func isDone(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

func (u *Uplink) dial() (*client.Client, error) {
	ctx, cancel := context.WithTimeout(u.ctx, 30*time.Second)
	defer cancel()
	return client.Dial(ctx, u.cfg.URL, client.Config{
		Realm: u.cfg.Realm, Serializer: u.cfg.Serializer, TLS: u.cfg.TLS, Agent: "wampedge-uplink",
		AuthID: u.cfg.AuthID, AuthRole: u.cfg.AuthRole,
		Ticket: u.cfg.Ticket, Secret: u.cfg.Secret, PrivateKey: u.cfg.PrivateKey,
		RawPayloads: true,
	})
}

// serve puts every mapping in place on a new cloud session, sends the
// queued events, and returns when the session ends (or at Close).
func (u *Uplink) serve(cloud *client.Client) {
	if err := u.subscribeCloud(cloud); err != nil {
		u.failed(err)
		cloud.Close()
		return
	}
	u.queue.rewind()
	u.mu.Lock()
	u.cloud = cloud
	u.lastErr, u.lastKey = "", ""
	u.mu.Unlock()
	u.procs.connected(cloud)
	u.setState(StateConnected, "")
	sent := make(chan struct{})
	go func() { defer close(sent); u.sendEvents(cloud) }()
	select {
	case <-cloud.Done():
		if err := cloud.Err(); err != nil {
			u.failed(err)
		} else {
			u.failed(errors.New("the cloud router closed the session"))
		}
	case <-u.ctx.Done():
		cloud.Close()
	case <-u.local.Done():
		cloud.Close()
	}
	u.mu.Lock()
	u.cloud = nil
	u.mu.Unlock()
	u.procs.disconnected()
	<-sent
}

// ackEvery is how many events may go out between two acknowledged ones:
// an acknowledgment confirms every event before it (one connection keeps
// order), so the queue learns what the cloud has without a round trip
// per event.
const ackEvery = 32

// sendEvents writes the queued events to the cloud until the session
// ends. Every ackEvery-th event, and the last one of a burst, asks for
// an acknowledgment; what is not acknowledged when the session dies is
// sent again on the next one.
func (u *Uplink) sendEvents(cloud *client.Client) {
	unacked := 0
	disclose := discloseUnknown
	for {
		e, more, ok := u.queue.next()
		if !ok {
			select {
			case <-u.queue.wake:
				continue
			case <-cloud.Done():
				return
			}
		}
		opts := client.PublishOptions{}
		if e.from != nil && disclose != discloseRefused {
			opts.DiscloseMe, opts.ForwardFor = true, []codec.ForwardFor{*e.from}
			if disclose == discloseUnknown {
				// A router that forbids disclosure drops an unacknowledged
				// disclosed event without a word: ask once, and wait.
				var ok bool
				if disclose, ok = u.probeDisclose(cloud, e, opts); !ok {
					return
				}
				if disclose == discloseAllowed {
					unacked = 0
					continue
				}
				opts = client.PublishOptions{}
			}
		}
		if unacked++; unacked < ackEvery && more {
			if cloud.Publish(u.ctx, e.topic, e.payload, opts) != nil {
				return
			}
			continue
		}
		unacked = 0
		ack, err := cloud.PublishAck(e.topic, e.payload, opts)
		if err != nil {
			return
		}
		go func(seq uint64) {
			err := <-ack
			var refused *client.Error
			if err == nil || errors.As(err, &refused) { // refused: sending again would not help
				if refused != nil {
					u.log.Warn("uplink: the cloud refused an event", "topic", e.topic, "err", err)
				}
				u.queue.confirm(seq)
			}
		}(e.seq)
	}
}

// Whether the cloud lets the bridge disclose publishers, per session.
const (
	discloseUnknown = iota
	discloseAllowed
	discloseRefused
)

// probeDisclose publishes a disclosed event with an acknowledgment and
// waits for it. A refusal says to forward publishers no more on this
// session; the event is then sent again without. false: the session
// ended.
func (u *Uplink) probeDisclose(cloud *client.Client, e outEvent, opts client.PublishOptions) (int, bool) {
	ack, err := cloud.PublishAck(e.topic, e.payload, opts)
	if err != nil {
		return discloseUnknown, false
	}
	err = <-ack
	var refused *client.Error
	switch {
	case err == nil:
		u.queue.confirm(e.seq)
		return discloseAllowed, true
	case errors.As(err, &refused):
		u.log.Info("uplink: the cloud does not let publishers be disclosed; forwarding events without them", "err", err)
		return discloseRefused, true
	}
	return discloseUnknown, false
}

// failed records why the cloud session failed or ended, logging each
// distinct reason once: a cloud that keeps refusing the credentials is
// one line, not one per retry.
func (u *Uplink) failed(err error) {
	text := err.Error()
	var abort *client.AbortError
	if errors.As(err, &abort) {
		text = abort.Error()
	}
	u.mu.Lock()
	key := failureKey(err, u.lastKey)
	repeated := key == u.lastKey
	u.lastErr, u.lastKey = text, key
	u.mu.Unlock()
	if !repeated {
		u.log.Warn("uplink: cloud session failed; retrying with backoff", "err", text)
	}
}

// failureKey says which failures are the same reason, for logging once:
// the cloud's refusals by their URI, and a connection closed during the
// join after a refusal as that refusal again (some routers close the
// connection before their ABORT is out).
func failureKey(err error, last string) string {
	var abort *client.AbortError
	switch {
	case errors.As(err, &abort):
		return "refused " + abort.Reason
	case strings.HasPrefix(last, "refused ") && (errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, syscall.ECONNRESET)):
		return last
	}
	return err.Error()
}

func (u *Uplink) errText() string {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.lastErr
}

// setState records and announces a state change: a log line, and an
// event on wampedge.uplink.on_state. Staying in a state announces
// nothing.
func (u *Uplink) setState(state, reason string) {
	u.mu.Lock()
	same := u.state == state
	u.mu.Unlock()
	if !same {
		u.announce(state, reason)
	}
}

// announce records a state and publishes it on wampedge.uplink.on_state,
// even when it is the state already (connecting, at each attempt); the
// log has a line only when the state changed, with the reason if any.
func (u *Uplink) announce(state, reason string) {
	u.mu.Lock()
	changed := u.state != state
	if changed {
		u.state, u.since = state, time.Now()
	}
	since, reconnects := u.since, u.reconnects
	u.mu.Unlock()
	if changed {
		if reason != "" {
			u.log.Info("uplink: "+state, "reason", reason)
		} else {
			u.log.Info("uplink: " + state)
		}
	}
	ev := edge.Dict{
		{Key: "state", Value: state},
		{Key: "since", Value: since.UTC().Format(time.RFC3339Nano)},
		{Key: "url", Value: u.cfg.URL},
		{Key: "realm", Value: u.cfg.Realm},
		{Key: "reconnects", Value: reconnects},
	}
	if reason != "" {
		ev = append(ev, edge.Field{Key: "reason", Value: reason})
	}
	u.local.Publish(context.Background(), StateTopic, client.Args(ev), client.PublishOptions{})
}

// Status is what wampedge.uplink.status answers, as a map.
func (u *Uplink) Status() map[string]any { return u.status().Map() }

// status is what wampedge.uplink.status answers, its keys in a fixed
// order.
func (u *Uplink) status() edge.Dict {
	queued, dropped, eventsOut := u.queue.counts()
	u.mu.Lock()
	defer u.mu.Unlock()
	s := edge.Dict{
		{Key: "state", Value: u.state},
		{Key: "since", Value: u.since.UTC().Format(time.RFC3339Nano)},
		{Key: "url", Value: u.cfg.URL},
		{Key: "realm", Value: u.cfg.Realm},
		{Key: "reconnects", Value: u.reconnects},
		{Key: "queued", Value: queued},
		{Key: "dropped", Value: int64(dropped)},
		{Key: "forwarded", Value: edge.Dict{
			{Key: "events_out", Value: int64(eventsOut)},
			{Key: "events_in", Value: int64(u.eventsIn.Load())},
			{Key: "calls_out", Value: int64(u.callsOut.Load())},
			{Key: "calls_in", Value: int64(u.callsIn.Load())},
		}},
	}
	if u.lastErr != "" {
		s = append(s, edge.Field{Key: "last_error", Value: u.lastErr})
	}
	return s
}

// Figures are the bridge's state and queue, for metrics.
type Figures struct {
	State   string
	Queued  int    // events waiting for the cloud
	Dropped uint64 // events the full queue dropped
}

// Figures returns the bridge's state and queue.
func (u *Uplink) Figures() Figures {
	queued, dropped, _ := u.queue.counts()
	u.mu.Lock()
	defer u.mu.Unlock()
	return Figures{State: u.state, Queued: queued, Dropped: dropped}
}

// cloudSession returns the cloud session, or nil while disconnected.
func (u *Uplink) cloudSession() *client.Client {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.cloud
}
