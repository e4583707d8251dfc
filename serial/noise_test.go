package serial_test

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wampedge/wampedge/edge/client"
	"github.com/wampedge/wampedge/serial"
)

// noisyLine sits between the MCU's writes and the pty master, and
// damages bytes at a set rate, from a seeded generator: each byte, with
// probability rate, is corrupted (replaced by another value), dropped,
// or preceded by a garbage byte. It damages nothing while off.
//
// keepDelimiters spares COBS delimiters: 0x00 bytes pass untouched and
// no damage makes one. Then a damaged packet is always exactly one
// packet the router drops, which makes the books balance exactly (a
// lost 0x00 would merge two packets into one drop, a new 0x00 split one
// into two; TestLineCOBS covers those).
type noisyLine struct {
	w              io.Writer
	rng            *rand.Rand
	rate           float64
	keepDelimiters bool
	on             bool
	cutNext        bool // drop the last byte of the next write, whatever the rate

	buf                         [1024]byte
	corrupted, dropped, garbage int
	damaged                     bool // the last write was damaged
	damagedWrites               int  // writes (handshakes, frames) damaged
}

func (n *noisyLine) Write(p []byte) (int, error) {
	out := n.buf[:0]
	n.damaged = false
	for _, c := range p {
		if !n.on || n.rng.Float64() >= n.rate || (n.keepDelimiters && c == 0) {
			out = append(out, c)
			continue
		}
		n.damaged = true
		switch n.rng.IntN(3) {
		case 0:
			n.corrupted++
			if n.keepDelimiters { // another value in 1..255
				v := byte(1 + n.rng.IntN(254))
				if v >= c {
					v++
				}
				out = append(out, v)
			} else {
				out = append(out, c^byte(1+n.rng.IntN(255)))
			}
		case 1:
			n.dropped++
		case 2:
			n.garbage++
			g := byte(n.rng.IntN(256))
			if n.keepDelimiters {
				g = byte(1 + n.rng.IntN(255))
			}
			out = append(out, g, c)
		}
	}
	if n.cutNext && len(out) > 0 {
		out = out[:len(out)-1]
		n.cutNext, n.damaged = false, true
		n.dropped++
	}
	if n.damaged {
		n.damagedWrites++
	}
	if len(out) > len(n.buf) {
		panic("noisyLine: write larger than its buffer")
	}
	if _, err := n.w.Write(out); err != nil {
		return 0, err
	}
	return len(p), nil
}

// noiseRow is one line of the table the noise tests log.
type noiseRow struct {
	framing             serial.Framing
	rate                float64
	sent, delivered     int // plain: calls; cobs: events
	frames              int // frames the MCU wrote
	damaged             int // frames (and handshakes) the noise touched
	dropped             uint64
	resyncs, sessions   uint64
	handshakes, discard uint64
}

var noiseTable struct {
	sync.Mutex
	rows []noiseRow
}

func logRow(t *testing.T, r noiseRow) {
	t.Logf("%-6s rate %.3f/byte: %d frames sent (%d damaged), %d of %d delivered, %d packets dropped, %d resyncs, %d sessions, %d handshakes, %d bytes discarded",
		r.framing, r.rate, r.frames, r.damaged, r.delivered, r.sent, r.dropped, r.resyncs, r.sessions, r.handshakes, r.discard)
	noiseTable.Lock()
	noiseTable.rows = append(noiseTable.rows, r)
	noiseTable.Unlock()
}

// TestNoise runs the MCU over a noisy line, plain and with COBS, and
// logs the counts as a table.
func TestNoise(t *testing.T) {
	noiseTable.Lock()
	noiseTable.rows = nil
	noiseTable.Unlock()
	// Each case has its own pty and router: they run side by side (the
	// plain ones spend most of their time waiting out timeouts).
	t.Run("line", func(t *testing.T) {
		for _, rate := range []float64{0.002, 0.006} {
			t.Run(fmt.Sprintf("plain/%g", rate), func(t *testing.T) {
				t.Parallel()
				testNoisePlain(t, rate)
			})
		}
		for _, rate := range []float64{0.002, 0.01, 0.03} {
			t.Run(fmt.Sprintf("cobs/%g", rate), func(t *testing.T) {
				t.Parallel()
				testNoiseCOBS(t, rate)
			})
		}
	})
	var b strings.Builder
	b.WriteString("\n| framing | rate/byte | frames sent | damaged | sent | delivered | dropped packets | resyncs | sessions |\n")
	b.WriteString("| --- | --- | --- | --- | --- | --- | --- | --- | --- |\n")
	noiseTable.Lock()
	slices.SortFunc(noiseTable.rows, func(a, b noiseRow) int {
		if c := strings.Compare(string(b.framing), string(a.framing)); c != 0 {
			return c // plain first
		}
		return cmp.Compare(a.rate, b.rate)
	})
	for _, r := range noiseTable.rows {
		fmt.Fprintf(&b, "| %s | %.3f | %d | %d | %d | %d | %d | %d | %d |\n",
			r.framing, r.rate, r.frames, r.damaged, r.sent, r.delivered, r.dropped, r.resyncs, r.sessions)
	}
	noiseTable.Unlock()
	t.Log(b.String())
}

// testNoisePlain: with plain framing a damaged frame costs the session.
// The MCU notices (no reply in time, an ABORT), keeps quiet for longer
// than the listener's frame timeout, and handshakes again; it completes
// its calls in the end. Afterwards nothing of the dead sessions is left
// in the realm.
func testNoisePlain(t *testing.T, rate float64) {
	const (
		frameTimeout = 200 * time.Millisecond
		replyTimeout = 250 * time.Millisecond // no answer by then: the session is gone
		pause        = frameTimeout + 50*time.Millisecond
		calls        = 20
	)
	rg := newRig(t, rigConfig{framing: serial.Plain, frameTimeout: frameTimeout})
	tcp := rg.client(t)
	if _, err := tcp.Register(opCtx(t), "com.example.tcp.echo", func(_ context.Context, inv *client.Invocation) (client.Payload, error) {
		return inv.Payload, nil
	}); err != nil {
		t.Fatal(err)
	}
	line := &noisyLine{w: rg.pty.master, rng: rand.New(rand.NewPCG(noiseSeed, uint64(rate*1e6))), rate: rate}
	m := rg.mcu(line, false)

	done, lost, garbled := 0, 0, 0
	joined, cut := false, false
	guard := deadline(40 * time.Second)
	for attempt := 0; done < calls; attempt++ {
		if attempt > 500 || time.Now().After(guard) {
			t.Fatalf("%d calls done of %d after %d attempts, %d sessions lost", done, calls, attempt, lost)
		}
		line.on = true
		if !joined {
			if lost > 0 {
				m.quiet(pause)
			}
			err := m.join(deadline(replyTimeout))
			if err == nil {
				_, err = m.register(deadline(replyTimeout), "com.example.mcu.proc")
			}
			if err == nil {
				_, err = m.subscribe(deadline(replyTimeout), "com.example.mcu.topic")
			}
			if err != nil {
				lost++
				continue
			}
			joined = true
		}
		if !cut { // one CALL loses its last byte, whatever the seed: the
			// router holds an incomplete frame until its frame timeout
			line.cutNext, cut = true, true
		}
		n := uint64(1000 + done)
		got, err := m.call(deadline(replyTimeout), "com.example.tcp.echo", n)
		var we *wampError
		switch {
		case errors.As(err, &we): // the CALL arrived damaged but whole: retry
			garbled++
		case err != nil:
			joined = false
			lost++
		case got != int64(n): // a damaged argument, echoed
			garbled++
		default:
			done++
		}
	}
	line.on = false
	c := rg.sl.Counts()
	row := noiseRow{
		framing: serial.Plain, rate: rate, sent: calls, delivered: done, frames: m.framesSent,
		damaged: line.damagedWrites, dropped: c.DroppedPackets.Load(),
		resyncs: c.Resyncs.Load(), sessions: c.Sessions.Load(), handshakes: uint64(m.handshakes), discard: c.Discarded.Load(),
	}
	logRow(t, row)
	t.Logf("%d sessions lost, %d calls garbled (%d bytes corrupted, %d dropped, %d garbage inserted)", lost, garbled, line.corrupted, line.dropped, line.garbage)
	if lost == 0 {
		t.Errorf("the noise cost no session: rate %g too low for this test", rate)
	}
	if c.Sessions.Load() < 2 {
		t.Errorf("listener served %d sessions; the MCU had to handshake again", c.Sessions.Load())
	}

	// Only the live session holds the MCU's procedure and topic; when it
	// ends, nothing of the MCU is left.
	waitFor(t, "the TCP client and the MCU's live session", func() bool { return rg.router.Stats().Sessions == 2 })
	noop := func(context.Context, *client.Invocation) (client.Payload, error) { return client.Payload{}, nil }
	_, err := tcp.Register(opCtx(t), "com.example.mcu.proc", noop)
	if we := (*client.Error)(nil); !errors.As(err, &we) || we.URI != "wamp.error.procedure_already_exists" {
		t.Fatalf("TCP client registering the live MCU's procedure: %v, want procedure_already_exists", err)
	}
	dropped := rg.router.Stats().DroppedEvents
	if err := tcp.Publish(opCtx(t), "com.example.mcu.topic", client.Args("ping"), client.PublishOptions{Acknowledge: true}); err != nil {
		t.Fatal(err)
	}
	events := m.events
	if err := m.serve(deadline(ioTimeout), func() bool { return m.events > events }); err != nil {
		t.Fatalf("MCU waiting for the event: %v", err)
	}
	if err := m.leave(deadline(ioTimeout)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the MCU's sessions to be gone", func() bool { return rg.router.Stats().Sessions == 1 })
	if _, err := tcp.Register(opCtx(t), "com.example.mcu.proc", noop); err != nil {
		t.Errorf("TCP client registering the MCU's procedure after it left: %v", err)
	}
	// A subscriber left behind by a dead session would make this event
	// undeliverable (counted as dropped).
	if err := tcp.Publish(opCtx(t), "com.example.mcu.topic", client.Args("anyone?"), client.PublishOptions{Acknowledge: true}); err != nil {
		t.Fatal(err)
	}
	if d := rg.router.Stats().DroppedEvents; d != dropped {
		t.Errorf("%d events dropped: sent to sessions that are gone", d-dropped)
	}
	if m.events != events+1 {
		t.Errorf("MCU got %d events, want %d", m.events-events, 1)
	}
}

// testNoiseCOBS: with COBS framing the session survives the noise: each
// damaged frame is dropped alone (its packet fails the CRC), everything
// else arrives, and no new handshake is needed.
func testNoiseCOBS(t *testing.T, rate float64) {
	const events = 300
	rg := newRig(t, rigConfig{framing: serial.COBS, frameTimeout: 200 * time.Millisecond})
	tcp := rg.client(t)
	type got struct {
		n   int64
		err string
	}
	arrived := make(chan got, events+1)
	if _, err := tcp.Subscribe(opCtx(t), "com.example.mcu.noise", func(e *client.Event) {
		n, ok := int64(-1), false
		if len(e.Args) == 1 {
			n, ok = asInt(e.Args[0])
		}
		if !ok {
			arrived <- got{err: fmt.Sprintf("event with arguments %v", e.Args)}
			return
		}
		arrived <- got{n: n}
	}); err != nil {
		t.Fatal(err)
	}
	line := &noisyLine{w: rg.pty.master, rng: rand.New(rand.NewPCG(noiseSeed, uint64(rate*1e6))), rate: rate, keepDelimiters: true}
	m := rg.mcu(line, true)
	if err := m.join(deadline(ioTimeout)); err != nil {
		t.Fatal(err)
	}

	line.on = true
	damaged := make(map[int64]bool)
	for i := range int64(events) {
		if err := m.sendPublish(m.nextReq(), "com.example.mcu.noise", uint64(i), false); err != nil {
			t.Fatal(err)
		}
		if line.damaged {
			damaged[i] = true
		}
	}
	line.on = false
	// The last one, on a clean line, acknowledged: all before it are routed.
	if err := m.publishAck(deadline(ioTimeout), "com.example.mcu.noise", events); err != nil {
		t.Fatalf("the session did not survive the noise: %v", err)
	}
	delivered := 0
	for range events + 1 {
		var g got
		select {
		case g = <-arrived:
		case <-time.After(ioTimeout):
			t.Fatalf("events stopped arriving after %d", delivered)
		}
		if g.err != "" {
			t.Fatal(g.err)
		}
		if g.n == events {
			break
		}
		if g.n < 0 || g.n > events || damaged[g.n] {
			t.Errorf("event %d arrived, but it was damaged on the line", g.n)
		}
		delivered++
	}
	c := rg.sl.Counts()
	row := noiseRow{
		framing: serial.COBS, rate: rate, sent: events, delivered: delivered, frames: m.framesSent, damaged: len(damaged),
		dropped: c.DroppedPackets.Load(), resyncs: c.Resyncs.Load(), sessions: c.Sessions.Load(),
		handshakes: uint64(m.handshakes), discard: c.Discarded.Load(),
	}
	logRow(t, row)
	if c.Sessions.Load() != 1 || c.Resyncs.Load() != 0 || m.handshakes != 1 {
		t.Errorf("%d sessions, %d resyncs, %d handshakes: the session should have survived", c.Sessions.Load(), c.Resyncs.Load(), m.handshakes)
	}
	if len(damaged) == 0 || c.DroppedPackets.Load() == 0 {
		t.Errorf("the noise damaged %d frames, the router dropped %d packets: rate %g too low for this test", len(damaged), c.DroppedPackets.Load(), rate)
	}
	if delivered != events-len(damaged) {
		t.Errorf("%d events delivered, want the %d of %d the noise did not touch", delivered, events-len(damaged), events)
	}
	if uint64(delivered)+c.DroppedPackets.Load() != events {
		t.Errorf("%d delivered + %d packets dropped != %d sent", delivered, c.DroppedPackets.Load(), events)
	}
	if err := m.leave(deadline(ioTimeout)); err != nil {
		t.Fatal(err)
	}
}

// noiseSeed seeds the noise: the same damage at every run.
var noiseSeed = uint64(5)
