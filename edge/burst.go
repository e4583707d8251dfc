package edge

// A reader routes what one read brought in as a burst, and pays what it
// costs to reach a destination once per burst rather than once per
// message: the broker's read lock, each subscriber's queue lock, and the
// write (writer.go). On a stream of small events these locks were a
// tenth of the routing; an atomic instruction waits for every store
// before it to drain.
//
// Events are staged: copied into a run per destination, and queued
// with one take of the destination's lock when the burst ends, or
// before this reader queues anything else (a reply, an invocation), so
// that what one reader sends one peer keeps its order. Only events are
// staged: their senders need no answer from the queue. Events staged
// under a broker lock are queued before that lock is let go: the lock
// is what keeps an UNSUBSCRIBED from overtaking an event of its
// subscription, and newer events from overtaking retained ones.

// maxRuns bounds the destinations one burst stages events for; a wider
// fan-out queues what it staged and starts over.
const maxRuns = 16

// run is the events a burst staged for one destination, back to back,
// in the destination's serializer, with the end offset of each.
type run struct {
	dest *session
	buf  []byte
	ends []int
}

// stageEvent adds an event for dest to dest's run.
func (s *session) stageEvent(dest *session, wire []byte) {
	i := 0
	for i < s.nruns && s.runs[i].dest != dest {
		i++
	}
	if i == s.nruns {
		if i == maxRuns {
			s.commitRuns()
			i = 0
		}
		s.runs[i].dest = dest
		s.nruns = i + 1
	}
	r := &s.runs[i]
	r.buf = append(r.buf, wire...)
	r.ends = append(r.ends, len(r.buf))
}

// commitRuns queues the staged events, each run with one take of its
// queue's lock. Events a full queue refuses meet the slow-consumer
// policy one by one, as any message does (push).
func (s *session) commitRuns() {
	n := s.nruns
	s.nruns = 0 // push may wait for room, and flush first, which commits: nothing is left to
	for i := range n {
		r := &s.runs[i]
		dest := r.dest
		taken, res := dest.q.pushRun(&r.buf, &r.ends)
		if taken > 0 {
			s.markDirty(dest)
		}
		if res != queued { // the rest, one by one
			start := 0
			if taken > 0 {
				start = r.ends[taken-1]
			}
			for _, end := range r.ends[taken:] {
				if res == closed || s.push(dest, r.buf[start:end], true) != nil {
					s.router.droppedEvents.Add(1)
				}
				start = end
			}
		}
		r.dest, r.buf, r.ends = nil, r.buf[:0], r.ends[:0]
	}
}

// readLockBroker read-locks b until the burst ends (or the reader routes
// anything but a PUBLISH): a stream of PUBLISHes takes the lock once
// per read. A SUBSCRIBE or UNSUBSCRIBE of another session waits for the
// burst, which one read bounds.
func (s *session) readLockBroker(b *broker) {
	if s.lockedBroker == b {
		return
	}
	s.unlockBroker()
	b.mu.RLock()
	s.lockedBroker = b
}

// unlockBroker queues what the burst staged, then lets go of the broker
// readLockBroker locked, if any.
func (s *session) unlockBroker() {
	if s.lockedBroker != nil {
		s.commitRuns()
		s.lockedBroker.mu.RUnlock()
		s.lockedBroker = nil
	}
}

// readUnlock queues what was staged under b's read lock, taken for one
// publication outside a burst, then lets go of it.
func (s *session) readUnlock(b *broker) {
	s.commitRuns()
	b.mu.RUnlock()
}

// endBurst ends what one read brought in: the counts are shown to
// Stats, the staged events queued, the broker let go, the session no
// longer busy (Router.Close), and each queue written to written out.
func (s *session) endBurst() {
	s.showCounts() // first: a peer that has the events sees them counted
	s.commitRuns()
	s.unlockBroker()
	s.busy.Store(false)
	s.flush()
}
