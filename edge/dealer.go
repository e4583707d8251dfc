package edge

import (
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// dealer keeps one registration per (procedure, match) (WAMP.md §5.2,
// §8.3). A call goes to the exact registration, else the longest prefix,
// else the best wildcard; within a shared registration, to the callee
// its invoke policy picks.
type dealer struct {
	mu         sync.RWMutex
	procedures map[string]*registration // exact
	patterns   patterns[*registration]  // prefix and wildcard
	byID       map[uint64]*registration
}

// Invoke policies of shared registrations.
const (
	invokeSingle     = "single"
	invokeRoundRobin = "roundrobin"
	invokeRandom     = "random"
	invokeFirst      = "first"
	invokeLast       = "last"
)

type registration struct {
	id             uint64
	procedure      string
	match          string
	invoke         string
	created        time.Time
	discloseCaller bool
	callees        []*session // in order of registration; under the dealer's lock
	next           atomic.Uint64
}

// register adds s as a callee of (procedure, match), creating the
// registration if needed, and runs then under the lock: with the
// registration and whether it was created, or with nil when the
// procedure is registered already (single, or another invoke policy).
func (d *dealer) register(s *session, procedure []byte, match, invoke string, discloseCaller bool, newID func() uint64, then func(reg *registration, created bool)) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if reg := d.find(string(procedure), match); reg != nil {
		if reg.invoke == invokeSingle || reg.invoke != invoke || slices.Contains(reg.callees, s) {
			then(nil, false)
			return
		}
		reg.callees = append(reg.callees, s)
		then(reg, false)
		return
	}
	reg := &registration{id: newID(), procedure: string(procedure), match: match, invoke: invoke,
		created: time.Now(), discloseCaller: discloseCaller, callees: []*session{s}}
	if match == matchExact {
		d.procedures[reg.procedure] = reg
	} else {
		d.patterns.add(reg.procedure, match, reg)
	}
	d.byID[reg.id] = reg
	then(reg, true)
}

// find returns the registration for (procedure, match); mu must be held.
func (d *dealer) find(procedure, match string) *registration {
	if match == matchExact {
		return d.procedures[procedure]
	}
	return d.patterns.get(procedure, match)
}

// unregister removes s from the registration, which goes when no callee
// is left; it reports whether it went.
func (d *dealer) unregister(reg *registration, s *session) (deleted bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	reg.callees = slices.DeleteFunc(reg.callees, func(x *session) bool { return x == s })
	if len(reg.callees) > 0 || d.byID[reg.id] != reg {
		return false
	}
	if reg.match == matchExact {
		delete(d.procedures, reg.procedure)
	} else {
		d.patterns.remove(reg.procedure, reg.match)
	}
	delete(d.byID, reg.id)
	return true
}

// lookup returns the registration a call to procedure goes to and the
// callee that takes it, or nil.
func (d *dealer) lookup(procedure []byte) (*registration, *session) {
	d.mu.RLock()
	defer d.mu.RUnlock()
	reg := d.procedures[string(procedure)]
	if reg == nil && !d.patterns.empty() {
		reg = d.patterns.best(procedure)
	}
	if reg == nil || len(reg.callees) == 0 {
		return nil, nil
	}
	return reg, reg.pick()
}

// pick chooses the callee by the invoke policy; the lock must be held.
func (reg *registration) pick() *session {
	n := len(reg.callees)
	switch reg.invoke {
	case invokeRoundRobin:
		return reg.callees[int((reg.next.Add(1)-1)%uint64(n))]
	case invokeRandom:
		return reg.callees[rand.IntN(n)]
	case invokeLast:
		return reg.callees[n-1]
	}
	return reg.callees[0] // single, first
}

// calleeIDs lists the registration's callees' session IDs.
func (d *dealer) calleeIDs(reg *registration) []any {
	d.mu.RLock()
	defer d.mu.RUnlock()
	return ids(reg.callees)
}
