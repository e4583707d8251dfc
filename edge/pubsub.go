package edge

import (
	"fmt"
	"slices"
	"strconv"

	"github.com/tinylib/msgp/msgp"
	"github.com/wampedge/wampedge/codec"
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
	disclose := s.passed.disclose
	if string(p.Topic) != string(s.passed.topic) || len(s.passed.topic) == 0 {
		if problem := s.checkURI(p.Topic, true); problem != "" {
			// An unacknowledged publish fails silently (WAMP.md §5.1).
			if o.Acknowledge {
				s.replyError(codec.TypePublish, p.Request, errInvalidURI, problem)
			}
			return true
		}
		var ok bool
		if ok, disclose = s.allowed(ActionPublish, p.Topic); !ok {
			if o.Acknowledge {
				s.replyError(codec.TypePublish, p.Request, errNotAuthorized, notAuthorized(ActionPublish, p.Topic, s.authrole))
			}
			return true
		}
		s.passed = passedTopic{append(s.passed.topic[:0], p.Topic...), disclose}
	}
	if disclose {
		o.DiscloseMe = true
	}
	publication := s.publicationID()
	if !o.Retain {
		s.readLockBroker(&s.realm.broker)
	}
	s.publish(p, publication)
	if o.Acknowledge {
		s.reply(&codec.Published{Request: p.Request, Publication: publication})
	}
	return true
}

// publish queues an EVENT for every subscriber of every subscription
// that matches the topic: encoded once per subscription (and serializer),
// since the subscription ID and, for patterns, the topic differ.
func (s *session) publish(p *codec.Publish, publication uint64) {
	s.counted.published++
	b := &s.realm.broker
	if s.popts.Retain { // rare: keeping it takes the lock for writing
		s.unlockBroker()
		b.mu.Lock()
		b.retain(s, p, publication)
		b.mu.Unlock()
	}
	if s.lockedBroker != b { // not in a burst of PUBLISHes (burst.go)
		b.mu.RLock()
		defer s.readUnlock(b)
	}
	b.matches(&s.lastMatch, &s.matched, p.Topic)
	if len(s.matched) == 0 {
		return
	}
	o := &s.popts
	excludeMe := o.ExcludeMe.Or(true)
	filtered := len(o.Exclude)+len(o.ExcludeAuthID)+len(o.ExcludeAuthRole)+len(o.Eligible)+len(o.EligibleAuthID)+len(o.EligibleAuthRole) > 0
	delivered := 0
	for _, sub := range s.matched {
		// Field by field: a composite literal here was built aside and
		// copied, and the copy stalled on the stores that built it.
		var ev codec.Event
		ev.Subscription, ev.Publication = sub.id, publication
		ev.Details = s.eventDetails(sub, p.Topic)
		ev.Args, ev.Kwargs = p.Args, p.Kwargs
		s.out.set(ev.Append(s.out.msg[:0]))
		for _, dest := range sub.subscribers {
			if dest == s && excludeMe || filtered && !eligible(o, dest) {
				continue
			}
			if err := s.deliver(dest, &s.out, true); err != nil {
				s.router.droppedEvents.Add(1)
			} else {
				delivered++
			}
		}
	}
	s.counted.delivered += uint64(delivered)
}

// eventDetails encodes EVENT.Details into s.details: the concrete topic
// for a pattern subscription, the publisher's identity when disclosed.
// Nil (an empty dict) in the common case; never an allocation once
// s.details has grown.
func (s *session) eventDetails(sub *subscription, topic []byte) []byte {
	o := &s.popts
	pattern := sub.match != matchExact
	forward := s.internal && len(o.ForwardFor) > 0
	if !pattern && !o.DiscloseMe && !forward {
		return nil
	}
	n := 0 // keys
	if pattern {
		n++
	}
	if o.DiscloseMe {
		n += 3
	}
	if forward {
		n++
	}
	b := msgp.AppendMapHeader(s.details[:0], uint32(n))
	if pattern {
		b = msgp.AppendStringFromBytes(msgp.AppendString(b, "topic"), topic)
	}
	if o.DiscloseMe {
		id, authid, authrole := s.identity(o.ForwardFor)
		b = msgp.AppendUint64(msgp.AppendString(b, "publisher"), id)
		b = msgp.AppendString(msgp.AppendString(b, "publisher_authid"), authid)
		b = msgp.AppendString(msgp.AppendString(b, "publisher_authrole"), authrole)
	}
	if forward {
		b = appendForwardFor(msgp.AppendString(b, "forward_for"), o.ForwardFor)
	}
	s.details = b
	return b
}

// appendForwardFor encodes a forward_for list.
func appendForwardFor(b []byte, hops []codec.ForwardFor) []byte {
	b = msgp.AppendArrayHeader(b, uint32(len(hops)))
	for i := range hops {
		b, _ = hops[i].MarshalMsg(b)
	}
	return b
}

// identity is who a disclosed publication or call comes from: this
// session, or for an internal bridge the peer it forwards for.
func (s *session) identity(forwardFor []codec.ForwardFor) (uint64, string, string) {
	if s.internal && len(forwardFor) > 0 {
		f := forwardFor[0]
		return f.Session, f.AuthID, f.AuthRole
	}
	return s.id, s.authid, s.authrole
}

// eligible applies PUBLISH's black- and whitelists (WAMP.md §8.2): every
// present eligible list must hold dest, and no exclude list.
func eligible(o *codec.PublishOptions, dest *session) bool {
	switch {
	case o.Eligible != nil && !slices.Contains(o.Eligible, dest.id),
		o.EligibleAuthID != nil && !slices.Contains(o.EligibleAuthID, dest.authid),
		o.EligibleAuthRole != nil && !slices.Contains(o.EligibleAuthRole, dest.authrole),
		slices.Contains(o.Exclude, dest.id),
		slices.Contains(o.ExcludeAuthID, dest.authid),
		slices.Contains(o.ExcludeAuthRole, dest.authrole):
		return false
	}
	return true
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
	match, ok := matchPolicy(o.Match)
	if !ok {
		s.replyError(codec.TypeSubscribe, m.Request, errOptionNotAllowed, "match "+strconv.Quote(o.Match)+": want exact, prefix or wildcard")
		return true
	}
	if !validPattern(m.Topic, s.strict(), match) {
		s.replyError(codec.TypeSubscribe, m.Request, errInvalidURI, fmt.Sprintf("%q is not a valid URI for match %s", m.Topic, match))
		return true
	}
	if ok, _ := s.allowed(ActionSubscribe, m.Topic); !ok {
		s.replyError(codec.TypeSubscribe, m.Request, errNotAuthorized, notAuthorized(ActionSubscribe, m.Topic, s.authrole))
		return true
	}
	if max := s.router.cfg.MaxSubscriptions; max > 0 && len(s.subs) >= max {
		s.replyError(codec.TypeSubscribe, m.Request, errTooManySubscriptions, s.limitReached("subscriptions", max))
		return true
	}
	var sub *subscription
	created := s.realm.broker.subscribe(s, m.Topic, match, s.router.newID, func(got *subscription) {
		sub = got
		s.subs[sub.id] = sub
		s.reply(&codec.Subscribed{Request: m.Request, Subscription: sub.id})
		if o.GetRetained {
			s.sendRetained(&s.realm.broker, sub)
		}
	})
	if created {
		s.metaEvent(metaSubOnCreate, s.id, subscriptionDetails(sub))
	}
	s.metaEvent(metaSubOnSubscribe, s.id, sub.id)
	return true
}

// matchPolicy reads SUBSCRIBE's and REGISTER's match option.
func matchPolicy(match string) (string, bool) {
	switch match {
	case "", matchExact:
		return matchExact, true
	case matchPrefix, matchWildcard:
		return match, true
	}
	return "", false
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
	s.dropSubscription(sub, &codec.Unsubscribed{Request: m.Request})
	return true
}

// dropSubscription takes the session off a subscription (UNSUBSCRIBE, or
// leaving), then sends reply if any — no event of the subscription can
// follow it — and the meta events: on_unsubscribe, and on_delete when
// nobody is left.
func (s *session) dropSubscription(sub *subscription, reply codec.Message) {
	delete(s.subs, sub.id)
	deleted := s.realm.broker.unsubscribe(s, sub)
	if reply != nil {
		s.reply(reply)
	}
	s.metaEvent(metaSubOnUnsubscribe, s.id, sub.id)
	if deleted {
		s.metaEvent(metaSubOnDelete, s.id, sub.id)
	}
}
