package edge

import "sync/atomic"

// callRecord is a call of a session as caller: what CANCEL and the chunks
// of a progressive call invocation need to find it by request ID. The
// caller's reader alone keeps them; the callee's side only marks one
// ended, so that answering a call costs the caller no lock.
type callRecord struct {
	callee      *session
	inv         uint64 // the callee's INVOCATION request ID
	reg         uint64 // the registration
	request     uint64 // the caller's CALL request ID
	progressive bool   // more chunks of the call are to come
	// The record's use: gen counts its reuses (the caller's), endedGen
	// is the use the callee ended. No atomic store starts a use.
	gen      uint64
	endedGen atomic.Uint64
}

// over reports whether the call's callee has ended it.
func (rec *callRecord) over() bool { return rec.endedGen.Load() == rec.gen }

// end marks use gen of the record over (the callee's side).
func (rec *callRecord) end(gen uint64) { rec.endedGen.Store(gen) }

// callTable is a caller's calls, in the order they were made, which is
// the order they mostly end in: forgetting the ended ones is a walk from
// the front. A few calls in progress are found by a scan, cheaper than a
// map; past indexAt, by a map too. Records are reused.
type callTable struct {
	order     []*callRecord
	free      []*callRecord
	byRequest map[uint64]*callRecord // while many calls are in progress
	compactAt int                    // order's length at which the whole of it is swept
}

// indexAt is the number of calls in order past which byRequest is kept.
const indexAt = 32

func newCallTable() callTable { return callTable{compactAt: 64} }

// find returns the call in progress with this request ID, or nil.
func (t *callTable) find(request uint64) *callRecord {
	if t.byRequest != nil {
		if rec := t.byRequest[request]; rec != nil && !rec.over() {
			return rec
		}
		return nil
	}
	for _, rec := range t.order {
		if rec.request == request && !rec.over() {
			return rec
		}
	}
	return nil
}

// add records a new call.
func (t *callTable) add(callee *session, inv, reg, request uint64, progressive bool) *callRecord {
	var rec *callRecord
	if n := len(t.free); n > 0 {
		rec, t.free = t.free[n-1], t.free[:n-1]
	} else {
		rec = new(callRecord)
	}
	rec.callee, rec.inv, rec.reg, rec.request, rec.progressive = callee, inv, reg, request, progressive
	rec.gen++ // endedGen is behind: in progress
	t.order = append(t.order, rec)
	switch {
	case t.byRequest != nil:
		t.byRequest[request] = rec
	case len(t.order) > indexAt:
		t.byRequest = make(map[uint64]*callRecord, 2*indexAt)
		for _, r := range t.order {
			t.byRequest[r.request] = r
		}
	}
	return rec
}

// live is the number of calls in progress, after forgetting ended ones.
func (t *callTable) live() int {
	t.sweep()
	return len(t.order)
}

// sweep forgets the ended calls at the front of the order, and, when a
// long call holds the front, all ended calls now and then.
func (t *callTable) sweep() {
	i := 0
	for i < len(t.order) && t.order[i].over() {
		t.forget(t.order[i])
		i++
	}
	if i > 0 {
		n := copy(t.order, t.order[i:])
		clear(t.order[n:])
		t.order = t.order[:n]
		if t.byRequest != nil && n < indexAt/2 {
			t.byRequest = nil
		}
	}
	if len(t.order) < t.compactAt {
		return
	}
	kept := t.order[:0]
	for _, rec := range t.order {
		if rec.over() {
			t.forget(rec)
		} else {
			kept = append(kept, rec)
		}
	}
	clear(t.order[len(kept):])
	t.order = kept
	t.compactAt = max(64, 2*len(kept))
	if len(kept) < indexAt/2 {
		t.byRequest = nil // few again: back to scanning
	}
}

func (t *callTable) forget(rec *callRecord) {
	if t.byRequest != nil && t.byRequest[rec.request] == rec {
		delete(t.byRequest, rec.request)
	}
	rec.callee = nil
	t.free = append(t.free, rec)
}
