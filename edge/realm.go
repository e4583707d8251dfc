package edge

import (
	"slices"
	"sync"
)

// realm is a routing namespace: sessions in one realm never see another
// realm's topics or procedures.
type realm struct {
	name   string
	broker broker
	dealer dealer

	mu       sync.Mutex
	sessions map[uint64]*session
}

func newRealm(name string) *realm {
	return &realm{
		name:     name,
		broker:   broker{topics: make(map[string]*subscription), byID: make(map[uint64]*subscription)},
		dealer:   dealer{procedures: make(map[string]*registration), byID: make(map[uint64]*registration)},
		sessions: make(map[uint64]*session),
	}
}

func (rl *realm) join(s *session) {
	rl.mu.Lock()
	rl.sessions[s.id] = s
	rl.mu.Unlock()
}

func (rl *realm) leave(s *session) {
	rl.mu.Lock()
	delete(rl.sessions, s.id)
	rl.mu.Unlock()
}

func (rl *realm) count() int {
	rl.mu.Lock()
	defer rl.mu.Unlock()
	return len(rl.sessions)
}

// broker keeps one subscription per topic, shared by all its
// subscribers (WAMP.md §5.1). Publishers hold mu for reading while they
// queue events; (un)subscribers hold it for writing, and queue their
// SUBSCRIBED under it, so no EVENT of a subscription is queued before it.
type broker struct {
	mu     sync.RWMutex
	topics map[string]*subscription
	byID   map[uint64]*subscription
}

type subscription struct {
	id          uint64
	topic       string
	subscribers []*session
}

// subscribe attaches s to topic's subscription, creating it with id
// newID() if needed, and runs then (the SUBSCRIBED reply) under the lock.
func (b *broker) subscribe(s *session, topic []byte, newID func() uint64, then func(*subscription)) {
	b.mu.Lock()
	defer b.mu.Unlock()
	sub := b.topics[string(topic)]
	if sub == nil {
		sub = &subscription{id: newID(), topic: string(topic)}
		b.topics[sub.topic] = sub
		b.byID[sub.id] = sub
	}
	if !slices.Contains(sub.subscribers, s) {
		sub.subscribers = append(sub.subscribers, s)
	}
	then(sub)
}

// unsubscribe detaches s; the subscription goes when nobody is left.
func (b *broker) unsubscribe(s *session, sub *subscription) {
	b.mu.Lock()
	defer b.mu.Unlock()
	sub.subscribers = slices.DeleteFunc(sub.subscribers, func(x *session) bool { return x == s })
	if len(sub.subscribers) == 0 {
		delete(b.topics, sub.topic)
		delete(b.byID, sub.id)
	}
}

// dealer keeps one registration per procedure (WAMP.md §5.2).
type dealer struct {
	mu         sync.RWMutex
	procedures map[string]*registration
	byID       map[uint64]*registration
}

type registration struct {
	id        uint64
	procedure string
	callee    *session
}

// register creates a registration for procedure unless one exists, and
// runs then (the REGISTERED reply, or the error) under the lock.
func (d *dealer) register(s *session, procedure []byte, newID func() uint64, then func(*registration)) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.procedures[string(procedure)] != nil {
		then(nil)
		return
	}
	reg := &registration{id: newID(), procedure: string(procedure), callee: s}
	d.procedures[reg.procedure] = reg
	d.byID[reg.id] = reg
	then(reg)
}

func (d *dealer) unregister(reg *registration) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.byID[reg.id] == reg {
		delete(d.procedures, reg.procedure)
		delete(d.byID, reg.id)
	}
}

func (d *dealer) lookup(procedure []byte) *registration {
	d.mu.RLock()
	defer d.mu.RUnlock()
	return d.procedures[string(procedure)]
}
