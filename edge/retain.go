package edge

import (
	containerlist "container/list"
	"slices"
	"strings"

	"github.com/tinylib/msgp/msgp"
	"github.com/wampedge/wampedge/codec"
)

// Event retention (WAMP.md §8.2): the broker keeps the last event
// published with retain: true on each topic, bounded in count and bytes
// (the oldest go first), and gives it to a new subscription that asks
// with get_retained: true — what MQTT users call retained messages.

// retainedEvent is a topic's last retained event, with what it takes to
// decide who may see it.
type retainedEvent struct {
	topic       string
	publication uint64
	args        []byte
	kwargs      []byte
	opts        codec.PublishOptions // the black- and whitelists
	publisher   uint64               // when disclosed
	authid      string
	authrole    string
	elem        *containerlist.Element // in retainedStore.order
}

func (e *retainedEvent) size() int { return len(e.topic) + len(e.args) + len(e.kwargs) + 64 }

// retainedStore holds the retained events of a realm; the broker's lock
// guards it.
type retainedStore struct {
	byTopic  map[string]*retainedEvent
	order    containerlist.List // oldest first
	bytes    int
	maxCount int
	maxBytes int
}

// retain keeps p as its topic's retained event.
func (b *broker) retain(s *session, p *codec.Publish, publication uint64) {
	st := &b.retained
	if st.byTopic == nil {
		st.byTopic = make(map[string]*retainedEvent)
		st.maxCount, st.maxBytes = s.router.cfg.MaxRetained, s.router.cfg.MaxRetainedBytes
	}
	if old := st.byTopic[string(p.Topic)]; old != nil {
		st.drop(old)
	}
	o := &s.popts
	e := &retainedEvent{
		topic: string(p.Topic), publication: publication,
		args: slices.Clone(p.Args), kwargs: slices.Clone(p.Kwargs),
		opts: codec.PublishOptions{
			Exclude: slices.Clone(o.Exclude), ExcludeAuthID: slices.Clone(o.ExcludeAuthID), ExcludeAuthRole: slices.Clone(o.ExcludeAuthRole),
			Eligible: slices.Clone(o.Eligible), EligibleAuthID: slices.Clone(o.EligibleAuthID), EligibleAuthRole: slices.Clone(o.EligibleAuthRole),
		},
	}
	if o.DiscloseMe {
		e.publisher, e.authid, e.authrole = s.identity(o.ForwardFor)
	}
	e.elem = st.order.PushBack(e)
	st.byTopic[e.topic] = e
	st.bytes += e.size()
	for st.order.Len() > 1 && (st.order.Len() > st.maxCount || st.bytes > st.maxBytes) {
		st.drop(st.order.Front().Value.(*retainedEvent))
	}
}

func (st *retainedStore) drop(e *retainedEvent) {
	st.order.Remove(e.elem)
	delete(st.byTopic, e.topic)
	st.bytes -= e.size()
}

// sendRetained queues for s the retained events its new subscription
// matches, as the broker's lock (held for writing) keeps newer events
// from overtaking them.
func (s *session) sendRetained(b *broker, sub *subscription) {
	st := &b.retained
	if len(st.byTopic) == 0 {
		return
	}
	var events []*retainedEvent
	if sub.match == matchExact {
		if e := st.byTopic[sub.topic]; e != nil {
			events = append(events, e)
		}
	} else {
		for e := st.order.Front(); e != nil; e = e.Next() {
			if re := e.Value.(*retainedEvent); matches(re.topic, sub.topic, sub.match) {
				events = append(events, re)
			}
		}
	}
	for _, e := range events {
		if !eligible(&e.opts, s) {
			continue
		}
		n := uint32(1)
		if sub.match != matchExact {
			n++
		}
		if e.publisher != 0 {
			n += 3
		}
		d := msgp.AppendBool(msgp.AppendString(msgp.AppendMapHeader(nil, n), "retained"), true)
		if sub.match != matchExact {
			d = msgp.AppendString(msgp.AppendString(d, "topic"), e.topic)
		}
		if e.publisher != 0 {
			d = msgp.AppendUint64(msgp.AppendString(d, "publisher"), e.publisher)
			d = msgp.AppendString(msgp.AppendString(d, "publisher_authid"), e.authid)
			d = msgp.AppendString(msgp.AppendString(d, "publisher_authrole"), e.authrole)
		}
		ev := codec.Event{Subscription: sub.id, Publication: e.publication, Details: d, Args: e.args, Kwargs: e.kwargs}
		s.out.set(ev.Append(s.out.msg[:0]))
		s.deliver(s, &s.out, true)
	}
	s.commitRuns() // while the lock is held (burst.go)
}

// matches reports whether a pattern subscription covers uri.
func matches(uri, pattern, match string) bool {
	switch match {
	case matchPrefix:
		return strings.HasPrefix(uri, pattern)
	case matchWildcard:
		u, p := strings.Split(uri, "."), strings.Split(pattern, ".")
		if len(u) != len(p) {
			return false
		}
		for i := range p {
			if p[i] != "" && p[i] != u[i] {
				return false
			}
		}
		return true
	}
	return uri == pattern
}
