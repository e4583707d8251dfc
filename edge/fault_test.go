package edge_test

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wampedge/wampedge/codec"
	"github.com/wampedge/wampedge/edge"
	"github.com/wampedge/wampedge/edge/client"
	"github.com/wampedge/wampedge/rawsocket"
)

// Fault tests (issue 9): connections lost in the middle of things,
// subscribers that stop reading, many sessions coming and going, and
// half-open connections, against a router in this process over real
// sockets. Durations are bounds on failure; the one latency the issue
// asks for is asserted as a median over several trials, and logged.

// TestFaultCalleeLost: a callee's connection is lost (closed, or reset)
// with calls from several callers pending; every caller gets
// wamp.error.canceled at once. The latency is measured from the moment
// the test drops the connection, which on the loopback is when the
// router sees it.
func TestFaultCalleeLost(t *testing.T) {
	const (
		trials    = 6
		callsEach = 2
		bound     = 100 * time.Millisecond // the issue's: callers know within 100 ms
	)
	tb := newTestbed(t, nil)
	var callers []*client.Client
	for _, w := range []wire{wires[0], wires[1], wires[3]} { // tcp/json, tcp/msgpack, unix/msgpack
		callers = append(callers, tb.client(t, w))
	}
	pending := len(callers) * callsEach
	var worst []time.Duration
	for trial := range trials {
		reset := trial%2 == 1
		proc := fmt.Sprintf("com.fault.slow%d", trial)
		callee := tb.joined(t, wires[1])
		callee.register(proc)
		type answer struct {
			err error
			at  time.Time
		}
		answers := make(chan answer, pending)
		for _, c := range callers {
			for range callsEach {
				ctx := opCtx(t)
				go func() {
					_, err := c.Call(ctx, proc, client.Args(trial))
					answers <- answer{err, time.Now()}
				}()
			}
		}
		for range pending {
			expect[*codec.Invocation](callee)
		}
		if reset {
			callee.nc.(*net.TCPConn).SetLinger(0) // an RST, not a FIN
		}
		lost := time.Now()
		callee.close()
		var slowest time.Duration
		for range pending {
			a := receive(t, answers, "a caller's answer")
			wampError(t, a.err, "wamp.error.canceled")
			slowest = max(slowest, a.at.Sub(lost))
		}
		worst = append(worst, slowest)
		tb.waitSessions(t, len(callers))
	}
	slices.Sort(worst)
	median := worst[len(worst)/2]
	t.Logf("callee lost with %d calls pending: every caller canceled after %v (median of %d trials; all: %v)", pending, median, trials, worst)
	if median > bound {
		t.Errorf("callers learned of the callee's loss after %v (median), want within %v", median, bound)
	}
}

// TestFaultStalledSubscriber: one subscriber stops reading while a
// publisher goes on. The other subscribers get every event, in order;
// the stalled one is disconnected (the default policy) or loses events
// and stays (drop); and the router holds no more than QueueBytes for it.
func TestFaultStalledSubscriber(t *testing.T) {
	const (
		queueBytes  = 256 << 10
		eventBytes  = 32 << 10
		round       = 4    // events per round; the normal subscribers take each round
		extraRounds = 10   // after the stall is handled
		maxEvents   = 4000 // 128 MiB: far past the queue and the socket buffers
		heapBound   = 64 << 20
	)
	fill := make([]byte, eventBytes)
	for _, policy := range []edge.SlowConsumerPolicy{edge.Disconnect, edge.DropEvents} {
		t.Run(string(policy), func(t *testing.T) {
			tb := newTestbed(t, &edge.Config{QueueBytes: queueBytes, SlowConsumer: policy})
			const topic = "com.fault.feed"
			stalled := tb.joined(t, wires[1]) // TCP: the largest socket buffers
			stalled.subscribe(topic)
			var normals []<-chan *client.Event
			for _, w := range []wire{wires[0], wires[3]} {
				events, _ := eventsOf(t, tb.client(t, w), topic, round)
				normals = append(normals, events)
			}
			pub := tb.client(t, wires[1])

			runtime.GC()
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			baseHeap := ms.HeapAlloc
			var maxQueued atomic.Int64
			var maxHeap atomic.Uint64
			stop, sampled := make(chan struct{}), make(chan struct{})
			go func() {
				defer close(sampled)
				tick := time.NewTicker(time.Millisecond)
				defer tick.Stop()
				for n := 0; ; n++ {
					select {
					case <-stop:
						return
					case <-tick.C:
					}
					for _, q := range tb.QueuedBytes() {
						if int64(q) > maxQueued.Load() {
							maxQueued.Store(int64(q))
						}
					}
					if n%20 == 0 {
						var ms runtime.MemStats
						runtime.ReadMemStats(&ms)
						if ms.HeapAlloc > maxHeap.Load() {
							maxHeap.Store(ms.HeapAlloc)
						}
					}
				}
			}()

			published := 0
			doRound := func() {
				for range round {
					if err := pub.Publish(opCtx(t), topic, client.Args(published, fill), client.PublishOptions{}); err != nil {
						t.Fatal(err)
					}
					published++
				}
				for _, events := range normals {
					for i := published - round; i < published; i++ {
						if got := seqOf(t, receive(t, events, "an event for a normal subscriber").Args); got != int64(i) {
							t.Fatalf("a normal subscriber got event %d, want %d", got, i)
						}
					}
				}
			}
			handled := func() bool {
				st := tb.Stats()
				return st.SlowConsumerKills > 0 || st.DroppedEvents > 0
			}
			for !handled() {
				if published >= maxEvents {
					t.Fatalf("the stalled subscriber is neither disconnected nor dropped from after %d events: %+v", published, tb.Stats())
				}
				doRound()
			}
			stalledAt := published
			for range extraRounds {
				doRound()
			}
			close(stop)
			<-sampled

			st := tb.Stats()
			t.Logf("%s: stall handled after %d events of %d bytes; %d events in all; %+v; most queued for a session %d bytes (limit %d); heap %d MiB at most, from %d MiB",
				policy, stalledAt, eventBytes, published, st, maxQueued.Load(), queueBytes, maxHeap.Load()>>20, baseHeap>>20)
			if q := maxQueued.Load(); q > queueBytes {
				t.Errorf("a session's queue held %d bytes, over QueueBytes %d", q, queueBytes)
			}
			if h := maxHeap.Load(); h > baseHeap+heapBound {
				t.Errorf("the heap grew from %d to %d bytes while a subscriber stalled", baseHeap, h)
			}
			if policy == edge.Disconnect {
				if st.SlowConsumerKills != 1 {
					t.Errorf("SlowConsumerKills %d, want 1", st.SlowConsumerKills)
				}
				if !stalled.drainUntilClosed(published) {
					t.Fatal("the stalled subscriber is still connected")
				}
				tb.waitSessions(t, 3)
				return
			}
			if st.SlowConsumerKills != 0 || st.Sessions != 4 {
				t.Errorf("drop policy: %+v, want no kill and 4 sessions", st)
			}
			// The stalled subscriber reads again: what it was sent, then
			// the answer to a publication of its own.
			const req = 1 << 40
			stalled.send(&codec.Publish{Request: req, Options: ackOptions(codec.Unset), Topic: []byte("com.fault.alive")})
			for n := 0; ; n++ {
				if n > published {
					t.Fatal("the stalled subscriber got no PUBLISHED")
				}
				if m, ok := stalled.recv().(*codec.Published); ok && m.Request == req {
					break
				}
			}
		})
	}
}

// churnDuration is how long TestFaultChurn churns: the 30 s,
// except in -short runs that do not name it (-run Churn).
func churnDuration() time.Duration {
	if f := flag.Lookup("test.run"); !testing.Short() || f != nil && strings.Contains(f.Value.String(), "Churn") {
		return 30 * time.Second
	}
	return 3 * time.Second
}

// TestFaultChurn: 200 sessions connect and leave, over and over, for
// churnDuration: graceful GOODBYEs, dropped connections, resets and
// protocol violations, over TCP and Unix sockets, in both serializers,
// while the witnesses call and publish. Afterwards the goroutines, the
// file descriptors and the heap are back where they were.
func TestFaultChurn(t *testing.T) {
	const workers = 200
	duration := churnDuration()
	tb := newTestbed(t, nil)
	wit := newWitness(t, tb)
	wit.check(t)

	baseGoroutines, baseFDs, baseHeap := resources(t)
	var counts [churnModes]atomic.Int64
	var failures atomic.Int64
	var firstErr atomic.Pointer[error]
	ctx, cancel := context.WithTimeout(context.Background(), duration+2*ioTimeout)
	defer cancel()
	deadline := time.Now().Add(duration)
	var wg sync.WaitGroup
	for i := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(i), uint64(time.Now().UnixNano())))
			for time.Now().Before(deadline) {
				mode, err := churnOnce(ctx, tb, rng)
				counts[mode].Add(1)
				if err != nil {
					failures.Add(1)
					err = fmt.Errorf("%s: %w", churnModeNames[mode], err)
					firstErr.CompareAndSwap(nil, &err)
				}
			}
		}()
	}
	for time.Now().Before(deadline) {
		// A worker's last session may still be leaving (the router sees a
		// dropped connection a moment later) while its next one joins.
		if st := tb.Stats(); st.Sessions > 2*workers+witnesses {
			t.Errorf("%d sessions with %d workers", st.Sessions, workers)
		}
		wit.check(t)
		time.Sleep(500 * time.Millisecond)
	}
	wg.Wait()
	var total int64
	summary := ""
	for m := range churnModes {
		total += counts[m].Load()
		summary += fmt.Sprintf(" %s %d", churnModeNames[m], counts[m].Load())
	}
	t.Logf("%d sessions in %v by %d workers:%s", total, duration, workers, summary)
	if n := failures.Load(); n > 0 {
		t.Errorf("%d sessions failed; the first: %v", n, *firstErr.Load())
	}
	tb.waitSessions(t, witnesses)
	wit.check(t)

	var goroutines, fds int
	var heap uint64
	waitFor(t, "goroutines, file descriptors and heap back to the baseline", func() bool {
		goroutines, fds, heap = resources(t)
		return goroutines <= baseGoroutines+5 && fds <= baseFDs+2 && heap <= baseHeap+16<<20
	})
	t.Logf("goroutines %d (before %d), file descriptors %d (before %d), heap %d KiB (before %d KiB)",
		goroutines, baseGoroutines, fds, baseFDs, heap>>10, baseHeap>>10)
}

// resources returns the process's goroutines, open file descriptors and
// live heap, after a collection.
func resources(t *testing.T) (goroutines, fds int, heap uint64) {
	t.Helper()
	entries, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return runtime.NumGoroutine(), len(entries), ms.HeapAlloc
}

// How a churning session ends.
const (
	churnGoodbye   = iota // the client: a call, a publication or a subscription, then GOODBYE
	churnDrop             // a raw session drops its connection (FIN)
	churnReset            // a raw session resets its connection (RST)
	churnViolation        // a raw session sends an unknown message type: ABORT
	churnModes
)

var churnModeNames = [churnModes]string{"goodbye", "drop", "reset", "violation"}

// churnOnce runs one session from connection to end, and returns how it
// ended and what went wrong.
func churnOnce(ctx context.Context, tb *testbed, rng *rand.Rand) (int, error) {
	transport := "unix"
	if rng.IntN(4) == 0 {
		transport = "tcp"
	}
	ser := codec.MsgPack
	if rng.IntN(2) == 0 {
		ser = codec.JSON
	}
	url := tb.urls[transport]
	mode := churnGoodbye
	if n := rng.IntN(10); n >= 5 {
		mode = []int{churnDrop, churnDrop, churnReset, churnReset, churnViolation}[n-5]
	}
	if mode == churnGoodbye {
		c, err := client.Dial(ctx, url, client.Config{Serializer: ser})
		if err != nil {
			return mode, err
		}
		defer c.Close()
		switch rng.IntN(3) {
		case 0:
			err = c.Publish(ctx, "com.churn.topic", client.Args(rng.Int64()), client.PublishOptions{Acknowledge: true})
		case 1:
			_, err = c.Subscribe(ctx, "com.churn.topic", func(*client.Event) {})
		case 2:
			var res *client.Result
			res, err = c.Call(ctx, "com.witness.echo", client.Args("churn"))
			if err == nil && (len(res.Args) != 1 || res.Args[0] != "churn") {
				err = fmt.Errorf("echo answered %v", res.Args)
			}
		}
		if err != nil {
			return mode, err
		}
		if err := c.Close(); err != nil {
			return mode, err
		}
		if err := c.Err(); err != nil {
			return mode, fmt.Errorf("ended with %w", err)
		}
		return mode, nil
	}
	ep, _ := rawsocket.ParseURL(url)
	var d net.Dialer
	nc, err := d.DialContext(ctx, ep.Network, ep.Address)
	if err != nil {
		return mode, err
	}
	defer nc.Close()
	nc.SetDeadline(time.Now().Add(ioTimeout))
	conn, err := rawsocket.Connect(nc, ser, rawsocket.Config{Timeout: ioTimeout})
	if err != nil {
		return mode, err
	}
	w := codec.NewCodec(ser)
	send := func(text string) error {
		msg, _ := codec.FromJSON(nil, []byte(text))
		frame, err := w.Encode(nil, msg)
		if err != nil {
			return err
		}
		return conn.WriteMsg(frame)
	}
	next := func() (codec.Message, error) {
		frame, err := conn.ReadMsg()
		if err != nil {
			return nil, err
		}
		msg, err := w.Decode(nil, frame)
		if err != nil {
			return nil, err
		}
		return codec.Decode(msg)
	}
	if err := send(`[1, "realm1", ` + helloRoles + `]`); err != nil {
		return mode, err
	}
	if m, err := next(); err != nil {
		return mode, err
	} else if m.Type() != codec.TypeWelcome {
		return mode, fmt.Errorf("got %s, want WELCOME", describe(m))
	}
	// Something to clean up: a subscription and a registration.
	proc := fmt.Sprintf("com.churn.proc%d", rng.Uint64())
	if err := send(`[32, 1, {}, "com.churn.topic"]`); err != nil {
		return mode, err
	}
	if err := send(`[64, 2, {}, "` + proc + `"]`); err != nil {
		return mode, err
	}
	for range 2 {
		if _, err := next(); err != nil {
			return mode, err
		}
	}
	switch mode {
	case churnReset:
		if tc, ok := nc.(*net.TCPConn); ok {
			tc.SetLinger(0)
		}
	case churnViolation:
		if err := send(`[99, 1, {}]`); err != nil {
			return mode, err
		}
		for { // events may come before the ABORT
			m, err := next()
			if err != nil {
				return mode, fmt.Errorf("waiting for the ABORT: %w", err)
			}
			if a, ok := m.(*codec.Abort); ok {
				if string(a.Reason) != "wamp.error.protocol_violation" {
					return mode, fmt.Errorf("got %s", describe(m))
				}
				if _, err := conn.ReadMsg(); !errors.Is(err, io.EOF) {
					return mode, fmt.Errorf("after the ABORT: %v, want the connection closed", err)
				}
				return mode, nil
			}
		}
	}
	return mode, nil // the deferred Close drops the connection
}

// TestFaultHalfOpen: a callee's line goes dead, with neither a FIN nor
// an RST (a board that lost power, a NAT that forgot the flow): only the
// router's keepalive can tell. It sends a PING after PingInterval of
// silence and closes the connection after PingTimeout more; the callee's
// pending call is canceled for its caller. A session that answers PINGs
// (every client, by reading) stays through many intervals.
func TestFaultHalfOpen(t *testing.T) {
	const interval, timeout = 100 * time.Millisecond, 200 * time.Millisecond
	r := edge.New(nil)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), ioTimeout)
		defer cancel()
		r.Close(ctx)
	})
	l, err := r.Listen("tcp://127.0.0.1:0", rawsocket.ListenConfig{Config: rawsocket.Config{PingInterval: interval, PingTimeout: timeout}})
	if err != nil {
		t.Fatal(err)
	}
	url := l.Endpoint().String()
	hole := newBlackhole(t, l.Endpoint().Address)

	invoked, release := make(chan struct{}, 1), make(chan struct{})
	t.Cleanup(func() { close(release) })
	callee, err := client.Dial(opCtx(t), "tcp://"+hole.addr(), client.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { callee.Close() })
	if _, err := callee.Register(opCtx(t), "com.fault.halfopen", func(ctx context.Context, _ *client.Invocation) (client.Payload, error) {
		invoked <- struct{}{}
		select { // never answers
		case <-release:
		case <-ctx.Done():
		}
		return client.Payload{}, nil
	}); err != nil {
		t.Fatal(err)
	}
	caller, err := client.Dial(opCtx(t), url, client.Config{Serializer: codec.JSON})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { caller.Close() })
	waitFor(t, "2 sessions", func() bool { return r.Stats().Sessions == 2 })

	result := make(chan error, 1)
	ctx := opCtx(t)
	go func() {
		_, err := caller.Call(ctx, "com.fault.halfopen", client.Payload{})
		result <- err
	}()
	receive(t, invoked, "the invocation")
	cut := time.Now()
	hole.cut()
	wampError(t, receive(t, result, "the caller's answer"), "wamp.error.canceled")
	detected := time.Since(cut)
	t.Logf("half-open callee detected and its call canceled %v after the line went dead (PingInterval %v, PingTimeout %v)", detected, interval, timeout)
	if detected < interval {
		t.Errorf("the call was canceled %v after the cut, before any PING could be due", detected)
	}
	waitFor(t, "the half-open session gone", func() bool { return r.Stats().Sessions == 1 })

	// The caller, idle but reading, answered every PING meanwhile; it
	// stays through many more intervals and still calls.
	time.Sleep(5 * (interval + timeout))
	_, err = caller.Call(opCtx(t), "com.fault.halfopen", client.Payload{})
	wampError(t, err, "wamp.error.no_such_procedure")
	if st := r.Stats(); st.Sessions != 1 {
		t.Errorf("%d sessions, want the caller's", st.Sessions)
	}
}

// blackhole is a TCP proxy to the router whose line can be cut: it then
// forwards nothing either way and closes nothing, which is all the
// router sees of a peer that lost power.
type blackhole struct {
	ln      net.Listener
	dead    chan struct{}
	cutOnce sync.Once
	mu      sync.Mutex
	conns   []net.Conn
	wg      sync.WaitGroup
}

func newBlackhole(t *testing.T, target string) *blackhole {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	h := &blackhole{ln: ln, dead: make(chan struct{})}
	h.wg.Add(1)
	go func() {
		defer h.wg.Done()
		for {
			a, err := ln.Accept()
			if err != nil {
				return
			}
			b, err := net.Dial("tcp", target)
			if err != nil {
				a.Close()
				continue
			}
			h.mu.Lock()
			h.conns = append(h.conns, a, b)
			h.mu.Unlock()
			h.wg.Add(2)
			go h.pipe(a, b)
			go h.pipe(b, a)
		}
	}()
	t.Cleanup(func() {
		h.cut()
		ln.Close()
		h.mu.Lock()
		for _, c := range h.conns {
			c.Close()
		}
		h.mu.Unlock()
		h.wg.Wait()
	})
	return h
}

func (h *blackhole) addr() string { return h.ln.Addr().String() }

// cut kills the line: nothing is forwarded any more.
func (h *blackhole) cut() { h.cutOnce.Do(func() { close(h.dead) }) }

func (h *blackhole) pipe(dst, src net.Conn) {
	defer h.wg.Done()
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		select {
		case <-h.dead:
			return // drop it, and read no more
		default:
		}
		if n > 0 {
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// TestFaultSlowConsumerIsReset: a subscriber that stopped reading is cut
// off so that the kernel keeps nothing of what it left unread: ss shows
// no connection of the router's port with bytes queued to send, none in
// FIN-WAIT-1 (a plain close keeps megabytes there for as long as the
// peer's window stays shut), soon after the disconnection.
func TestFaultSlowConsumerIsReset(t *testing.T) {
	const topic = "com.fault.reset"
	tb := newTestbed(t, &edge.Config{QueueBytes: 256 << 10, SlowConsumerWait: -1})
	stalled := tb.joined(t, wires[1]) // TCP, and it never reads again
	stalled.subscribe(topic)
	pub := tb.client(t, wires[1])
	fill := make([]byte, 32<<10)
	for n := 0; tb.Stats().SlowConsumerKills == 0; n++ {
		if n == 4000 { // 128 MiB: far past the queue and the socket buffers
			t.Fatalf("the stalled subscriber is not disconnected: %+v", tb.Stats())
		}
		if err := pub.Publish(opCtx(t), topic, client.Args(n, fill), client.PublishOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	_, port, err := net.SplitHostPort(strings.TrimPrefix(tb.urls["tcp"], "tcp://"))
	if err != nil {
		t.Fatal(err)
	}
	var left []string
	for end := time.Now().Add(2 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if left = unsentOnPort(t, port); len(left) == 0 {
			break
		}
		if time.Now().After(end) {
			t.Fatalf("2 s after the disconnection the router's side still holds unsent bytes:\n%s", strings.Join(left, "\n"))
		}
	}
	if !stalled.drainUntilClosed(4000) {
		t.Fatal("the stalled subscriber is still connected")
	}
}

// unsentOnPort lists, as ss prints them, the TCP connections of local port
// port that hold bytes not yet sent or are in FIN-WAIT-1.
func unsentOnPort(t *testing.T, port string) []string {
	t.Helper()
	out, err := exec.Command("ss", "-tnH", "state", "connected", "sport", "=", ":"+port).CombinedOutput()
	if err != nil {
		t.Fatalf("ss (iproute2; make test installs it): %v\n%s", err, out)
	}
	var left []string
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Fields(line)
		if len(f) >= 3 && (f[0] == "FIN-WAIT-1" || f[2] != "0") {
			left = append(left, line)
		}
	}
	return left
}
