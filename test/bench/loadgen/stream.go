package loadgen

import (
	"bytes"
	"sync"
	"sync/atomic"
	"time"
)

// Group is the subscribers of one stream: each counts the frames its
// session receives, in its own goroutine, and wakes a waiting publisher.
type Group struct {
	subs    []*subscriber
	sent    atomic.Int64 // what the publisher has written so far
	resume  atomic.Int64 // wake the publisher when at most this many are in flight
	waiting atomic.Bool  // the publisher sleeps on wake
	wake    chan struct{}
	wg      sync.WaitGroup
}

type subscriber struct {
	c    *Conn
	n    atomic.Int64
	last atomic.Int64 // UnixNano of the last arrival
	gone atomic.Bool  // the connection ended before Close
}

// NewGroup starts counting on each subscribed session.
func NewGroup(conns []*Conn) *Group {
	g := &Group{wake: make(chan struct{}, 1)}
	for _, c := range conns {
		s := &subscriber{c: c}
		g.subs = append(g.subs, s)
		g.wg.Add(1)
		go g.count(s)
	}
	return g
}

func (g *Group) count(s *subscriber) {
	defer g.wg.Done()
	counted := func([]byte) {}
	for {
		n, err := s.c.ReadBurst(counted)
		if err != nil {
			s.gone.Store(true)
			return
		}
		s.n.Add(int64(n))
		s.last.Store(time.Now().UnixNano())
		if g.waiting.Load() && g.sent.Load()-g.slowest() <= g.resume.Load() {
			select {
			case g.wake <- struct{}{}:
			default:
			}
		}
	}
}

// Delivered is the number of frames all subscribers received.
func (g *Group) Delivered() int64 {
	var sum int64
	for _, s := range g.subs {
		sum += s.n.Load()
	}
	return sum
}

func (g *Group) slowest() int64 {
	m := g.subs[0].n.Load()
	for _, s := range g.subs[1:] {
		m = min(m, s.n.Load())
	}
	return m
}

func (g *Group) lastArrival() time.Time {
	var last int64
	for _, s := range g.subs {
		last = max(last, s.last.Load())
	}
	return time.Unix(0, last)
}

// disconnected counts the subscribers whose connection ended.
func (g *Group) disconnected() int {
	n := 0
	for _, s := range g.subs {
		if s.gone.Load() {
			n++
		}
	}
	return n
}

// Close closes the sessions and waits for their counters to stop.
func (g *Group) Close() {
	for _, s := range g.subs {
		s.c.Close()
	}
	g.wg.Wait()
}

// StreamConfig is one publishing run.
type StreamConfig struct {
	// Frame is one pre-encoded publish; the publisher writes copies of it.
	Frame []byte
	// Duration is how long the publisher publishes.
	Duration time.Duration
	// Window, if not zero, keeps at most this many events in flight
	// between the publisher and the slowest subscriber: the publisher
	// tops the window up when half of it has arrived. Zero publishes as
	// fast as the router takes the bytes (full rate).
	Window int
	// Settle is how long arrivals may pause before what has not arrived
	// counts as lost; DrainMax bounds the wait after publishing.
	Settle, DrainMax time.Duration
}

// fullRateBatch is the number of publishes in one write at full rate.
const fullRateBatch = 256

// StreamResult is what a stream delivered.
type StreamResult struct {
	Sent         int64 // publishes written
	Delivered    int64 // events received, over all subscribers
	Subscribers  int
	Elapsed      time.Duration // from the first write to the last arrival, or the last write if later
	Disconnected int           // subscribers whose connection the router closed
	Stalled      bool          // windowed: nothing arrived for Settle with events in flight
	DrainCut     bool          // events were still arriving when DrainMax ran out
}

// Rate is the events delivered per second.
func (r StreamResult) Rate() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.Delivered) / r.Elapsed.Seconds()
}

// Lost is the share of the events due (publishes × subscribers) that
// never arrived.
func (r StreamResult) Lost() float64 {
	due := r.Sent * int64(r.Subscribers)
	if due == 0 {
		return 0
	}
	return 1 - float64(r.Delivered)/float64(due)
}

// Stream publishes on pub to the subscribers of g, then waits for the
// events still on their way.
func Stream(pub *Conn, g *Group, cfg StreamConfig) (StreamResult, error) {
	res := StreamResult{Subscribers: len(g.subs)}
	per := max(fullRateBatch, cfg.Window)
	batch := bytes.Repeat(cfg.Frame, per)
	size := len(cfg.Frame)
	start := time.Now()
	stop := start.Add(cfg.Duration)
	pub.SetDeadline(stop.Add(cfg.DrainMax + 5*time.Second)) // a router that stops reading cannot hang the harness
	defer pub.SetDeadline(time.Time{})
	settle := time.NewTimer(cfg.Settle)
	defer settle.Stop()
	g.resume.Store(int64(cfg.Window / 2))
	var sent int64
	for time.Now().Before(stop) {
		k := int64(per)
		if cfg.Window > 0 {
			inFlight := sent - g.slowest()
			k = int64(cfg.Window) - inFlight
			if inFlight > g.resume.Load() {
				if !g.await(&sent, settle, cfg.Settle) {
					res.Stalled = true
					break
				}
				continue
			}
		}
		if err := pub.Write(batch[:int(k)*size]); err != nil {
			return res, err
		}
		sent += k
		g.sent.Store(sent)
	}
	res.Sent = sent
	published := time.Now()
	res.DrainCut = g.drain(sent*int64(len(g.subs)), cfg.Settle, cfg.DrainMax)
	res.Delivered = g.Delivered()
	res.Disconnected = g.disconnected()
	// Over the whole stream: a subscriber the router cut off early does
	// not get a rate from its short life.
	end := published
	if res.Delivered > 0 {
		end = later(end, g.lastArrival())
	}
	res.Elapsed = end.Sub(start)
	return res, nil
}

// await sleeps until the subscribers wake the publisher, or reports
// false when nothing arrived for settle.
func (g *Group) await(sent *int64, timer *time.Timer, settle time.Duration) bool {
	g.waiting.Store(true)
	defer g.waiting.Store(false)
	if *sent-g.slowest() <= g.resume.Load() { // arrived meanwhile
		return true
	}
	timer.Reset(settle)
	select {
	case <-g.wake:
		return true
	case <-timer.C:
		return false
	}
}

// drain waits until due events have arrived, or none arrived for
// settle, or drainMax is over; it reports the last case.
func (g *Group) drain(due int64, settle, drainMax time.Duration) (cut bool) {
	const poll = 2 * time.Millisecond
	begin := time.Now()
	prev, progressed := g.Delivered(), begin
	for {
		d := g.Delivered()
		now := time.Now()
		switch {
		case d >= due:
			return false
		case d != prev:
			prev, progressed = d, now
		case now.Sub(progressed) > settle:
			return false
		}
		if now.Sub(begin) > drainMax {
			return true
		}
		time.Sleep(poll)
	}
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}
