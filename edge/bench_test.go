package edge_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wampedge/wampedge/codec"
	"github.com/wampedge/wampedge/edge"
	"github.com/wampedge/wampedge/rawsocket"
)

// benchPeer is a raw RawSocket peer for benchmarks: pre-encoded frames,
// no client library, so that the router is what is measured.
type benchPeer struct{ *rawsocket.Conn }

func benchJoin(b *testing.B, url string) benchPeer {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := rawsocket.Dial(ctx, url, codec.MsgPack, rawsocket.DialConfig{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { c.Close() })
	d, _ := (&codec.HelloDetails{Roles: map[string]codec.Role{"publisher": {}, "subscriber": {}, "caller": {}, "callee": {}}}).MarshalMsg(nil)
	p := benchPeer{c}
	p.send(b, &codec.Hello{Realm: []byte("realm1"), Details: d})
	p.expect(b, codec.TypeWelcome)
	return p
}

func (p benchPeer) send(b *testing.B, m codec.Message) {
	if err := p.WriteMsg(m.Append(nil)); err != nil {
		b.Fatal(err)
	}
}

func (p benchPeer) expect(b *testing.B, t codec.Type) []byte {
	msg, err := p.ReadMsg()
	if err != nil {
		b.Fatal(err)
	}
	if got, _ := codec.TypeOf(msg); got != t {
		b.Fatalf("got %v, want %v", got, t)
	}
	return msg
}

func benchRouter(b *testing.B) string {
	r := edge.New(&edge.Config{QueueBytes: 4 << 20})
	l, err := r.Listen("tcp://127.0.0.1:0", rawsocket.ListenConfig{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { r.Close(context.Background()) })
	return l.Endpoint().String()
}

// BenchmarkEventsLoopback publishes b.N events with a 40-byte payload to
// each of subs subscribers over TCP loopback. The publisher keeps at most
// a window of events ahead of the slowest subscriber, so nothing is
// dropped; events/s counts deliveries.
func BenchmarkEventsLoopback(b *testing.B) {
	for _, subs := range []int{1, 10} {
		b.Run(fmt.Sprintf("subs=%d", subs), func(b *testing.B) {
			url := benchRouter(b)
			args := append([]byte{0x91, 0xd9, 38}, make([]byte, 38)...) // ["...38 bytes..."]: 40 bytes
			var received []atomic.Int64 = make([]atomic.Int64, subs)
			var wg sync.WaitGroup
			for i := range subs {
				p := benchJoin(b, url)
				p.send(b, &codec.Subscribe{Request: 1, Topic: []byte("bench.topic")})
				p.expect(b, codec.TypeSubscribed)
				wg.Add(1)
				go func() {
					defer wg.Done()
					for received[i].Load() < int64(b.N) {
						if _, err := p.ReadMsg(); err != nil {
							return
						}
						received[i].Add(1)
					}
				}()
			}
			pub := benchJoin(b, url)
			frame := (&codec.Publish{Request: 1, Topic: []byte("bench.topic"), Args: args}).Append(nil)
			batch := make([][]byte, 64)
			for i := range batch {
				batch[i] = frame
			}
			const window = 8192
			slowest := func() int64 {
				m := received[0].Load()
				for i := range received {
					m = min(m, received[i].Load())
				}
				return m
			}
			b.SetBytes(int64(len(args)))
			b.ReportAllocs()
			b.ResetTimer()
			start := time.Now()
			for sent := 0; sent < b.N; {
				n := min(len(batch), b.N-sent)
				for int64(sent)-slowest() > window {
					time.Sleep(20 * time.Microsecond)
				}
				if err := pub.WriteMsgs(batch[:n]); err != nil {
					b.Fatal(err)
				}
				sent += n
			}
			wg.Wait()
			elapsed := time.Since(start)
			b.StopTimer()
			if got := slowest(); got < int64(b.N) {
				b.Fatalf("a subscriber got %d of %d events", got, b.N)
			}
			b.ReportMetric(float64(b.N*subs)/elapsed.Seconds(), "events/s")
		})
	}
}

// BenchmarkCallsLoopback makes b.N calls through the router over TCP
// loopback with 16 outstanding, to a callee that yields its arguments.
func BenchmarkCallsLoopback(b *testing.B) {
	url := benchRouter(b)
	callee := benchJoin(b, url)
	callee.send(b, &codec.Register{Request: 1, Procedure: []byte("bench.echo")})
	callee.expect(b, codec.TypeRegistered)
	go func() { // echo every INVOCATION, one write per burst
		var inv codec.Invocation
		var out [][]byte
		var buf []byte
		for {
			msg, err := callee.ReadMsg()
			if err != nil {
				return
			}
			if inv.Decode(msg) != nil {
				continue
			}
			start := len(buf)
			buf = (&codec.Yield{Request: inv.Request, Args: inv.Args}).Append(buf)
			out = append(out, buf[start:])
			if !callee.Buffered() {
				if callee.WriteMsgs(out) != nil {
					return
				}
				out, buf = out[:0], buf[:0]
			}
		}
	}()
	caller := benchJoin(b, url)
	args := []byte{0x92, 0x01, 0x02}
	var call []byte
	sendCall := func(req uint64) {
		call = (&codec.Call{Request: req, Procedure: []byte("bench.echo"), Args: args}).Append(call[:0])
		if err := caller.WriteMsg(call); err != nil {
			b.Fatal(err)
		}
	}
	const outstanding = 16
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	next := uint64(1)
	for ; next <= uint64(min(outstanding, b.N)); next++ {
		sendCall(next)
	}
	for done := 0; done < b.N; done++ {
		caller.expect(b, codec.TypeResult)
		if next <= uint64(b.N) {
			sendCall(next)
			next++
		}
	}
	elapsed := time.Since(start)
	b.StopTimer()
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "calls/s")
}
