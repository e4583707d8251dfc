package edge

import (
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tinylib/msgp/msgp"
	"github.com/wampedge/wampedge/codec"
)

// Session states (WAMP.md §2.1). One session runs over one connection:
// after a GOODBYE exchange or an ABORT the connection closes.
const (
	stateHello        int32 = iota // waiting for HELLO
	stateEstablished               // joined to a realm
	stateShuttingDown              // the router sent GOODBYE; waiting for the reply
)

// session is one client connection. Its reader goroutine decodes each
// message and routes it inline, copying what it sends into the outbound
// queues of the sessions concerned; its writer goroutine drains its own
// queue into the transport.
type session struct {
	router *Router
	t      Transport
	codec  codec.Codec // the peer's serializer
	q      *outQueue
	log    *slog.Logger
	state  atomic.Int32
	killed atomic.Bool

	// Set when the session joins, before other sessions can see it.
	id       uint64
	realm    *realm
	authid   string
	authrole string

	// Owned by the reader goroutine.
	in    []byte   // a JSON frame turned into MessagePack
	out   outgoing // the message being sent, in each serializer
	json  codec.Codec
	dirty map[*session]struct{} // sessions queued to since the last flush
	subs  map[uint64]*subscription
	regs  map[uint64]*registration
	pub   codec.Publish
	popts codec.PublishOptions
	call  codec.Call
	copts codec.CallOptions
	yield codec.Yield
	yopts codec.YieldOptions
	cerr  codec.Error

	// The callee side of calls, shared with the callers' readers.
	callMu  sync.Mutex
	calls   map[uint64]pendingCall // by INVOCATION request ID
	lastInv uint64                 // the last INVOCATION request ID issued
	gone    bool                   // left its realm: no new invocations

	writerDone chan struct{}
}

// pendingCall is an INVOCATION that waits for its YIELD or ERROR.
type pendingCall struct {
	caller  *session
	request uint64 // the caller's CALL request ID
}

func newSession(r *Router, t Transport) *session {
	return &session{
		router:     r,
		t:          t,
		codec:      codec.NewCodec(t.Serializer()),
		q:          newOutQueue(r.cfg.QueueBytes),
		log:        r.log,
		dirty:      make(map[*session]struct{}),
		subs:       make(map[uint64]*subscription),
		regs:       make(map[uint64]*registration),
		calls:      make(map[uint64]pendingCall),
		writerDone: make(chan struct{}),
	}
}

func (s *session) run() {
	if s.codec == nil { // the transport accepted a serializer we cannot speak
		s.t.Close()
		return
	}
	hello := time.AfterFunc(s.router.cfg.HelloTimeout, func() {
		if s.state.Load() == stateHello {
			s.log.Info("session closed: no HELLO in time", "timeout", s.router.cfg.HelloTimeout)
			s.t.Close()
		}
	})
	go s.writeLoop()
	err := s.readLoop()
	hello.Stop()
	if err != nil && s.state.Load() != stateHello {
		s.log.Debug("connection lost", "session", s.id, "err", err)
	}
	s.leave()
	s.flush()
	s.q.close()
	// The writer sends what is queued (an ABORT, a GOODBYE) and closes
	// the transport; a peer that does not read gets GoodbyeTimeout.
	select {
	case <-s.writerDone:
	case <-time.After(s.router.cfg.GoodbyeTimeout):
		s.t.Close()
		<-s.writerDone
	}
}

// readLoop reads and routes messages until the session ends. It wakes
// the writers it queued messages for only when no whole frame is left
// in its read buffer: a burst costs each writer one wake-up.
func (s *session) readLoop() error {
	defer s.flush()
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
		if !s.handle(msg) {
			return nil
		}
		if !s.t.Buffered() {
			s.flush()
		}
	}
}

func (s *session) flush() {
	for d := range s.dirty {
		d.q.signal()
	}
	clear(s.dirty)
}

func (s *session) writeLoop() {
	defer close(s.writerDone)
	var b batch
	for range s.q.wake {
		for {
			closed := s.q.take(&b)
			if len(b.msgs) > 0 {
				if err := s.t.WriteMsgs(b.msgs); err != nil {
					s.q.close()
					s.t.Close()
					return
				}
			}
			b.shrink()
			if closed && len(b.msgs) == 0 {
				s.t.Close()
				return
			}
			if len(b.msgs) == 0 {
				break
			}
		}
	}
}

// handle routes one message; false ends the session.
func (s *session) handle(msg []byte) bool {
	t, err := codec.TypeOf(msg)
	if err != nil {
		return s.violation(err.Error())
	}
	switch s.state.Load() {
	case stateHello:
		if t != codec.TypeHello {
			return s.violation(fmt.Sprintf("expected HELLO as the first message, got %v", t))
		}
		return s.onHello(msg)
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
		return s.violation("received CANCEL, but the router does not offer call_canceling")
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
	if len(d.AuthMethods) > 0 && !contains(d.AuthMethods, "anonymous") {
		return s.abort(errNoMatchingAuthMethod, "this router offers anonymous authentication only")
	}
	s.id = s.router.newSessionID()
	s.realm = rl
	s.authid = d.AuthID
	if s.authid == "" {
		s.authid = strconv.FormatUint(s.id, 10)
	}
	s.authrole = "anonymous"
	s.log = s.router.log.With("session", s.id, "realm", rl.name)
	rl.join(s)
	s.state.Store(stateEstablished)
	wd := codec.WelcomeDetails{
		Roles: map[string]codec.Role{
			"broker": {Features: brokerFeatures},
			"dealer": {Features: dealerFeatures},
		},
		Realm:        rl.name,
		AuthID:       s.authid,
		AuthRole:     s.authrole,
		AuthMethod:   "anonymous",
		AuthProvider: "static",
		Agent:        s.router.cfg.Agent,
	}
	details, _ := wd.MarshalMsg(nil)
	s.reply(&codec.Welcome{Session: s.id, Details: details})
	s.log.Debug("session joined", "authid", s.authid, "agent", d.Agent, "serializer", s.codec.Name())
	return true
}

// The features WELCOME announces: exactly those implemented.
var (
	brokerFeatures = map[string]bool{"publisher_exclusion": true}
	dealerFeatures = map[string]bool{}
)

func (s *session) onPublish(msg []byte) bool {
	p, o := &s.pub, &s.popts
	if err := p.Decode(msg); err != nil {
		return s.violation(err.Error())
	}
	if err := o.Decode(p.Options); err != nil {
		return s.violation(err.Error())
	}
	if err := codec.CheckPayload(codec.TypePublish, "Options", p.Options, p.Args); err != nil {
		return s.violation(err.Error())
	}
	if problem := s.checkURI(p.Topic, true); problem != "" {
		// An unacknowledged publish fails silently (WAMP.md §5.1).
		if o.Acknowledge {
			s.replyError(codec.TypePublish, p.Request, errInvalidURI, problem)
		}
		return true
	}
	publication := randomID()
	s.publish(p, publication, o.ExcludeMe.Or(true))
	if o.Acknowledge {
		s.reply(&codec.Published{Request: p.Request, Publication: publication})
	}
	return true
}

// publish queues one EVENT, encoded once per serializer, for every
// subscriber of the topic.
func (s *session) publish(p *codec.Publish, publication uint64, excludeMe bool) {
	b := &s.realm.broker
	b.mu.RLock()
	defer b.mu.RUnlock()
	sub := b.topics[string(p.Topic)]
	if sub == nil {
		return
	}
	ev := codec.Event{Subscription: sub.id, Publication: publication, Args: p.Args, Kwargs: p.Kwargs}
	s.out.set(ev.Append(s.out.msg[:0]))
	for _, dest := range sub.subscribers {
		if dest == s && excludeMe {
			continue
		}
		if err := s.deliver(dest, &s.out, true); err != nil {
			s.router.droppedEvents.Add(1)
		}
	}
}

func (s *session) onSubscribe(msg []byte) bool {
	var m codec.Subscribe
	var o codec.SubscribeOptions
	if err := m.Decode(msg); err != nil {
		return s.violation(err.Error())
	}
	if err := o.Decode(m.Options); err != nil {
		return s.violation(err.Error())
	}
	if o.Match != "" && o.Match != "exact" {
		s.replyError(codec.TypeSubscribe, m.Request, errOptionNotAllowed, "match "+strconv.Quote(o.Match)+": this router offers exact matching only")
		return true
	}
	if problem := s.checkURI(m.Topic, false); problem != "" {
		s.replyError(codec.TypeSubscribe, m.Request, errInvalidURI, problem)
		return true
	}
	s.realm.broker.subscribe(s, m.Topic, s.router.newID, func(sub *subscription) {
		s.subs[sub.id] = sub
		s.reply(&codec.Subscribed{Request: m.Request, Subscription: sub.id})
	})
	return true
}

func (s *session) onUnsubscribe(msg []byte) bool {
	var m codec.Unsubscribe
	if err := m.Decode(msg); err != nil {
		return s.violation(err.Error())
	}
	sub := s.subs[m.Subscription]
	if sub == nil {
		s.replyError(codec.TypeUnsubscribe, m.Request, errNoSuchSubscription, fmt.Sprintf("this session has no subscription %d", m.Subscription))
		return true
	}
	delete(s.subs, m.Subscription)
	s.realm.broker.unsubscribe(s, sub)
	s.reply(&codec.Unsubscribed{Request: m.Request})
	return true
}

func (s *session) onRegister(msg []byte) bool {
	var m codec.Register
	var o codec.RegisterOptions
	if err := m.Decode(msg); err != nil {
		return s.violation(err.Error())
	}
	if err := o.Decode(m.Options); err != nil {
		return s.violation(err.Error())
	}
	switch {
	case o.Match != "" && o.Match != "exact":
		s.replyError(codec.TypeRegister, m.Request, errOptionNotAllowed, "match "+strconv.Quote(o.Match)+": this router offers exact matching only")
		return true
	case o.Invoke != "" && o.Invoke != "single":
		s.replyError(codec.TypeRegister, m.Request, errOptionNotAllowed, "invoke "+strconv.Quote(o.Invoke)+": this router offers single registrations only")
		return true
	}
	if problem := s.checkURI(m.Procedure, true); problem != "" {
		s.replyError(codec.TypeRegister, m.Request, errInvalidURI, problem)
		return true
	}
	s.realm.dealer.register(s, m.Procedure, s.router.newID, func(reg *registration) {
		if reg == nil {
			s.replyError(codec.TypeRegister, m.Request, errProcedureExists, fmt.Sprintf("procedure %q is already registered", m.Procedure))
			return
		}
		s.regs[reg.id] = reg
		s.reply(&codec.Registered{Request: m.Request, Registration: reg.id})
	})
	return true
}

func (s *session) onUnregister(msg []byte) bool {
	var m codec.Unregister
	if err := m.Decode(msg); err != nil {
		return s.violation(err.Error())
	}
	reg := s.regs[m.Registration]
	if reg == nil {
		s.replyError(codec.TypeUnregister, m.Request, errNoSuchRegistration, fmt.Sprintf("this session has no registration %d", m.Registration))
		return true
	}
	delete(s.regs, m.Registration)
	s.realm.dealer.unregister(reg)
	s.reply(&codec.Unregistered{Request: m.Request})
	return true
}

func (s *session) onCall(msg []byte) bool {
	c := &s.call
	if err := c.Decode(msg); err != nil {
		return s.violation(err.Error())
	}
	if err := s.copts.Decode(c.Options); err != nil {
		return s.violation(err.Error())
	}
	if s.copts.ReceiveProgress || s.copts.Progress {
		return s.violation("CALL uses progressive calls, which the router does not offer")
	}
	if err := codec.CheckPayload(codec.TypeCall, "Options", c.Options, c.Args); err != nil {
		return s.violation(err.Error())
	}
	if problem := s.checkURI(c.Procedure, false); problem != "" {
		s.replyError(codec.TypeCall, c.Request, errInvalidURI, problem)
		return true
	}
	reg := s.realm.dealer.lookup(c.Procedure)
	if reg == nil {
		s.replyError(codec.TypeCall, c.Request, errNoSuchProcedure, fmt.Sprintf("no callee registered %q", c.Procedure))
		return true
	}
	callee := reg.callee
	inv, ok := callee.expect(pendingCall{caller: s, request: c.Request})
	if !ok { // the callee is leaving
		s.replyError(codec.TypeCall, c.Request, errNoSuchProcedure, fmt.Sprintf("the callee of %q is leaving", c.Procedure))
		return true
	}
	m := codec.Invocation{Request: inv, Registration: reg.id, Args: c.Args, Kwargs: c.Kwargs}
	s.out.set(m.Append(s.out.msg[:0]))
	// A call the callee's leave took meanwhile has had its answer there.
	if err := s.deliver(callee, &s.out, false); err != nil && callee.forget(inv) {
		s.replyError(codec.TypeCall, c.Request, deliveryErrorURI(err), "the call could not reach its callee: "+err.Error())
	}
	return true
}

// expect records an invocation of this callee and returns its request ID;
// false when the callee has left its realm.
func (s *session) expect(p pendingCall) (uint64, bool) {
	s.callMu.Lock()
	defer s.callMu.Unlock()
	if s.gone {
		return 0, false
	}
	s.lastInv++
	if s.lastInv > codec.MaxID {
		s.lastInv = 1
	}
	s.calls[s.lastInv] = p
	return s.lastInv, true
}

// forget removes an invocation that could not be delivered, and reports
// whether it was still pending: if not, the callee has left and its
// leave answered the caller.
func (s *session) forget(inv uint64) bool {
	s.callMu.Lock()
	defer s.callMu.Unlock()
	_, pending := s.calls[inv]
	delete(s.calls, inv)
	return pending
}

// answered removes and returns the invocation a YIELD or ERROR answers.
// A request ID issued before but no longer pending is a late answer to a
// call that is over (its caller left): not an error (WAMP.md §2.6).
func (s *session) answered(inv uint64) (p pendingCall, found, late bool) {
	s.callMu.Lock()
	defer s.callMu.Unlock()
	p, found = s.calls[inv]
	if found {
		delete(s.calls, inv)
	}
	return p, found, inv <= s.lastInv
}

func (s *session) onYield(msg []byte) bool {
	y := &s.yield
	if err := y.Decode(msg); err != nil {
		return s.violation(err.Error())
	}
	if err := s.yopts.Decode(y.Options); err != nil {
		return s.violation(err.Error())
	}
	if s.yopts.Progress {
		return s.violation("YIELD with progress, which the router does not offer")
	}
	if err := codec.CheckPayload(codec.TypeYield, "Options", y.Options, y.Args); err != nil {
		return s.violation(err.Error())
	}
	p, found, late := s.answered(y.Request)
	if !found {
		if late {
			return true
		}
		return s.violation(fmt.Sprintf("YIELD for INVOCATION %d, which the router never sent", y.Request))
	}
	m := codec.Result{Request: p.request, Args: y.Args, Kwargs: y.Kwargs}
	s.out.set(m.Append(s.out.msg[:0]))
	if err := s.deliver(p.caller, &s.out, false); err != nil && !errors.Is(err, errGone) {
		s.sendError(p.caller, codec.TypeCall, p.request, deliveryErrorURI(err), "the result could not reach the caller: "+err.Error())
	}
	return true
}

func (s *session) onError(msg []byte) bool {
	e := &s.cerr
	if err := e.Decode(msg); err != nil {
		return s.violation(err.Error())
	}
	if e.RequestType != codec.TypeInvocation {
		return s.violation(fmt.Sprintf("ERROR for %v: a client sends ERROR only for INVOCATION", e.RequestType))
	}
	if err := codec.CheckPayload(codec.TypeError, "Details", e.Details, e.Args); err != nil {
		return s.violation(err.Error())
	}
	p, found, late := s.answered(e.Request)
	if !found {
		if late {
			return true
		}
		return s.violation(fmt.Sprintf("ERROR for INVOCATION %d, which the router never sent", e.Request))
	}
	m := codec.Error{RequestType: codec.TypeCall, Request: p.request, Error: e.Error, Args: e.Args, Kwargs: e.Kwargs}
	s.out.set(m.Append(s.out.msg[:0]))
	if err := s.deliver(p.caller, &s.out, false); err != nil && !errors.Is(err, errGone) {
		s.sendError(p.caller, codec.TypeCall, p.request, deliveryErrorURI(err), "the error could not reach the caller: "+err.Error())
	}
	return true
}

func (s *session) onGoodbye(msg []byte) bool {
	var m codec.Goodbye
	if err := m.Decode(msg); err != nil {
		return s.violation(err.Error())
	}
	s.reply(&codec.Goodbye{Reason: []byte(closeGoodbyeAndOut)})
	s.log.Debug("session left", "reason", string(m.Reason))
	return false
}

func (s *session) onAbort(msg []byte) bool {
	var m codec.Abort
	if err := m.Decode(msg); err != nil {
		return s.violation(err.Error())
	}
	s.log.Debug("session aborted by the client", "reason", string(m.Reason))
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
	for id, sub := range s.subs {
		rl.broker.unsubscribe(s, sub)
		delete(s.subs, id)
	}
	for id, reg := range s.regs {
		rl.dealer.unregister(reg)
		delete(s.regs, id)
	}
	s.callMu.Lock()
	s.gone = true
	calls := s.calls
	s.calls = nil
	s.callMu.Unlock()
	for _, p := range calls {
		s.sendError(p.caller, codec.TypeCall, p.request, errCanceled, "the callee left before it answered")
	}
	rl.leave(s)
}

// shutdown starts the router's GOODBYE (wamp.close.system_shutdown); a
// session not yet joined is closed at once.
func (s *session) shutdown() {
	if !s.state.CompareAndSwap(stateEstablished, stateShuttingDown) {
		s.t.Close()
		return
	}
	d, _ := (&codec.CloseDetails{Message: "the router is shutting down"}).MarshalMsg(nil)
	msg := (&codec.Goodbye{Details: d, Reason: []byte(closeSystemShutdown)}).Append(nil)
	if wire, err := s.codec.Encode(nil, msg); err == nil && s.q.push(wire) == queued {
		s.q.signal()
	}
	time.AfterFunc(s.router.cfg.GoodbyeTimeout, func() { s.t.Close() })
}

// violation aborts the session with wamp.error.protocol_violation.
func (s *session) violation(message string) bool {
	s.router.violations.Add(1)
	s.log.Info("protocol violation: session aborted", "err", message)
	return s.abort(errProtocolViolation, message)
}

// abort sends ABORT; the session ends and its connection closes.
func (s *session) abort(reason, message string) bool {
	d, _ := (&codec.CloseDetails{Message: message}).MarshalMsg(nil)
	s.reply(&codec.Abort{Details: d, Reason: []byte(reason)})
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
