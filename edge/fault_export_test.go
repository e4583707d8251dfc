package edge

// QueuedBytes returns, for the fault tests, the bytes in the outbound
// queue of every session the router serves now: what a session that
// does not read makes the router hold, which QueueBytes bounds.
func (r *Router) QueuedBytes() []int {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]int, 0, len(r.sessions))
	for s := range r.sessions {
		s.q.mu.Lock()
		out = append(out, len(s.q.buf))
		s.q.mu.Unlock()
	}
	return out
}
