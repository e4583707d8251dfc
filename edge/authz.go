package edge

import (
	"fmt"
	"time"

	"github.com/tinylib/msgp/msgp"
	"github.com/wampedge/wampedge/codec"
)

// allowed reports whether the session's role may do a on uri, and
// whether the rule that decides makes the router disclose the session
// as caller or publisher. The router's own bridge may do anything.
func (s *session) allowed(a Action, uri []byte) (ok, disclose bool) {
	if s.perms == nil || s.internal {
		return true, false
	}
	ok, disclose = s.perms.decide(a, uri)
	if !ok {
		s.logger().Debug("not authorized", "action", a, "uri", string(uri), "authrole", s.authrole)
	}
	return ok, disclose
}

func notAuthorized(a Action, uri []byte, role string) string {
	return fmt.Sprintf("role %q may not %s %q", role, a, uri)
}

// limitReached logs a refusal for a session limit and says it.
func (s *session) limitReached(what string, max int) string {
	msg := fmt.Sprintf("this session has its maximum of %d %s", max, what)
	s.logger().Info("request refused: limit reached", "limit", what, "max", max)
	return msg
}

// callTimeout is the router-enforced time limit of a call: the one the
// caller asked for (CALL.Options.timeout), within Config.CallTimeout.
func (s *session) callTimeout(requestedMillis uint64) time.Duration {
	d := time.Duration(min(requestedMillis, uint64(1<<40))) * time.Millisecond
	if limit := s.router.cfg.CallTimeout; limit > 0 && (d == 0 || d > limit) {
		d = limit
	}
	return d
}

// startTimer arms a call's timeout, unless it was answered meanwhile.
func (s *session) startTimer(inv uint64, d time.Duration) {
	t := time.AfterFunc(d, func() { s.expire(inv, d) })
	s.callMu.Lock()
	defer s.callMu.Unlock()
	p, pending := s.invocations[inv]
	if !pending {
		t.Stop()
		return
	}
	p.timer, p.timeout = t, d
	s.invocations[inv] = p
}

// expire ends a call that ran out of time (WAMP.md §8.3): the caller gets
// wamp.error.timeout, and the callee an INTERRUPT if it takes them. s is
// the callee.
func (s *session) expire(inv uint64, d time.Duration) {
	s.callMu.Lock()
	p, pending := s.invocations[inv]
	delete(s.invocations, inv)
	s.callMu.Unlock()
	if !pending {
		return
	}
	p.rec.end(p.recGen)
	s.router.countCallError(errTimeout, classOther)
	s.router.post(p.caller, &codec.Error{RequestType: codec.TypeCall, Request: p.request,
		Error: []byte(errTimeout), Args: errorArgs(fmt.Sprintf("the call got no answer within %v", d))})
	if s.calleeCancel {
		opts := msgp.AppendString(msgp.AppendString(msgp.AppendMapHeader(nil, 2), "mode"), cancelKillNoWait)
		opts = msgp.AppendString(msgp.AppendString(opts, "reason"), errTimeout)
		s.router.post(s, &codec.Interrupt{Request: inv, Options: opts})
	}
}

// post queues a message for dest from outside any session's reader (a
// timer): encoded afresh, dest woken at once.
func (r *Router) post(dest *session, m codec.Message) {
	wire := m.Append(nil)
	if ser := dest.codec.Serializer(); ser != codec.MsgPack {
		var err error
		if wire, err = codec.NewCodec(ser).Encode(nil, wire); err != nil {
			return
		}
	}
	if dest.q.push(wire) == queued {
		dest.kick()
	}
}

func errorArgs(message string) []byte {
	return msgp.AppendString(msgp.AppendArrayHeader(nil, 1), message)
}
