package edge

import "sync"

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
	wake   chan struct{}
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
	if q.closed {
		return closed
	}
	// An empty queue takes any one message, so that a message larger
	// than the limit (but within the transport's) still goes out.
	if len(q.buf) > 0 && len(q.buf)+len(msg) > q.limit {
		return full
	}
	q.buf = append(q.buf, msg...)
	q.ends = append(q.ends, len(q.buf))
	return queued
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
	q.mu.Unlock()
	b.msgs = b.msgs[:0]
	start := 0
	for _, end := range b.ends {
		b.msgs = append(b.msgs, b.buf[start:end:end])
		start = end
	}
	return closed
}

// shrink drops a batch's buffers after a burst made them large, so an
// idle session holds little memory.
func (b *batch) shrink() {
	if cap(b.buf) > 64<<10 {
		*b = batch{}
	}
}
