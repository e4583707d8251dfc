package main

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/wampedge/wampedge/codec"
	"github.com/wampedge/wampedge/test/bench/loadgen"
)

// setupTimeout bounds the set-up of one pattern's sessions.
const setupTimeout = 60 * time.Second

// The pub/sub topic; MQTT's levels are separated by slashes.
const (
	wampTopic = "bench.topic"
	mqttTopic = "bench/topic"
)

// payload40 is MQTT's payload: 40 bytes, as WAMP's Arguments list is.
var payload40 = []byte("0123456789abcdefghijklmnopqrstuvwxyzABCD")

// dial opens a session on p, in p's protocol.
func (p *process) dial(ctx context.Context) (*loadgen.Conn, error) {
	if p.mqtt {
		return loadgen.DialMQTT(ctx, p.addr)
	}
	return loadgen.DialWAMP(ctx, p.addr)
}

// subscriber opens a session subscribed to topic n (-1: the stream's).
func (p *process) subscriber(ctx context.Context, n int) (*loadgen.Conn, error) {
	c, err := p.dial(ctx)
	if err != nil {
		return nil, err
	}
	topic := wampTopic
	if p.mqtt {
		topic = mqttTopic
	}
	if n >= 0 {
		topic += "." + strconv.Itoa(n)
		if p.mqtt {
			topic = mqttTopic + "/" + strconv.Itoa(n)
		}
	}
	if p.mqtt {
		err = c.SubscribeMQTT(ctx, topic)
	} else {
		err = c.SubscribeWAMP(ctx, topic)
	}
	if err != nil {
		c.Close()
		return nil, fmt.Errorf("subscribing to %s: %w", topic, err)
	}
	return c, nil
}

// publishFrame is one pre-encoded publish of the 40-byte payload.
func (p *process) publishFrame() []byte {
	if p.mqtt {
		return loadgen.AppendMQTTPublish(nil, mqttTopic, payload40)
	}
	return loadgen.AppendWAMP(nil, &codec.Publish{Request: 1, Topic: []byte(wampTopic), Args: loadgen.Payload40})
}

// cost is what one measured pattern cost the router process.
type cost struct {
	cpuMicros       float64 // CPU µs per message
	allocs, bytes   float64 // heap allocations and bytes per message
	hasAllocs       bool
	disturbed       bool    // the machine was not quiet, or others used CPU meanwhile
	foreign         float64 // cores others kept busy during the measurement
	slowKills, drop uint64  // the router's counters over the measurement (wampedge)
}

// meter measures a router process over one pattern.
type meter struct {
	p     *process
	quiet bool
	w     *cpuWatch
	v0    debugVars
	has   bool
	awake *awake // resumed while measuring, or nil
}

// prepare waits for the machine to be quiet; begin starts measuring.
func (h *harness) prepare(p *process) *meter {
	quiet, busy := h.plan.quiet.wait()
	if !quiet {
		h.logf("    machine still busy (%.2f cores); measuring anyway", busy)
	}
	return &meter{p: p, quiet: quiet}
}

func (m *meter) begin() {
	m.v0, m.has, _ = m.p.vars()
	m.w = watchCPU(m.p.pid, m.awake.pid())
	m.awake.resume()
}

// end stops measuring; messages is what the router routed meanwhile.
func (m *meter) end(h *harness, messages int64) cost {
	m.awake.pause()
	ticks := m.w.routerTicks()
	c := cost{foreign: m.w.foreign()}
	c.disturbed = !m.quiet || c.foreign > h.plan.foreignMax
	if v1, ok, _ := m.p.vars(); ok && m.has && messages > 0 {
		c.hasAllocs = true
		c.allocs = float64(v1.Memstats.Mallocs-m.v0.Memstats.Mallocs) / float64(messages)
		c.bytes = float64(v1.Memstats.TotalAlloc-m.v0.Memstats.TotalAlloc) / float64(messages)
		if v1.Router != nil && m.v0.Router != nil {
			c.slowKills = v1.Router.SlowConsumerKills - m.v0.Router.SlowConsumerKills
			c.drop = v1.Router.DroppedEvents - m.v0.Router.DroppedEvents
		}
	}
	if messages > 0 && m.p.pid > 0 {
		c.cpuMicros = float64(ticks) * 1e6 / clockTick / float64(messages)
	}
	if c.disturbed {
		h.logf("    disturbed: others used %.2f cores", c.foreign)
	}
	return c
}

// pubsub runs one publisher and subs subscribers: full rate (window 0)
// or with at most window events in flight.
func (h *harness) pubsub(p *process, subs, window int, d time.Duration) (loadgen.StreamResult, cost, error) {
	m := h.prepare(p)
	if window > 0 { // bound by round trips: see awake.go
		m.awake = h.awake
	}
	ctx, cancel := context.WithTimeout(context.Background(), setupTimeout)
	defer cancel()
	var conns []*loadgen.Conn
	for range subs {
		c, err := p.subscriber(ctx, -1)
		if err != nil {
			loadgen.NewGroup(conns).Close()
			return loadgen.StreamResult{}, cost{}, err
		}
		conns = append(conns, c)
	}
	g := loadgen.NewGroup(conns)
	defer g.Close()
	pub, err := p.dial(ctx)
	if err != nil {
		return loadgen.StreamResult{}, cost{}, err
	}
	defer pub.Close()
	m.begin()
	res, err := loadgen.Stream(pub, g, loadgen.StreamConfig{
		Frame:    p.publishFrame(),
		Duration: d,
		Window:   window,
		Settle:   h.plan.settle,
		DrainMax: h.plan.drainMax,
	})
	c := m.end(h, res.Delivered)
	return res, c, err
}

// callee registers loadgen.Procedure on p and answers its calls until
// the returned function closes it.
func (p *process) callee(ctx context.Context) (func(), error) {
	c, err := p.dial(ctx)
	if err != nil {
		return nil, err
	}
	if err := c.RegisterWAMP(ctx, loadgen.Procedure); err != nil {
		c.Close()
		return nil, err
	}
	done := loadgen.Answer(c, loadgen.Payload40)
	return func() { c.Close(); <-done }, nil
}

// rpcSequential makes one call at a time and returns the round trips.
func (h *harness) rpcSequential(p *process) ([]time.Duration, cost, error) {
	m := h.prepare(p)
	m.awake = h.awake
	ctx, cancel := context.WithTimeout(context.Background(), setupTimeout)
	defer cancel()
	stop, err := p.callee(ctx)
	if err != nil {
		return nil, cost{}, err
	}
	defer stop()
	caller, err := p.dial(ctx)
	if err != nil {
		return nil, cost{}, err
	}
	defer caller.Close()
	if _, err := loadgen.CallSequential(caller, loadgen.Payload40, time.Second, 100); err != nil { // warm-up
		return nil, cost{}, err
	}
	m.begin()
	rtts, err := loadgen.CallSequential(caller, loadgen.Payload40, h.plan.callsFor, h.plan.maxSequential)
	c := m.end(h, int64(len(rtts)))
	return rtts, c, err
}

// rpcPipelined keeps h.plan.outstanding calls in flight; it returns
// the calls per second.
func (h *harness) rpcPipelined(p *process) (float64, cost, error) {
	m := h.prepare(p)
	m.awake = h.awake
	ctx, cancel := context.WithTimeout(context.Background(), setupTimeout)
	defer cancel()
	stop, err := p.callee(ctx)
	if err != nil {
		return 0, cost{}, err
	}
	defer stop()
	caller, err := p.dial(ctx)
	if err != nil {
		return 0, cost{}, err
	}
	defer caller.Close()
	m.begin()
	n, elapsed, err := loadgen.CallPipelined(caller, loadgen.Payload40, h.plan.outstanding, h.plan.callsFor)
	c := m.end(h, n)
	return float64(n) / elapsed.Seconds(), c, err
}

// idleRSS measures the router's resident memory with no session, then
// with each count of idle sessions holding one subscription each.
func (h *harness) idleRSS(p *process) (idle int64, with []int64, err error) {
	time.Sleep(300 * time.Millisecond) // let start-up's garbage go
	if idle, err = rssBytes(p.pid); err != nil {
		return 0, nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*setupTimeout)
	defer cancel()
	var conns []*loadgen.Conn
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for _, n := range h.plan.idle {
		offset := len(conns)
		more, err := loadgen.OpenIdle(ctx, n-offset, 16, func(ctx context.Context, i int) (*loadgen.Conn, error) {
			return p.subscriber(ctx, offset+i)
		})
		conns = append(conns, more...)
		if err != nil {
			return idle, with, fmt.Errorf("opening %d idle sessions (%d open): %w", n, len(conns), err)
		}
		// For the router's bookkeeping to settle: idle sessions hold
		// memory as they will for as long as they stay idle (wampedge
		// parks a session after 100 ms of silence and returns the memory
		// a wave of joins freed a few hundred milliseconds after it).
		time.Sleep(time.Second)
		rss, err := rssBytes(p.pid)
		if err != nil {
			return idle, with, err
		}
		with = append(with, rss)
	}
	return idle, with, nil
}

// percentile of sorted durations, p in [0, 1].
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(p * float64(len(sorted)-1))
	return sorted[i]
}

func sortedCopy(d []time.Duration) []time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	return s
}
