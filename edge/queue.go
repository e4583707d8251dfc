package edge

import (
	"sync"
	"time"
)

// outQueue is a session's bounded outbound queue. Producers (any
// session's reader) copy encoded messages into buf. Whoever sends them
// first becomes the queue's writer (acquire): it swaps buf for the
// spare batch and hands the whole batch to the transport in one write,
// then takes what was queued meanwhile (next) until nothing is left. A
// push does not start a writer: the producer marks the session dirty and
// kicks it once it has routed all it has read, so a burst of messages
// costs one write.
type outQueue struct {
	mu      sync.Mutex
	buf     []byte // queued messages, back to back
	ends    []int  // end offset of each message in buf
	limit   int    // bytes; past it push refuses
	closed  bool   // no more pushes; the session drains and stops
	sealed  bool   // the session's last message is queued: no more pushes
	writing bool   // a writer holds the queue (acquire until next says false)
	waiters int    // goroutines in awaitWriter
	free    sync.Cond

	fullSince time.Time     // when a push first found it full; zero once the writer took
	room      chan struct{} // closed when the writer takes: for producers waiting
}

func newOutQueue(limit int) *outQueue {
	q := &outQueue{limit: limit}
	q.free.L = &q.mu
	return q
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

// pushRun queues a run of messages, back to back in *buf with the end
// offset of each in *ends, under one take of the lock: all of them, by
// trading buffers with the queue when it is empty, or as many as fit.
// It reports how many it took, and why it took no more.
func (q *outQueue) pushRun(buf *[]byte, ends *[]int) (int, pushResult) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed || q.sealed {
		return 0, closed
	}
	if len(q.ends) == 0 && (len(*buf) <= q.limit || len(*ends) == 1) {
		q.buf, *buf = *buf, q.buf[:0]
		q.ends, *ends = *ends, q.ends[:0]
		return len(q.ends), queued
	}
	start := 0
	for i, end := range *ends {
		msg := (*buf)[start:end]
		if len(q.buf) > 0 && len(q.buf)+len(msg) > q.limit {
			if q.fullSince.IsZero() {
				q.fullSince = time.Now()
			}
			return i, full
		}
		q.buf = append(q.buf, msg...)
		q.ends = append(q.ends, len(q.buf))
		start = end
	}
	return len(*ends), queued
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

// close stops pushes; the session sends what is queued, then stops.
func (q *outQueue) close() {
	q.mu.Lock()
	q.closed = true
	q.mu.Unlock()
}

// batch is the writer's side of the swap: what it holds while writing.
type batch struct {
	buf  []byte
	ends []int
	msgs [][]byte
}

// acquire makes the caller the queue's writer and takes the queued
// messages into b; false when nothing is queued or another writer holds
// the queue (that writer takes what was queued before it lets go).
func (q *outQueue) acquire(b *batch) bool {
	q.mu.Lock()
	if q.writing || len(q.buf) == 0 {
		q.mu.Unlock()
		return false
	}
	q.writing = true
	q.swapLocked(b)
	return true
}

// awaitWriter makes the caller the queue's writer once no other is, and
// takes the queued messages into b, if any.
func (q *outQueue) awaitWriter(b *batch) {
	q.mu.Lock()
	q.waiters++
	for q.writing {
		q.free.Wait()
	}
	q.waiters--
	q.writing = true
	q.swapLocked(b)
}

// next is the writer's: it takes into b what was queued since the last
// take and reports true, or, when nothing was, lets go of the queue.
func (q *outQueue) next(b *batch) bool {
	q.mu.Lock()
	if len(q.buf) == 0 {
		q.writing = false
		if q.waiters > 0 {
			q.free.Broadcast()
		}
		q.mu.Unlock()
		return false
	}
	q.swapLocked(b)
	return true
}

// swapLocked gives b the queued messages and the queue b's buffers, and
// unlocks q.
func (q *outQueue) swapLocked(b *batch) {
	q.buf, b.buf = b.buf[:0], q.buf
	q.ends, b.ends = b.ends[:0], q.ends
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
}

// trim drops the queue's buffers and the writer's batch b when the queue
// is empty and no writer holds it (so none uses b).
func (q *outQueue) trim(b *batch) {
	q.mu.Lock()
	if !q.writing && len(q.buf) == 0 {
		q.buf, q.ends = nil, nil
		*b = batch{}
	}
	q.mu.Unlock()
}

// shrink drops a batch's buffers once a burst that made them large is
// over (the batch just written was small), so an idle session holds
// little memory, and a busy one does not allocate them again and again.
func (b *batch) shrink() {
	if cap(b.buf) > 64<<10 && len(b.buf) < 16<<10 {
		*b = batch{}
	}
}
