package edge

import (
	"sync"

	"github.com/wampedge/wampedge/internal/shrink"
)

// realm is a routing namespace: sessions in one realm never see another
// realm's topics or procedures.
type realm struct {
	name   string
	broker broker
	dealer dealer
	policy *policy // nil: open to anonymous clients

	mu       sync.Mutex
	sessions map[uint64]*session
	peak     int // of sessions, for shrink.Delete
}

func newRealm(name string) *realm {
	return &realm{
		name:     name,
		broker:   broker{topics: make(map[string]*subscription), byID: make(map[uint64]*subscription)},
		dealer:   dealer{procedures: make(map[string]*registration), byID: make(map[uint64]*registration)},
		sessions: make(map[uint64]*session),
	}
}

// join adds s, unless the realm has max sessions already (0: no limit).
func (rl *realm) join(s *session, max int) bool {
	rl.mu.Lock()
	defer rl.mu.Unlock()
	if max > 0 && len(rl.sessions) >= max {
		return false
	}
	rl.sessions[s.id] = s
	return true
}

func (rl *realm) leave(s *session) {
	rl.mu.Lock()
	shrink.Delete(&rl.sessions, &rl.peak, s.id)
	rl.mu.Unlock()
}

func (rl *realm) count() int {
	rl.mu.Lock()
	defer rl.mu.Unlock()
	return len(rl.sessions)
}
