package edge

import (
	"sync"
	"time"
)

// dealer keeps one registration per (procedure, match) (WAMP.md §5.2,
// §8.3). A call goes to the exact registration, else the longest prefix,
// else the best wildcard.
type dealer struct {
	mu         sync.RWMutex
	procedures map[string]*registration // exact
	patterns   patterns[*registration]  // prefix and wildcard
	byID       map[uint64]*registration
}

type registration struct {
	id             uint64
	procedure      string
	match          string
	created        time.Time
	discloseCaller bool
	callee         *session
}

// register creates a registration for (procedure, match) unless one
// exists, and runs then (the REGISTERED reply, or the error when reg is
// nil) under the lock.
func (d *dealer) register(s *session, procedure []byte, match string, discloseCaller bool, newID func() uint64, then func(reg *registration)) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.find(string(procedure), match) != nil {
		then(nil)
		return
	}
	reg := &registration{id: newID(), procedure: string(procedure), match: match, created: time.Now(), discloseCaller: discloseCaller, callee: s}
	if match == matchExact {
		d.procedures[reg.procedure] = reg
	} else {
		d.patterns.add(reg.procedure, match, reg)
	}
	d.byID[reg.id] = reg
	then(reg)
}

// find returns the registration for (procedure, match); mu must be held.
func (d *dealer) find(procedure, match string) *registration {
	if match == matchExact {
		return d.procedures[procedure]
	}
	return d.patterns.get(procedure, match)
}

func (d *dealer) unregister(reg *registration) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.byID[reg.id] != reg {
		return
	}
	if reg.match == matchExact {
		delete(d.procedures, reg.procedure)
	} else {
		d.patterns.remove(reg.procedure, reg.match)
	}
	delete(d.byID, reg.id)
}

// lookup returns the registration a call to procedure goes to, or nil.
func (d *dealer) lookup(procedure []byte) *registration {
	d.mu.RLock()
	defer d.mu.RUnlock()
	if reg := d.procedures[string(procedure)]; reg != nil {
		return reg
	}
	if d.patterns.empty() {
		return nil
	}
	return d.patterns.best(procedure)
}
