package edge

import (
	"sync"
	"time"
)

// outQueue is a session's bounded outbound queue. Producers (any
// session's reader) copy encoded messages into buf; the session's writer
// swaps buf for its spare and hands the whole batch to the transport in
// one write. A push does not wake the writer: the producer marks the
// session dirty and wakes it once it has routed all it has read, so a
// burst of messages costs one wake-up and one write.
type outQueue struct {
	mu     sync.Mutex
	buf    []byte // queued messages, back to back
	ends   []int  // end offset of each message in buf
	limit  int    // bytes; past it push refuses
	closed bool   // no more pushes; the writer drains and stops
	sealed bool   // the session's last message is queued: no more pushes
	wake   chan struct{}

	fullSince time.Time     // when a push first found it full; zero once the writer took
	room      chan struct{} // closed when the writer takes: for producers waiting
}

func newOutQueue(limit int) *outQueue {
	return &outQueue{limit: limit, wake: make(chan struct{}, 1)}
}

type pushResult int

const (
	queued pushResult = iota
	full              // msg would take a non-empty queue past its limit
	closed            // the session is ending
)

// push queues a copy of msg, or nothing if the queue is full or closed.
func (q *outQueue) push(msg []byte) pushResult {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed || q.sealed {
		return closed
	}
	// An empty queue takes any one message, so that a message larger
	// than the limit (but within the transport's) still goes out.
	if len(q.buf) > 0 && len(q.buf)+len(msg) > q.limit {
		if q.fullSince.IsZero() {
			q.fullSince = time.Now()
		}
		return full
	}
	q.buf = append(q.buf, msg...)
	q.ends = append(q.ends, len(q.buf))
	return queued
}

// pushLast queues the session's last message, an ABORT or a GOODBYE,
// and seals the queue: later pushes are refused as if it were closed,
// so that nothing follows that message (WAMP.md §2.4, §2.5). The writer
// still sends it and what came before. It takes the message whatever
// the limit: one message more, which ends the session.
func (q *outQueue) pushLast(msg []byte) pushResult {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed || q.sealed {
		return closed
	}
	q.buf = append(q.buf, msg...)
	q.ends = append(q.ends, len(q.buf))
	q.sealed = true
	return queued
}

// waitRoom returns when the queue was found full, and a channel closed
// once the writer takes what is queued; nil when there is room already.
func (q *outQueue) waitRoom() (since time.Time, room <-chan struct{}) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.buf) == 0 || q.closed || q.sealed {
		return time.Time{}, nil
	}
	if q.room == nil {
		q.room = make(chan struct{})
	}
	return q.fullSince, q.room
}

// signal wakes the writer if it sleeps; many signals make one wake-up.
func (q *outQueue) signal() {
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

// close stops pushes; the writer sends what is queued, then stops.
func (q *outQueue) close() {
	q.mu.Lock()
	q.closed = true
	q.mu.Unlock()
	q.signal()
}

// batch is the writer's side of the swap: what it holds while writing.
type batch struct {
	buf  []byte
	ends []int
	msgs [][]byte
}

// take swaps the queued messages into b (whose buffers become the
// queue's next ones) and reports whether the queue is closed.
func (q *outQueue) take(b *batch) (closed bool) {
	q.mu.Lock()
	q.buf, b.buf = b.buf[:0], q.buf
	q.ends, b.ends = b.ends[:0], q.ends
	closed = q.closed
	q.fullSince = time.Time{}
	if q.room != nil {
		close(q.room)
		q.room = nil
	}
	q.mu.Unlock()
	b.msgs = b.msgs[:0]
	start := 0
	for _, end := range b.ends {
		b.msgs = append(b.msgs, b.buf[start:end:end])
		start = end
	}
	return closed
}

// shrink drops a batch's buffers once a burst that made them large is
// over (the batch just written was small), so an idle session holds
// little memory, and a busy one does not allocate them again and again.
func (b *batch) shrink() {
	if cap(b.buf) > 64<<10 && len(b.buf) < 16<<10 {
		*b = batch{}
	}
}
