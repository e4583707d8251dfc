package serial_test

import (
	"bytes"
	"net"
	"strings"
	"testing"

	"github.com/wampedge/wampedge/edge/client"
)

// The events benchmarks: a Go client publishes over TCP (loopback) to a
// subscriber that counts the EVENT frames it reads, on the serial line
// (the pty's master: no baud rate, the kernel's speed) or, for
// comparison, on TCP. The subscriber is the same MCU code on both, so
// the difference is the transport: the serial listener's pump and line
// buffer against a TCP socket.
//
// The publisher keeps at most window events in flight (sent but not yet
// counted), so the router's queue for the subscriber never fills and
// the slow-consumer policy drops nothing: every event is counted.
func BenchmarkEventsSerial(b *testing.B) { benchEvents(b, "serial") }
func BenchmarkEventsTCP(b *testing.B)    { benchEvents(b, "tcp") }

const (
	benchWindow  = 256
	benchPayload = 40 // bytes of the event's one argument
)

func benchEvents(b *testing.B, transport string) {
	rg := newRig(b, rigConfig{})
	pub := rg.client(b)
	var uart port = rg.pty.master
	if transport == "tcp" {
		c, err := net.Dial("tcp", strings.TrimPrefix(rg.tcpURL, "tcp://"))
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { c.Close() })
		uart = c
	}
	m := newMCU(uart, nil, false)
	until := deadline(ioTimeout)
	if err := m.join(until); err != nil {
		b.Fatal(err)
	}
	sub, err := m.subscribe(until, "com.example.bench")
	if err != nil {
		b.Fatal(err)
	}
	payload := client.Args(bytes.Repeat([]byte{0xa5}, benchPayload))
	ctx := opCtx(b)

	// One event, to check the frame and measure it.
	if err := pub.Publish(ctx, "com.example.bench", payload, client.PublishOptions{}); err != nil {
		b.Fatal(err)
	}
	f, err := m.frame(until)
	var x wmsg
	if err != nil || !parse(f, &x) || x.typ != wEvent || x.a != sub {
		b.Fatalf("first event: % x, %v", f, err)
	}
	frameLen := 4 + len(f)

	window := make(chan struct{}, benchWindow)
	stop := make(chan struct{})
	counted := make(chan error, 1)
	b.Cleanup(func() { close(stop) })
	b.ReportAllocs()
	b.ResetTimer()
	go func() {
		for i := 0; i < b.N; i++ {
			f, err := m.frame(deadline(ioTimeout))
			if err != nil {
				counted <- err
				return
			}
			if len(f) < 2 || f[1] != wEvent {
				counted <- errUnexpected(f)
				return
			}
			select {
			case <-window:
			case <-stop:
				counted <- nil
				return
			}
		}
		counted <- nil
	}()
	for i := 0; i < b.N; i++ {
		select {
		case window <- struct{}{}:
		case err := <-counted: // the subscriber stopped early
			b.Fatalf("after %d events: %v", i, err)
		}
		if err := pub.Publish(ctx, "com.example.bench", payload, client.PublishOptions{}); err != nil {
			b.Fatal(err)
		}
	}
	if err := <-counted; err != nil {
		b.Fatal(err)
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
	b.ReportMetric(float64(frameLen), "B/frame")
	if st := rg.router.Stats(); st.DroppedEvents != 0 || st.SlowConsumerKills != 0 {
		b.Fatalf("router dropped %d events, killed %d slow consumers", st.DroppedEvents, st.SlowConsumerKills)
	}
	m.leave(deadline(ioTimeout))
}

type errUnexpected []byte

func (e errUnexpected) Error() string { return "not an EVENT frame" }
