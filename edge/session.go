package edge

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tinylib/msgp/msgp"
	"github.com/wampedge/wampedge/codec"
	"github.com/wampedge/wampedge/rawsocket"
)

// parker is a transport whose connection can wait for its peer without
// a goroutine (rawsocket.Conn).
type parker interface {
	SetIdle(d time.Duration)
	Park(readable func()) bool
}

// Session states (WAMP.md §2.1). One session runs over one connection:
// after a GOODBYE exchange or an ABORT the connection closes.
const (
	stateHello        int32 = iota // waiting for HELLO
	stateEstablished               // joined to a realm
	stateShuttingDown              // the router sent GOODBYE; waiting for the reply
	stateChallenged                // the router sent CHALLENGE; waiting for AUTHENTICATE
)

// session is one client connection. Its reader goroutine decodes each
// message and routes it inline, copying what it sends into the outbound
// queues of the sessions concerned (burst.go), and writes those queues
// out when its burst ends (writer.go).
type session struct {
	router *Router
	t      Transport
	codec  codec.Codec // the peer's serializer
	q      *outQueue
	state  atomic.Int32
	killed atomic.Bool
	busy   atomic.Bool // the reader is routing a burst of messages (see Router.Close)

	// Set when the session joins, before other sessions can see it.
	id             uint64
	realm          *realm
	authid         string
	authrole       string
	authmethod     string
	calleeProgress bool // takes progressive results: progressive_call_results and call_canceling
	calleeCancel   bool // takes INTERRUPT: call_canceling
	calleeChunks   bool // takes progressive call invocations

	// internal is a bridge in the router's own process (the uplink): it
	// may forward the identity of the peers it acts for (forward_for).
	internal bool

	listener  string       // the URL of the listener it came in on
	transport string       // its scheme, for Stats
	agent     string       // HELLO.Details.agent
	pending   *challenge   // the CHALLENGE sent, until AUTHENTICATE
	perms     *permissions // the role's; nil: everything allowed

	testaments    [2][]testament // detached, destroyed; owned by the reader
	killedQuietly atomic.Bool    // by wamp.session.kill_all: no testaments

	// Owned by the reader goroutine.
	*scratch
	counted      counts      // what it routed (stats.go)
	shown        shownCounts // counted, as Stats reads it
	json         codec.Codec
	dirty        []*session // sessions queued to since the last flush
	lockedBroker *broker    // read-locked for the burst (burst.go)
	subs         map[uint64]*subscription
	regs         map[uint64]*registration

	// The callee side of calls, shared with the callers' readers.
	callMu      sync.Mutex
	invocations map[uint64]pendingCall // by INVOCATION request ID
	lastInv     uint64                 // the last INVOCATION request ID issued
	gone        bool                   // left its realm: no new invocations

	// The caller side: its calls, for CANCEL and progressive call
	// invocations; owned by the reader (see callRecord).
	calls callTable

	// Writing (writer.go): wb is the batch of whoever holds q's writer
	// role; dirtyBy the reader that last noted s dirty.
	running bool        // run started: kick writes (tests drive some sessions in memory)
	hello   *time.Timer // the HELLO timeout
	parker  parker      // t, if the session may park when idle
	resume  func()      // serve, for Park
	tw      tryWriter   // t, if it writes without waiting
	wb      batch
	dirtyBy atomic.Pointer[session]
}

// scratch is what the reader decodes into and encodes with. A parked
// session gives it back to scratchPool: an idle session holds none.
type scratch struct {
	in        []byte          // a JSON frame turned into MessagePack
	out       outgoing        // the message being sent, in each serializer
	matched   []*subscription // the subscriptions an event goes to
	lastMatch matchCache      // what matched holds
	passed    passedTopic     // the last topic published that passed the checks
	details   []byte          // EVENT or INVOCATION details being built
	pub       codec.Publish
	popts     codec.PublishOptions
	call      codec.Call
	copts     codec.CallOptions
	yield     codec.Yield
	yopts     codec.YieldOptions
	cerr      codec.Error
	ids       rand.PCG     // publication IDs (publicationID)
	runs      [maxRuns]run // events staged in this burst (burst.go)
	nruns     int
}

// passedTopic is the last topic a session published to that was a valid
// URI it may publish to: a publisher sends to few topics, most often the
// same one again, and its permissions do not change.
type passedTopic struct {
	topic    []byte
	disclose bool // the role's rule forces disclosure
}

var scratchPool = sync.Pool{New: func() any {
	sc := new(scratch)
	sc.ids.Seed(rand.Uint64(), rand.Uint64())
	return sc
}}

// publicationID is a global-scope ID, uniformly random in [1, 2^53],
// from the reader's own generator: the runtime's shared one cost an
// event a twentieth of its routing. Publication IDs need to be unique
// and uniform, not secret.
func (s *session) publicationID() uint64 { return s.ids.Uint64()&(codec.MaxID-1) + 1 }

func newSession(r *Router, t Transport) *session {
	return &session{
		scratch: scratchPool.Get().(*scratch),
		router:  r,
		t:       t,
		codec:   codec.NewCodec(t.Serializer()),
		q:       newOutQueue(r.cfg.QueueBytes),
		subs:    make(map[uint64]*subscription),
		calls:   newCallTable(),
	}
}

func (s *session) run() {
	if s.codec == nil { // the transport accepted a serializer we cannot speak
		s.t.Close()
		s.router.untrack(s)
		return
	}
	s.tw, _ = s.t.(tryWriter)
	s.running = true
	s.resume = s.serve // once: a method value is an allocation
	s.hello = time.AfterFunc(s.router.cfg.HelloTimeout, func() {
		if st := s.state.Load(); st == stateHello || st == stateChallenged {
			s.logger().Info("session closed: no HELLO in time", "timeout", s.router.cfg.HelloTimeout)
			s.t.Close()
		}
	})
	s.serve()
}

// logger is the router's log with the session's ID and realm once it
// joined. Made when something is logged, which is rare: a logger kept
// per session would cost each idle session a few hundred bytes.
func (s *session) logger() *slog.Logger {
	if s.realm == nil {
		return s.router.log
	}
	return s.router.log.With("session", s.id, "realm", s.realm.name)
}

// stopHelloTimer stops the HELLO timeout, once the session joined or
// ended, and lets it go.
func (s *session) stopHelloTimer() {
	if s.hello != nil {
		s.hello.Stop()
		s.hello = nil
	}
}

// serve reads and routes until the session ends, then ends it; or until
// the peer has been idle and its connection parks: then
// this goroutine returns, and serve runs again in a new one once the
// peer sends (rawsocket's park.go says why).
func (s *session) serve() {
	for {
		if s.scratch == nil {
			s.scratch = scratchPool.Get().(*scratch)
		}
		err := s.readLoop()
		if errors.Is(err, rawsocket.ErrIdle) {
			// In any state: the HELLO and GOODBYE timeouts close the
			// connection, which wakes a parked one.
			if s.parker != nil {
				s.rest()
				if s.parker.Park(s.resume) {
					return
				}
			}
			continue
		}
		s.end(err)
		return
	}
}

// rest lets go of the memory an idle session does not need, before it
// parks: its scratch, and its queue's empty buffers.
func (s *session) rest() {
	sc := s.scratch
	s.scratch = nil
	clear(sc.matched) // a pooled scratch keeps no subscription alive
	sc.matched, sc.lastMatch = sc.matched[:0], matchCache{topic: sc.lastMatch.topic[:0]}
	sc.passed = passedTopic{topic: sc.passed.topic[:0]} // another session's permissions differ
	// The runs are empty (committed), but a burst may have grown them:
	// sixteen of a burst's size would make a pooled scratch large.
	for i := range sc.runs {
		if cap(sc.runs[i].buf) > 4<<10 {
			sc.runs[i] = run{}
		}
	}
	if cap(sc.out.msg) <= 64<<10 && cap(sc.out.json) <= 64<<10 && cap(sc.in) <= 64<<10 {
		scratchPool.Put(sc)
	}
	s.q.trim(&s.wb)
}

// end takes the session out of its realm, sends its last messages and
// closes its connection.
func (s *session) end(err error) {
	s.stopHelloTimer()
	if err != nil && s.state.Load() != stateHello {
		s.logger().Debug("connection lost", "session", s.id, "err", err)
	}
	s.leave()
	s.flush()
	s.q.close()
	s.drain()
	s.router.untrack(s)
}

// readLoop reads and routes messages until the session ends. It sends
// what it queued for other sessions only when no whole frame is left in
// its read buffer: a burst costs each peer one write.
func (s *session) readLoop() error {
	defer s.endBurst()
	for {
		frame, err := s.t.ReadMsg()
		if err != nil {
			return err
		}
		msg, err := s.codec.Decode(s.in[:0], frame)
		if err != nil {
			s.violation(err.Error())
			return nil
		}
		if s.codec.Serializer() != codec.MsgPack {
			s.in = msg // keep the grown scratch
		}
		// busy is set before handle reads the state: Router.Close, which
		// changes the state and then reads busy, waits for the messages
		// routed in the state before. It stays set for a burst: an
		// atomic store per message cost as much as queuing the message.
		if !s.busy.Load() {
			s.busy.Store(true)
		}
		if !s.handle(msg) {
			return nil
		}
		if !s.t.Buffered() {
			s.endBurst()
		}
	}
}

// handle routes one message; false ends the session.
func (s *session) handle(msg []byte) bool {
	t, err := codec.TypeOf(msg)
	if err != nil {
		return s.violation(err.Error())
	}
	if t != codec.TypePublish {
		s.unlockBroker() // another session's SUBSCRIBE may be waiting; this message may lock the broker itself
	}
	switch s.state.Load() {
	case stateHello:
		if t != codec.TypeHello {
			return s.violation(fmt.Sprintf("expected HELLO as the first message, got %v", t))
		}
		return s.onHello(msg)
	case stateChallenged:
		switch t {
		case codec.TypeAuthenticate:
			return s.onAuthenticate(msg)
		case codec.TypeAbort:
			return false
		}
		return s.violation(fmt.Sprintf("expected AUTHENTICATE after CHALLENGE, got %v", t))
	case stateShuttingDown:
		// Only the GOODBYE reply matters now (WAMP.md §2.1, transition 14).
		return t != codec.TypeGoodbye
	}
	switch t {
	case codec.TypePublish:
		return s.onPublish(msg)
	case codec.TypeCall:
		return s.onCall(msg)
	case codec.TypeYield:
		return s.onYield(msg)
	case codec.TypeError:
		return s.onError(msg)
	case codec.TypeSubscribe:
		return s.onSubscribe(msg)
	case codec.TypeUnsubscribe:
		return s.onUnsubscribe(msg)
	case codec.TypeRegister:
		return s.onRegister(msg)
	case codec.TypeUnregister:
		return s.onUnregister(msg)
	case codec.TypeGoodbye:
		return s.onGoodbye(msg)
	case codec.TypeAbort:
		return s.onAbort(msg)
	case codec.TypeHello:
		return s.violation("received HELLO after the session was established")
	case codec.TypeAuthenticate:
		return s.violation("received AUTHENTICATE, but the router sent no CHALLENGE")
	case codec.TypeCancel:
		return s.onCancel(msg)
	}
	return s.violation(fmt.Sprintf("received %v, which only a router sends", t))
}

func (s *session) strict() bool { return s.router.cfg.StrictURIs }

func (s *session) onHello(msg []byte) bool {
	var h codec.Hello
	if err := h.Decode(msg); err != nil {
		return s.violation(err.Error())
	}
	var d codec.HelloDetails
	if err := d.Decode(h.Details); err != nil {
		return s.violation(err.Error())
	}
	if len(d.Roles) == 0 {
		return s.violation("HELLO.Details.roles must announce at least one of publisher, subscriber, caller, callee")
	}
	for role := range d.Roles {
		switch role {
		case "publisher", "subscriber", "caller", "callee":
		default:
			return s.violation(fmt.Sprintf("HELLO.Details.roles: unknown role %q", role))
		}
	}
	if !validURI(h.Realm, s.strict()) {
		return s.abort(errInvalidURI, fmt.Sprintf("realm %q is not a valid URI", h.Realm))
	}
	rl := s.router.realm(h.Realm)
	if rl == nil {
		return s.abort(errNoSuchRealm, fmt.Sprintf("no realm %q on this router", h.Realm))
	}
	s.id = s.router.newSessionID()
	s.agent = d.Agent
	callee := d.Roles["callee"].Features
	s.calleeCancel = callee["call_canceling"] || callee["call_cancelling"]
	s.calleeProgress = callee["progressive_call_results"] && s.calleeCancel
	s.calleeChunks = callee["progressive_call_invocations"]
	if s.internal { // the router's own bridge
		return s.welcome(rl, d.AuthID, "trusted", "internal")
	}
	p := rl.policy
	if p == nil { // an open realm
		if len(d.AuthMethods) > 0 && !contains(d.AuthMethods, authAnonymous) {
			return s.abort(errNoMatchingAuthMethod, "realm "+rl.name+" offers anonymous authentication only")
		}
		return s.welcome(rl, d.AuthID, authAnonymous, authAnonymous)
	}
	method := s.pickMethod(p, &d)
	switch method {
	case "":
		s.logger().Info("join refused: no authentication method in common", "realm", rl.name, "offered", d.AuthMethods, "authid", d.AuthID, "listener", s.listener)
		return s.abort(errNoMatchingAuthMethod, fmt.Sprintf("realm %s offers none of %v on this listener", rl.name, d.AuthMethods))
	case authAnonymous:
		return s.welcome(rl, d.AuthID, p.anonymousRole(), authAnonymous)
	}
	c := &challenge{rl: rl, p: p, method: method, authid: d.AuthID}
	ch, ok := s.challengeFor(c, &d)
	if !ok {
		return false
	}
	s.pending = c
	s.state.Store(stateChallenged)
	s.reply(ch)
	return true
}

// onAuthenticate checks the answer to the CHALLENGE.
func (s *session) onAuthenticate(msg []byte) bool {
	var m codec.Authenticate
	if err := m.Decode(msg); err != nil {
		return s.violation(err.Error())
	}
	c := s.pending
	s.pending = nil
	if !c.verify(m.Signature) {
		s.router.authFailures.Add(1)
		s.logger().Warn("authentication failed", "realm", c.rl.name, "authid", c.authid, "method", c.method, "listener", s.listener)
		return s.abort(errAuthenticationFailed, fmt.Sprintf("%s authentication failed", c.method))
	}
	return s.welcome(c.rl, c.user.AuthID, c.user.Role, c.method)
}

// welcome joins the session to its realm, within the session limits.
func (s *session) welcome(rl *realm, authid, authrole, authmethod string) bool {
	if authid == "" {
		authid = strconv.FormatUint(s.id, 10)
	}
	if why := s.router.admit(rl, s); why != "" {
		s.logger().Warn("join refused", "realm", rl.name, "authid", authid, "limit", why)
		return s.abort(errTooManySessions, why)
	}
	s.realm, s.authid, s.authrole, s.authmethod = rl, authid, authrole, authmethod
	if p := rl.policy; p != nil && p.roles != nil && !s.internal {
		s.perms = p.roles[authrole]
	}
	s.state.Store(stateEstablished)
	s.stopHelloTimer()
	wd := codec.WelcomeDetails{
		Roles: map[string]codec.Role{
			"broker": {Features: brokerFeatures},
			"dealer": {Features: dealerFeatures},
		},
		Realm:        rl.name,
		AuthID:       s.authid,
		AuthRole:     s.authrole,
		AuthMethod:   s.authmethod,
		AuthProvider: "static",
		Agent:        s.router.cfg.Agent,
	}
	details, _ := wd.MarshalMsg(nil)
	room := s.t.MaxSend() - 64 // the rest of WELCOME
	if s.codec.Serializer() == codec.JSON {
		room /= 2 // JSON is longer
	}
	if len(details) > room {
		// A peer that takes only small messages (a microcontroller that
		// announced 512 bytes) gets the roles without their features,
		// which it could not use anyway.
		wd.Roles = map[string]codec.Role{"broker": {}, "dealer": {}}
		details, _ = wd.MarshalMsg(nil)
	}
	s.reply(&codec.Welcome{Session: s.id, Details: details})
	s.logger().Debug("session joined", "authid", s.authid, "authrole", s.authrole, "authmethod", s.authmethod, "agent", s.agent, "serializer", s.codec.Name())
	s.metaEvent(metaSessionOnJoin, s.sessionDetails())
	return true
}

// The features WELCOME announces: exactly those implemented.
var (
	brokerFeatures = map[string]bool{
		"publisher_exclusion":           true,
		"publisher_identification":      true,
		"subscriber_blackwhite_listing": true,
		"pattern_based_subscription":    true,
		"subscription_meta_api":         true,
		"session_meta_api":              true,
		"event_retention":               true,
	}
	dealerFeatures = map[string]bool{
		"caller_identification":        true,
		"pattern_based_registration":   true,
		"progressive_call_results":     true,
		"call_canceling":               true,
		"call_timeout":                 true,
		"shared_registration":          true,
		"progressive_call_invocations": true,
		"registration_meta_api":        true,
		"session_meta_api":             true,
		"testament_meta_api":           true,
	}
)

func (s *session) onGoodbye(msg []byte) bool {
	var m codec.Goodbye
	if err := m.Decode(msg); err != nil {
		return s.violation(err.Error())
	}
	s.replyLast(&codec.Goodbye{Reason: []byte(closeGoodbyeAndOut)})
	s.logger().Debug("session left", "reason", string(m.Reason))
	return false
}

func (s *session) onAbort(msg []byte) bool {
	var m codec.Abort
	if err := m.Decode(msg); err != nil {
		return s.violation(err.Error())
	}
	s.logger().Debug("session aborted by the client", "reason", string(m.Reason))
	return false
}

// checkURI returns what is wrong with a topic or procedure URI, or "".
// reservedToo refuses the router's wamp. namespace (publish, register).
func (s *session) checkURI(u []byte, reservedToo bool) string {
	if !validURI(u, s.strict()) {
		rules := "loose"
		if s.strict() {
			rules = "strict"
		}
		return fmt.Sprintf("%q is not a valid URI (%s rules)", u, rules)
	}
	if reservedToo && reserved(u) {
		return fmt.Sprintf("%q: the wamp. namespace is reserved for the router", u)
	}
	return ""
}

// leave takes the session out of its realm: its subscriptions and
// registrations go, and calls waiting on it as callee fail for their
// callers with wamp.error.canceled.
func (s *session) leave() {
	rl := s.realm
	if rl == nil {
		return
	}
	for _, sub := range s.subs {
		s.dropSubscription(sub, nil)
	}
	for _, reg := range s.regs {
		s.dropRegistration(reg, nil)
	}
	s.publishTestaments()
	s.callMu.Lock()
	s.gone = true
	invocations := s.invocations
	s.invocations = nil
	s.callMu.Unlock()
	for _, p := range invocations {
		p.ended()
		s.sendError(p.caller, codec.TypeCall, p.request, errCanceled, "the callee left before it answered")
	}
	rl.leave(s)
	s.router.joined.Add(-1)
	s.metaEvent(metaSessionOnLeave, s.id, s.authid, s.authrole)
}

// closeWith starts the router's GOODBYE with a reason, from any
// goroutine; a session not joined is closed at once.
func (s *session) closeWith(reason, message string) {
	if s.stopRouting() {
		s.sayGoodbye(reason, message)
	}
}

// stopRouting puts a joined session in the shutting down state, in
// which its reader routes nothing but the GOODBYE reply; false if it
// was not joined (its connection is closed at once) or is shutting
// down already.
func (s *session) stopRouting() bool {
	if !s.state.CompareAndSwap(stateEstablished, stateShuttingDown) {
		if s.state.Load() != stateShuttingDown {
			s.t.Close()
		}
		return false
	}
	return true
}

// settle waits until the session's reader is done with the burst of
// messages it was routing when stopRouting was called, if any, or ctx
// ends.
func (s *session) settle(ctx context.Context) {
	for i := 0; s.busy.Load() && ctx.Err() == nil; i++ {
		if i < 100 {
			runtime.Gosched()
		} else {
			time.Sleep(10 * time.Microsecond)
		}
	}
}

// sayGoodbye sends the router's GOODBYE, the session's last message,
// and closes the connection GoodbyeTimeout later.
func (s *session) sayGoodbye(reason, message string) {
	d, _ := (&codec.CloseDetails{Message: message}).MarshalMsg(nil)
	s.router.postLast(s, &codec.Goodbye{Details: d, Reason: []byte(reason)})
	time.AfterFunc(s.router.cfg.GoodbyeTimeout, func() { s.t.Close() })
}

// violation aborts the session with wamp.error.protocol_violation.
func (s *session) violation(message string) bool {
	s.router.violations.Add(1)
	s.logger().Info("protocol violation: session aborted", "err", message)
	return s.abort(errProtocolViolation, message)
}

// abort sends ABORT; the session ends and its connection closes.
func (s *session) abort(reason, message string) bool {
	d, _ := (&codec.CloseDetails{Message: message}).MarshalMsg(nil)
	s.replyLast(&codec.Abort{Details: d, Reason: []byte(reason)})
	return false
}

// reply sends a message to this session's own peer.
func (s *session) reply(m codec.Message) {
	s.out.set(m.Append(s.out.msg[:0]))
	s.deliver(s, &s.out, false)
}

// replyError answers a request of this session's peer with ERROR, with
// a readable message as the one argument.
func (s *session) replyError(t codec.Type, request uint64, uri, message string) {
	s.sendError(s, t, request, uri, message)
}

func (s *session) sendError(dest *session, t codec.Type, request uint64, uri, message string) {
	if t == codec.TypeCall {
		s.router.countCallError(uri, classOther)
	}
	args := msgp.AppendArrayHeader(nil, 1)
	args = msgp.AppendString(args, message)
	m := codec.Error{RequestType: t, Request: request, Error: []byte(uri), Args: args}
	s.out.set(m.Append(s.out.msg[:0]))
	s.deliver(dest, &s.out, false)
}

func contains(list []string, v string) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}
