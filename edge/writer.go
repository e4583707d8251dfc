package edge

import (
	"time"
)

// Writing to a peer. There is no writer goroutine per session: the
// reader that queued messages for a session writes them itself, right
// after routing what it has read, when the transport takes them without
// waiting (a socket with room in its buffer: the common case). Only a
// peer that is slow to read, or a transport that cannot write without
// waiting (TLS, a serial line, a pipe), gets a goroutine for as long as
// it has something to write. A hand-off to another goroutine costs a
// wake-up, which on a small board is more than the routing itself; an
// idle session costs no writer stack.

// tryWriter is a transport that can write without waiting
// (rawsocket.Conn over a socket).
type tryWriter interface {
	TryWriteMsgs(msgs [][]byte) (taken int, flush bool, err error)
}

// aborter is a transport that can end a connection whose peer stopped
// reading so that what it left unread is dropped at once, after a last
// message if that fits without waiting (rawsocket.Conn: a TCP reset).
type aborter interface {
	Abort(last []byte) error
}

// markDirty notes that s queued a message for dest, to be sent at s's
// next flush. dest.dirtyBy spares a reader noting dest again for each of
// a burst's messages; readers that race on it only note dest twice.
func (s *session) markDirty(dest *session) {
	if dest.dirtyBy.Load() == s {
		return
	}
	dest.dirtyBy.Store(s)
	s.dirty = append(s.dirty, dest)
}

// flush sends what s queued since the last flush, to each session it
// queued for.
func (s *session) flush() {
	s.commitRuns()
	for i, d := range s.dirty {
		d.dirtyBy.CompareAndSwap(s, nil)
		d.kick()
		s.dirty[i] = nil
	}
	s.dirty = s.dirty[:0]
}

// kick sends what is queued for s unless another writer is at it: here
// and now if the transport takes it without waiting, or else from a
// goroutine that lives until the queue is empty. Sessions driven in
// memory by tests (never run) are not written to.
func (s *session) kick() {
	if !s.running || !s.q.acquire(&s.wb) {
		return
	}
	if s.tw != nil {
		// Two rounds at most: a reader does not become another
		// session's writer for good while producers keep queuing.
		for range 2 {
			taken, flush, err := s.tw.TryWriteMsgs(s.wb.msgs)
			if err != nil {
				s.writeFailed()
				return
			}
			if taken < len(s.wb.msgs) || flush {
				// Keep the rest at the front: the batch keeps its capacity.
				s.wb.msgs = s.wb.msgs[:copy(s.wb.msgs, s.wb.msgs[taken:])]
				break
			}
			s.wb.shrink()
			if !s.q.next(&s.wb) {
				return
			}
		}
	}
	go s.writeOut()
}

// writeOut is the writer that may wait: it writes the batch it holds,
// and what an earlier write left, then what is queued, until nothing is.
func (s *session) writeOut() {
	for {
		if err := s.t.WriteMsgs(s.wb.msgs); err != nil {
			s.writeFailed()
			return
		}
		s.wb.shrink()
		if !s.q.next(&s.wb) {
			return
		}
	}
}

// writeFailed ends the session after a failed write: nothing more is
// queued for it, its reader stops on the closed transport, and the
// queue is let go with what it holds.
func (s *session) writeFailed() {
	s.q.close()
	s.t.Close()
	for s.q.next(&s.wb) {
	}
}

// drain is the session's end, after its reader stopped and its queue
// closed: it waits for any writer to finish, then sends what is left,
// an ABORT or a GOODBYE among it, and closes the connection. A peer that
// does not read gets GoodbyeTimeout.
func (s *session) drain() {
	stuck := time.AfterFunc(s.router.cfg.GoodbyeTimeout, func() { s.t.Close() })
	defer stuck.Stop()
	s.q.awaitWriter(&s.wb)
	for {
		if len(s.wb.msgs) > 0 && s.t.WriteMsgs(s.wb.msgs) != nil {
			break
		}
		if !s.q.next(&s.wb) {
			break
		}
	}
	s.t.Close()
}
