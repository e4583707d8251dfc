package edge

import (
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/tinylib/msgp/msgp"
	"github.com/wampedge/wampedge/codec"
)

// pendingCall is an INVOCATION that waits for its YIELD or ERROR.
type pendingCall struct {
	caller   *session
	request  uint64      // the caller's CALL request ID
	rec      *callRecord // the caller's record of it, marked ended with it
	recGen   uint64      // the record's use
	progress bool        // the caller receives progressive results
	timer    *time.Timer
	timeout  time.Duration // the timer's: it starts again at each progressive result
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
	match, ok := matchPolicy(o.Match)
	if !ok {
		s.replyError(codec.TypeRegister, m.Request, errOptionNotAllowed, "match "+strconv.Quote(o.Match)+": want exact, prefix or wildcard")
		return true
	}
	invoke := o.Invoke
	switch invoke {
	case "":
		invoke = invokeSingle
	case invokeSingle, invokeRoundRobin, invokeRandom, invokeFirst, invokeLast:
	default:
		s.replyError(codec.TypeRegister, m.Request, errOptionNotAllowed, "invoke "+strconv.Quote(o.Invoke)+": want single, roundrobin, random, first or last")
		return true
	}
	if !validPattern(m.Procedure, s.strict(), match) {
		s.replyError(codec.TypeRegister, m.Request, errInvalidURI, fmt.Sprintf("%q is not a valid URI for match %s", m.Procedure, match))
		return true
	}
	if reserved(m.Procedure) {
		s.replyError(codec.TypeRegister, m.Request, errInvalidURI, fmt.Sprintf("%q: the wamp. namespace is reserved for the router", m.Procedure))
		return true
	}
	if string(m.Procedure) == StatsProcedure {
		s.replyError(codec.TypeRegister, m.Request, errProcedureExists, StatsProcedure+" is the router's own")
		return true
	}
	if ok, _ := s.allowed(ActionRegister, m.Procedure); !ok {
		s.replyError(codec.TypeRegister, m.Request, errNotAuthorized, notAuthorized(ActionRegister, m.Procedure, s.authrole))
		return true
	}
	if max := s.router.cfg.MaxRegistrations; max > 0 && len(s.regs) >= max {
		s.replyError(codec.TypeRegister, m.Request, errTooManyRegistrations, s.limitReached("registrations", max))
		return true
	}
	var reg *registration
	var created bool
	s.realm.dealer.register(s, m.Procedure, match, invoke, o.DiscloseCaller, s.router.newID, func(got *registration, isNew bool) {
		if got == nil {
			s.replyError(codec.TypeRegister, m.Request, errProcedureExists, fmt.Sprintf("procedure %q (match %s) is already registered, and not shared with invoke %s", m.Procedure, match, invoke))
			return
		}
		reg, created = got, isNew
		if s.regs == nil { // made on first use: most sessions register nothing
			s.regs = make(map[uint64]*registration)
		}
		s.regs[reg.id] = reg
		s.reply(&codec.Registered{Request: m.Request, Registration: reg.id})
	})
	if created {
		s.metaEvent(metaRegOnCreate, s.id, registrationDetails(reg))
	}
	if reg != nil {
		s.metaEvent(metaRegOnRegister, s.id, reg.id)
	}
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
	s.dropRegistration(reg, &codec.Unregistered{Request: m.Request})
	return true
}

// dropRegistration takes the session off a registration (UNREGISTER, or
// leaving), then sends reply if any, and the meta events: on_unregister,
// and on_delete when no callee is left.
func (s *session) dropRegistration(reg *registration, reply codec.Message) {
	delete(s.regs, reg.id)
	deleted := s.realm.dealer.unregister(reg, s)
	if reply != nil {
		s.reply(reply)
	}
	s.metaEvent(metaRegOnUnregister, s.id, reg.id)
	if deleted {
		s.metaEvent(metaRegOnDelete, s.id, reg.id)
	}
}

func (s *session) onCall(msg []byte) bool {
	c, o := &s.call, &s.copts
	if err := c.Decode(msg); err != nil {
		return s.violation(err.Error())
	}
	if err := o.Decode(c.Options); err != nil {
		return s.violation(err.Error())
	}
	if err := codec.CheckPayload(codec.TypeCall, "Options", c.Options, c.Args); err != nil {
		return s.violation(err.Error())
	}
	if handled, ok := s.callChunk(c, o.Progress); handled {
		return ok
	}
	s.counted.calls++
	if problem := s.checkURI(c.Procedure, false); problem != "" {
		s.replyError(codec.TypeCall, c.Request, errInvalidURI, problem)
		return true
	}
	ok, disclose := s.allowed(ActionCall, c.Procedure)
	if !ok {
		s.replyError(codec.TypeCall, c.Request, errNotAuthorized, notAuthorized(ActionCall, c.Procedure, s.authrole))
		return true
	}
	if disclose {
		o.DiscloseMe = true
	}
	if reserved(c.Procedure) || string(c.Procedure) == StatsProcedure {
		s.metaCall(c)
		return true
	}
	reg, callee := s.realm.dealer.lookup(c.Procedure)
	if reg == nil {
		s.replyError(codec.TypeCall, c.Request, errNoSuchProcedure, fmt.Sprintf("no callee registered %q", c.Procedure))
		return true
	}
	if o.Progress && !(callee.calleeChunks && callee.calleeCancel) {
		s.replyError(codec.TypeCall, c.Request, errFeatureNotSupported, "the callee takes no progressive call invocations")
		return true
	}
	progress := o.ReceiveProgress && callee.calleeProgress
	if !s.startCall() {
		s.replyError(codec.TypeCall, c.Request, errTooManyCalls, s.limitReached("calls in progress", s.router.cfg.MaxPendingCalls))
		return true
	}
	rec := s.calls.add(callee, 0, reg.id, c.Request, o.Progress)
	inv, ok := callee.expect(pendingCall{caller: s, request: c.Request, rec: rec, recGen: rec.gen, progress: progress})
	if !ok { // the callee is leaving
		rec.end(rec.gen)
		s.replyError(codec.TypeCall, c.Request, errNoSuchProcedure, fmt.Sprintf("the callee of %q is leaving", c.Procedure))
		return true
	}
	rec.inv = inv
	if d := s.callTimeout(o.Timeout); d > 0 {
		callee.startTimer(inv, d)
	}
	m := codec.Invocation{Request: inv, Registration: reg.id, Args: c.Args, Kwargs: c.Kwargs}
	m.Details = s.invocationDetails(reg, c.Procedure, progress, o.Progress)
	s.out.set(m.Append(s.out.msg[:0]))
	// A call the callee's leave took meanwhile has had its answer there.
	if err := s.deliver(callee, &s.out, false); err != nil && callee.forget(inv) {
		s.replyError(codec.TypeCall, c.Request, deliveryErrorURI(err), "the call could not reach its callee: "+err.Error())
	}
	return true
}

// invocationDetails encodes INVOCATION.Details into s.details: the
// concrete procedure for a pattern registration, the caller's identity
// when disclosed, receive_progress. Nil (an empty dict) in the common
// case.
func (s *session) invocationDetails(reg *registration, procedure []byte, progress, chunk bool) []byte {
	o := &s.copts
	pattern := reg.match != matchExact
	disclose := o.DiscloseMe || reg.discloseCaller
	forward := s.internal && len(o.ForwardFor) > 0
	if !pattern && !disclose && !forward && !progress && !chunk {
		return nil
	}
	n := 0 // keys
	if chunk {
		n++
	}
	if pattern {
		n++
	}
	if disclose {
		n += 3
	}
	if forward {
		n++
	}
	if progress {
		n++
	}
	b := msgp.AppendMapHeader(s.details[:0], uint32(n))
	if pattern {
		b = msgp.AppendStringFromBytes(msgp.AppendString(b, "procedure"), procedure)
	}
	if disclose {
		id, authid, authrole := s.identity(o.ForwardFor)
		b = msgp.AppendUint64(msgp.AppendString(b, "caller"), id)
		b = msgp.AppendString(msgp.AppendString(b, "caller_authid"), authid)
		b = msgp.AppendString(msgp.AppendString(b, "caller_authrole"), authrole)
	}
	if forward {
		b = appendForwardFor(msgp.AppendString(b, "forward_for"), o.ForwardFor)
	}
	if progress {
		b = msgp.AppendBool(msgp.AppendString(b, "receive_progress"), true)
	}
	if chunk {
		b = msgp.AppendBool(msgp.AppendString(b, "progress"), true)
	}
	s.details = b
	return b
}

// callChunk routes a CALL that continues a progressive call invocation
// (WAMP.md §8.3): the same request ID, to the same callee and
// invocation; the chunk without progress is the last. handled is false
// for a CALL that starts a call.
func (s *session) callChunk(c *codec.Call, progress bool) (handled, ok bool) {
	oc := s.calls.find(c.Request)
	switch {
	case oc == nil: // a new call; a chunk of one that ended is dropped
		return false, true
	case !oc.progressive:
		return true, s.violation(fmt.Sprintf("CALL request ID %d is already in use by a call in progress", c.Request))
	}
	if !progress { // the last chunk
		oc.progressive = false
	}
	m := codec.Invocation{Request: oc.inv, Registration: oc.reg, Args: c.Args, Kwargs: c.Kwargs}
	if progress {
		m.Details = progressDetails
	}
	s.out.set(m.Append(s.out.msg[:0]))
	if err := s.deliver(oc.callee, &s.out, false); err != nil && oc.callee.forget(oc.inv) {
		s.replyError(codec.TypeCall, c.Request, deliveryErrorURI(err), "the call could not reach its callee: "+err.Error())
	}
	return true, true
}

// startCall reports whether this session may start a call under
// MaxPendingCalls (a request ID in use is callChunk's to find), and now
// and then forgets the calls that ended.
func (s *session) startCall() bool {
	if max := s.router.cfg.MaxPendingCalls; max > 0 && s.calls.live() >= max {
		return false
	}
	if len(s.calls.order) >= s.calls.compactAt/2 {
		s.calls.sweep()
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
	s.lastInv = nextInv(s.lastInv)
	if s.invocations == nil { // made on first use: most sessions are no callee
		s.invocations = make(map[uint64]pendingCall)
	}
	s.invocations[s.lastInv] = p
	return s.lastInv, true
}

func nextInv(last uint64) uint64 {
	if last >= codec.MaxID {
		return 1
	}
	return last + 1
}

// forget removes an invocation that will not be answered (undeliverable,
// or cancelled), and reports whether it was still pending: if not, it
// has had its answer already.
func (s *session) forget(inv uint64) bool {
	s.callMu.Lock()
	defer s.callMu.Unlock()
	p, pending := s.invocations[inv]
	delete(s.invocations, inv)
	if pending {
		p.ended()
	}
	return pending
}

// ended releases a call that is over: its timer, and its caller's record.
func (p *pendingCall) ended() {
	if p.timer != nil {
		p.timer.Stop()
	}
	p.rec.end(p.recGen)
}

// answered returns the invocation a YIELD or ERROR answers, removing it
// unless the answer is progressive. A request ID issued before but no
// longer pending is a late answer to a call that is over (its caller
// left, or cancelled it): not an error (WAMP.md §2.6).
func (s *session) answered(inv uint64, progressive bool) (p pendingCall, found, late bool) {
	s.callMu.Lock()
	defer s.callMu.Unlock()
	p, found = s.invocations[inv]
	switch {
	case found && !progressive:
		delete(s.invocations, inv)
		p.ended()
	case found && p.timer != nil && p.progress:
		p.timer.Reset(p.timeout) // the limit is between results
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
	if err := codec.CheckPayload(codec.TypeYield, "Options", y.Options, y.Args); err != nil {
		return s.violation(err.Error())
	}
	progress := s.yopts.Progress
	p, found, late := s.answered(y.Request, progress)
	if !found {
		if late {
			return true
		}
		return s.violation(fmt.Sprintf("YIELD for INVOCATION %d, which the router never sent", y.Request))
	}
	if progress && !p.progress {
		return true // the caller did not ask for progressive results
	}
	if !progress {
	}
	m := codec.Result{Request: p.request, Args: y.Args, Kwargs: y.Kwargs}
	if progress {
		m.Details = progressDetails
	}
	s.out.set(m.Append(s.out.msg[:0]))
	if err := s.deliver(p.caller, &s.out, false); err != nil && !errors.Is(err, errGone) {
		if progress && !s.forget(y.Request) {
			return true // the call ended meanwhile
		}
		s.sendError(p.caller, codec.TypeCall, p.request, deliveryErrorURI(err), "the result could not reach the caller: "+err.Error())
	}
	return true
}

// progressDetails is RESULT.Details of a progressive result.
var progressDetails = msgp.AppendBool(msgp.AppendString(msgp.AppendMapHeader(nil, 1), "progress"), true)

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
	p, found, late := s.answered(e.Request, false)
	if !found {
		if late {
			return true
		}
		return s.violation(fmt.Sprintf("ERROR for INVOCATION %d, which the router never sent", e.Request))
	}
	s.router.countCallError(string(e.Error), classApplication)
	m := codec.Error{RequestType: codec.TypeCall, Request: p.request, Error: e.Error, Args: e.Args, Kwargs: e.Kwargs}
	s.out.set(m.Append(s.out.msg[:0]))
	if err := s.deliver(p.caller, &s.out, false); err != nil && !errors.Is(err, errGone) {
		s.sendError(p.caller, codec.TypeCall, p.request, deliveryErrorURI(err), "the error could not reach the caller: "+err.Error())
	}
	return true
}

// Cancel modes (WAMP.md §8.3).
const (
	cancelSkip       = "skip"
	cancelKill       = "kill"
	cancelKillNoWait = "killnowait"
)

// onCancel cancels a call of this session. skip answers the caller with
// wamp.error.canceled at once and drops the callee's late answer;
// killnowait does that and interrupts the callee; kill interrupts the
// callee and lets its answer (normally wamp.error.canceled) end the call.
// A callee that did not announce call_canceling gets skip. A CANCEL for
// no call in progress is ignored.
func (s *session) onCancel(msg []byte) bool {
	var m codec.Cancel
	var o codec.CancelOptions
	if err := m.Decode(msg); err != nil {
		return s.violation(err.Error())
	}
	if err := o.Decode(codec.TypeCancel, m.Options); err != nil {
		return s.violation(err.Error())
	}
	mode := o.Mode
	switch mode {
	case "":
		mode = cancelKillNoWait
	case cancelSkip, cancelKill, cancelKillNoWait:
	default:
		return s.violation(fmt.Sprintf("CANCEL mode %q: want skip, kill or killnowait", o.Mode))
	}
	oc := s.calls.find(m.Request)
	if oc == nil {
		return true
	}
	if !oc.callee.calleeCancel {
		mode = cancelSkip
	}
	if mode != cancelKill {
		if !oc.callee.forget(oc.inv) {
			return true // answered meanwhile
		}
		s.replyError(codec.TypeCall, m.Request, errCanceled, "the call was canceled")
	}
	if mode != cancelSkip {
		opts := msgp.AppendString(msgp.AppendString(msgp.AppendMapHeader(nil, 1), "mode"), mode)
		s.out.set((&codec.Interrupt{Request: oc.inv, Options: opts}).Append(s.out.msg[:0]))
		s.deliver(oc.callee, &s.out, false)
	}
	return true
}
