package edge

import (
	"slices"
	"sync"
	"time"
)

// broker keeps one subscription per (topic, match), shared by all its
// subscribers (WAMP.md §5.1, §8.2). Publishers hold mu for reading while
// they queue events; (un)subscribers hold it for writing, and queue their
// SUBSCRIBED under it, so no EVENT of a subscription is queued before it.
type broker struct {
	mu       sync.RWMutex
	topics   map[string]*subscription // exact
	patterns patterns[*subscription]  // prefix and wildcard
	byID     map[uint64]*subscription
	retained retainedStore
	gen      uint64 // changes when a subscription is created or deleted (publishers' matchCache)
}

type subscription struct {
	id          uint64
	topic       string
	match       string // matchExact, matchPrefix or matchWildcard
	created     time.Time
	subscribers []*session
}

// subscribe attaches s to the (topic, match) subscription, creating it
// with id newID() if needed, and runs then (the SUBSCRIBED reply) under
// the lock. It reports whether the subscription was created.
func (b *broker) subscribe(s *session, topic []byte, match string, newID func() uint64, then func(*subscription)) (created bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	sub := b.find(string(topic), match)
	if sub == nil {
		sub = &subscription{id: newID(), topic: string(topic), match: match, created: time.Now()}
		if match == matchExact {
			b.topics[sub.topic] = sub
		} else {
			b.patterns.add(sub.topic, match, sub)
		}
		b.byID[sub.id] = sub
		b.gen++
		created = true
	}
	if !slices.Contains(sub.subscribers, s) {
		sub.subscribers = append(sub.subscribers, s)
	}
	then(sub)
	return created
}

// find returns the subscription for (topic, match); mu must be held.
func (b *broker) find(topic, match string) *subscription {
	if match == matchExact {
		return b.topics[topic]
	}
	return b.patterns.get(topic, match)
}

// unsubscribe detaches s; the subscription goes when nobody is left,
// and unsubscribe reports that it went.
func (b *broker) unsubscribe(s *session, sub *subscription) (deleted bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	sub.subscribers = slices.DeleteFunc(sub.subscribers, func(x *session) bool { return x == s })
	if len(sub.subscribers) > 0 || b.byID[sub.id] != sub {
		return false
	}
	if sub.match == matchExact {
		delete(b.topics, sub.topic)
	} else {
		b.patterns.remove(sub.topic, sub.match)
	}
	delete(b.byID, sub.id)
	b.gen++
	return true
}

// matchCache is a publisher's last lookup: a publisher sends to few
// topics, most often the one it sent to last, and the subscriptions that
// match it stay the same until one is created or deleted.
type matchCache struct {
	broker *broker
	gen    uint64
	topic  []byte
}

// matches sets *out to the subscriptions an event on topic goes to,
// looking them up only if c does not hold them. mu must be held for
// reading.
func (b *broker) matches(c *matchCache, out *[]*subscription, topic []byte) {
	if c.broker == b && c.gen == b.gen && string(c.topic) == string(topic) {
		return
	}
	*out = b.appendMatches((*out)[:0], topic)
	c.broker, c.gen, c.topic = b, b.gen, append(c.topic[:0], topic...)
}

// appendMatches appends every subscription an event on topic goes to:
// the exact one, then the patterns. mu must be held for reading.
func (b *broker) appendMatches(out []*subscription, topic []byte) []*subscription {
	if sub := b.topics[string(topic)]; sub != nil {
		out = append(out, sub)
	}
	if !b.patterns.empty() {
		out = b.patterns.appendMatches(out, topic)
	}
	return out
}
