package edge

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/wampedge/wampedge/codec"
	"github.com/wampedge/wampedge/internal/shrink"
	"github.com/wampedge/wampedge/rawsocket"
)

// SlowConsumerPolicy says what happens to a session whose outbound queue
// is full.
type SlowConsumerPolicy string

const (
	// Disconnect closes the slow session's connection (the default): it
	// reconnects and catches up, and nobody else waits for it.
	Disconnect SlowConsumerPolicy = "disconnect"
	// DropEvents drops the events that do not fit, and counts them.
	// Replies to its own requests still disconnect it when they do not fit.
	DropEvents SlowConsumerPolicy = "drop"
)

// Config is the router's configuration. The zero value (or nil passed to
// New) is the embedded default: realm1, anonymous, loose URIs.
type Config struct {
	// Realms that exist from the start; empty means just "realm1".
	Realms []string
	// AutoRealms creates a realm on the first HELLO that names it.
	AutoRealms bool
	// StrictURIs checks URIs by the strict rules instead of the loose ones.
	StrictURIs bool
	// HelloTimeout bounds the time from connection to WELCOME (10s).
	HelloTimeout time.Duration
	// GoodbyeTimeout bounds the wait for a client's GOODBYE reply on
	// shutdown (2s).
	GoodbyeTimeout time.Duration
	// QueueBytes bounds each session's outbound queue (1 MiB).
	QueueBytes int
	// SlowConsumer is the policy for a full queue (Disconnect).
	SlowConsumer SlowConsumerPolicy
	// SlowConsumerWait is how long a session whose queue is full may hold
	// up the sessions sending to it before the policy applies (1s): their
	// readers wait meanwhile, so nothing is lost to a consumer that is
	// slow for a moment. Negative: the policy applies at once.
	SlowConsumerWait time.Duration
	// IdleAfter is how long a listener's session may send nothing before
	// its connection parks (100ms): it gives up its goroutine and read
	// buffer until the peer sends again, so that idle sessions cost
	// little memory (rawsocket.Conn.Park; Linux). Negative: never.
	IdleAfter time.Duration
	// Policies say who may join each realm and what roles may do there,
	// by realm name; a realm without one is open to anonymous clients.
	Policies map[string]*RealmPolicy

	// Limits; zero means none.
	MaxSessions      int           // sessions joined to any realm
	MaxSubscriptions int           // per session
	MaxRegistrations int           // per session
	MaxPendingCalls  int           // calls in progress per session, as caller
	CallTimeout      time.Duration // the longest a call may run: the router ends it with wamp.error.timeout

	// Retained events (PUBLISH retain: true), per realm: at most this
	// many (1000) and bytes (1 MiB); the oldest go first.
	MaxRetained      int
	MaxRetainedBytes int

	// Stats, if set, makes the dict wampedge.stats answers from the
	// router's figures, adding those of the rest of the process; nil
	// answers with Stats.Dict.
	Stats func(Stats) Dict

	// Agent is announced in WELCOME.
	Agent string
	// Logger receives the router's log; nil discards it.
	Logger *slog.Logger
}

func (c *Config) withDefaults() Config {
	d := Config{}
	if c != nil {
		d = *c
	}
	if len(d.Realms) == 0 {
		d.Realms = []string{"realm1"}
	}
	if d.HelloTimeout <= 0 {
		d.HelloTimeout = 10 * time.Second
	}
	if d.GoodbyeTimeout <= 0 {
		d.GoodbyeTimeout = 2 * time.Second
	}
	if d.QueueBytes <= 0 {
		d.QueueBytes = 1 << 20
	}
	if d.MaxRetained <= 0 {
		d.MaxRetained = 1000
	}
	if d.MaxRetainedBytes <= 0 {
		d.MaxRetainedBytes = 1 << 20
	}
	if d.SlowConsumer == "" {
		d.SlowConsumer = Disconnect
	}
	if d.SlowConsumerWait == 0 {
		d.SlowConsumerWait = time.Second
	}
	if d.IdleAfter == 0 {
		d.IdleAfter = 100 * time.Millisecond
	}
	if d.Agent == "" {
		d.Agent = "wampedge"
	}
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	return d
}

// Validate checks a configuration and names the bad field.
func (c *Config) Validate() error {
	for i, name := range c.Realms {
		if !validURI([]byte(name), c.StrictURIs) {
			return fmt.Errorf("realms[%d]: %q is not a valid URI", i, name)
		}
	}
	switch c.SlowConsumer {
	case "", Disconnect, DropEvents:
	default:
		return fmt.Errorf("slow_consumer: %q is not %q or %q", c.SlowConsumer, Disconnect, DropEvents)
	}
	if c.QueueBytes < 0 {
		return errors.New("queue_bytes: must not be negative")
	}
	for name, lim := range map[string]int{"max_sessions": c.MaxSessions, "max_subscriptions": c.MaxSubscriptions,
		"max_registrations": c.MaxRegistrations, "max_pending_calls": c.MaxPendingCalls} {
		if lim < 0 {
			return fmt.Errorf("%s: must not be negative", name)
		}
	}
	if c.CallTimeout < 0 {
		return errors.New("call_timeout: must not be negative")
	}
	for name, p := range c.Policies {
		if !slices.Contains(c.Realms, name) && !(len(c.Realms) == 0 && name == "realm1") && !c.AutoRealms {
			return fmt.Errorf("realm %q has a policy but is not one of the realms", name)
		}
		if _, err := p.prepare(c.StrictURIs); err != nil {
			return fmt.Errorf("realm %s: %w", name, err)
		}
	}
	return nil
}

// Transport is a message connection a session runs over;
// *rawsocket.Conn is one. ReadMsg is called by one goroutine, the
// session's reader; WriteMsgs by its writer; Close by anyone.
type Transport interface {
	// ReadMsg returns the next message, valid until the next call.
	ReadMsg() ([]byte, error)
	// Buffered reports whether ReadMsg would return without waiting.
	Buffered() bool
	// WriteMsgs sends messages, in one write where it can.
	WriteMsgs(msgs [][]byte) error
	// MaxSend is the largest message the peer accepts.
	MaxSend() int
	// Serializer is the peer's serializer.
	Serializer() codec.Serializer
	Close() error
}

// Router is a WAMP router: realms, sessions, a broker and a dealer per
// realm. All methods are safe for concurrent use.
type Router struct {
	cfg Config
	log *slog.Logger

	mu        sync.Mutex
	realms    map[string]*realm
	sessions  map[*session]struct{} // every live session, joined or not
	ids       map[uint64]struct{}   // session IDs in use
	peaks     [2]int                // of sessions and ids, for shrink.Delete
	listeners []Listener
	closing   bool
	wg        sync.WaitGroup // listeners' Serve loops
	live      sync.WaitGroup // sessions

	policies map[string]*policy // prepared Config.Policies

	joined        atomic.Int64 // sessions joined to a realm
	authFailures  atomic.Uint64
	nextID        atomic.Uint64 // subscription and registration IDs
	slowKills     atomic.Uint64
	droppedEvents atomic.Uint64
	violations    atomic.Uint64
	callErrors    [numClasses]atomic.Uint64 // by class (stats.go)

	// The counts of the sessions that ended (stats.go), under mu.
	ended      counts
	endedBytes [2]uint64 // received, sent
}

// New returns a router; nil means the embedded default configuration.
func New(cfg *Config) *Router {
	c := cfg.withDefaults()
	r := &Router{
		cfg:      c,
		log:      c.Logger,
		realms:   make(map[string]*realm),
		sessions: make(map[*session]struct{}),
		ids:      make(map[uint64]struct{}),
	}
	r.policies = make(map[string]*policy)
	for name, rp := range c.Policies {
		p, err := rp.prepare(c.StrictURIs)
		if err != nil { // Validate says why; fail closed: nobody joins
			r.log.Error("realm closed: its policy is invalid", "realm", name, "err", err)
			p = &policy{RealmPolicy: &RealmPolicy{}, roles: map[string]*permissions{}}
		}
		r.policies[name] = p
	}
	for _, name := range c.Realms {
		r.realms[name] = r.newRealm(name)
	}
	return r
}

func (r *Router) newRealm(name string) *realm {
	rl := newRealm(name)
	rl.policy = r.policies[name]
	return rl
}

// admit counts a session in against the router's and the realm's
// session limits, joining it to the realm; or says which limit it hit.
func (r *Router) admit(rl *realm, s *session) string {
	if n := r.joined.Add(1); r.cfg.MaxSessions > 0 && n > int64(r.cfg.MaxSessions) {
		r.joined.Add(-1)
		return fmt.Sprintf("the router has its maximum of %d sessions", r.cfg.MaxSessions)
	}
	max := 0
	if rl.policy != nil {
		max = rl.policy.MaxSessions
	}
	if !rl.join(s, max) {
		r.joined.Add(-1)
		return fmt.Sprintf("realm %s has its maximum of %d sessions", rl.name, max)
	}
	return ""
}

// Listener is a source of RawSocket connections: a TCP or Unix
// listener (*rawsocket.Listener) or a serial line (*serial.Listener).
type Listener interface {
	// Serve calls handle for each connection, and returns after Close.
	Serve(handle func(*rawsocket.Conn)) error
	Close() error
	String() string
}

// Listen opens a RawSocket listener for a transport URL (tcp://, tls://,
// unix://) and serves its connections until Close.
func (r *Router) Listen(url string, lc rawsocket.ListenConfig) (*rawsocket.Listener, error) {
	if lc.Logger == nil {
		lc.Logger = r.log
	}
	l, err := rawsocket.Listen(url, lc)
	if err != nil {
		return nil, err
	}
	if err := r.ServeListener(l); err != nil {
		return nil, err
	}
	return l, nil
}

// ServeListener serves the connections of l until Close, which closes it.
func (r *Router) ServeListener(l Listener) error {
	r.mu.Lock()
	if r.closing {
		r.mu.Unlock()
		l.Close()
		return errors.New("edge: router is closed")
	}
	r.listeners = append(r.listeners, l)
	r.wg.Add(1)
	r.mu.Unlock()
	go func() {
		defer r.wg.Done()
		if err := l.Serve(func(c *rawsocket.Conn) { r.serveFrom(c, l.String(), false) }); err != nil {
			r.log.Error("listener stopped", "listener", l.String(), "err", err)
		}
	}()
	r.log.Info("listening", "url", l.String())
	return nil
}

// Serve runs one session over t until it ends, and closes t.
func (r *Router) Serve(t Transport) { r.serve(t, false) }

// ServeInternal is Serve for a bridge in the router's own process, such
// as the uplink: the forward_for of its PUBLISH and CALL is believed, so
// that subscribers and callees see who, beyond the bridge, published or
// called. No listener serves a connection this way.
func (r *Router) ServeInternal(t Transport) { r.serve(t, true) }

func (r *Router) serve(t Transport, internal bool) { r.serveFrom(t, "", internal) }

// serveFrom runs a session that came in on listener (its URL). A
// listener's session may park: serveFrom then returns before it ends.
func (r *Router) serveFrom(t Transport, listener string, internal bool) {
	s := newSession(r, t)
	s.internal = internal
	s.listener = listener
	s.transport = transportOf(listener, internal)
	if !r.track(s) {
		t.Close()
		return
	}
	if p, ok := t.(parker); ok && listener != "" && !internal && r.cfg.IdleAfter > 0 {
		s.parker = p
		p.SetIdle(r.cfg.IdleAfter)
	}
	s.run()
}

func (r *Router) track(s *session) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closing {
		return false
	}
	r.sessions[s] = struct{}{}
	r.live.Add(1)
	return true
}

func (r *Router) untrack(s *session) {
	r.mu.Lock()
	r.foldLocked(s)
	shrink.Delete(&r.sessions, &r.peaks[0], s)
	shrink.Delete(&r.ids, &r.peaks[1], s.id)
	r.mu.Unlock()
	r.live.Done()
}

// newSessionID draws a random ID in [1, 2^53] that no live session has.
func (r *Router) newSessionID() uint64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	for {
		id := randomID()
		if _, taken := r.ids[id]; !taken {
			r.ids[id] = struct{}{}
			return id
		}
	}
}

// randomID is a global-scope ID, uniformly random in [1, 2^53].
func randomID() uint64 { return rand.Uint64N(codec.MaxID) + 1 }

// realm returns the realm called name, creating it if AutoRealms.
func (r *Router) realm(name []byte) *realm {
	r.mu.Lock()
	defer r.mu.Unlock()
	if rl := r.realms[string(name)]; rl != nil {
		return rl
	}
	if !r.cfg.AutoRealms {
		return nil
	}
	rl := r.newRealm(string(name))
	r.realms[rl.name] = rl
	r.log.Info("realm created", "realm", rl.name)
	return rl
}

// Close shuts the router down: listeners close (a Unix socket file is
// removed), every session gets GOODBYE wamp.close.system_shutdown and
// GoodbyeTimeout to answer, then its connection closes. Close returns
// when all sessions are gone or ctx is done.
func (r *Router) Close(ctx context.Context) error {
	r.mu.Lock()
	r.closing = true
	listeners := r.listeners
	r.listeners = nil
	sessions := make([]*session, 0, len(r.sessions))
	for s := range r.sessions {
		sessions = append(sessions, s)
	}
	r.mu.Unlock()
	for _, l := range listeners {
		l.Close()
	}
	// In two steps, so that a publication acknowledged before a
	// subscriber's GOODBYE has its event queued before it: every session
	// stops routing, and the readers finish the message they are in; only
	// then does each get its GOODBYE.
	var leaving []*session
	for _, s := range sessions {
		if s.stopRouting() {
			leaving = append(leaving, s)
		}
	}
	for _, s := range leaving {
		s.settle(ctx)
	}
	for _, s := range leaving {
		s.sayGoodbye(closeSystemShutdown, "the router is shutting down")
	}
	done := make(chan struct{})
	go func() { r.wg.Wait(); r.live.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		for _, s := range sessions {
			s.t.Close()
		}
		return ctx.Err()
	}
}
