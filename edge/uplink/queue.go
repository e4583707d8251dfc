package uplink

import (
	"sync"

	"github.com/wampedge/wampedge/codec"
	"github.com/wampedge/wampedge/edge/client"
)

// outEvent is a local event on its way to the cloud.
type outEvent struct {
	seq     uint64
	topic   string
	payload client.Payload
	from    *codec.ForwardFor // the publisher, when disclosed
}

func (e *outEvent) size() int { return len(e.topic) + len(e.payload.Args) + len(e.payload.Kwargs) }

// eventQueue holds the events for the cloud, in order: those written but
// not yet acknowledged (events[:sent]), then those not yet written. It is
// bounded in count and bytes; when full, the oldest event goes and is
// counted.
type eventQueue struct {
	mu        sync.Mutex
	events    []outEvent
	sent      int
	bytes     int
	maxEvents int
	maxBytes  int
	seq       uint64
	dropped   uint64
	confirmed uint64 // events the cloud acknowledged
	wake      chan struct{}
}

func newEventQueue(maxEvents, maxBytes int) *eventQueue {
	return &eventQueue{maxEvents: maxEvents, maxBytes: maxBytes, wake: make(chan struct{}, 1)}
}

// push adds an event (its payload copied) and wakes the sender.
func (q *eventQueue) push(topic string, p client.Payload, from *codec.ForwardFor) {
	q.mu.Lock()
	q.seq++
	e := outEvent{seq: q.seq, topic: topic, from: from,
		payload: client.Payload{Args: clone(p.Args), Kwargs: clone(p.Kwargs)}}
	q.events = append(q.events, e)
	q.bytes += e.size()
	for len(q.events) > 1 && (len(q.events) > q.maxEvents || q.bytes > q.maxBytes) {
		q.popFront()
		q.dropped++
	}
	q.mu.Unlock()
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

func clone(b []byte) []byte {
	if b == nil {
		return nil
	}
	return append([]byte(nil), b...)
}

func (q *eventQueue) popFront() {
	q.bytes -= q.events[0].size()
	q.events[0] = outEvent{}
	q.events = q.events[1:]
	if q.sent > 0 {
		q.sent--
	}
	if len(q.events) == 0 {
		q.events = nil // let the backing array go
	}
}

// next returns the next event to write, and whether more wait after it.
func (q *eventQueue) next() (e outEvent, more, ok bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.sent >= len(q.events) {
		return outEvent{}, false, false
	}
	e = q.events[q.sent]
	q.sent++
	return e, q.sent < len(q.events), true
}

// confirm drops the events up to seq: the cloud has them.
func (q *eventQueue) confirm(seq uint64) {
	q.mu.Lock()
	defer q.mu.Unlock()
	for len(q.events) > 0 && q.events[0].seq <= seq {
		q.popFront()
		q.confirmed++
	}
}

// rewind makes every unacknowledged event due again: on a new connection.
func (q *eventQueue) rewind() {
	q.mu.Lock()
	q.sent = 0
	q.mu.Unlock()
}

// counts returns the events waiting (written or not), dropped, and
// acknowledged so far.
func (q *eventQueue) counts() (queued int, dropped, confirmed uint64) {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.events), q.dropped, q.confirmed
}
