package loadgen_test

import (
	"context"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/wampedge/wampedge/codec"
	"github.com/wampedge/wampedge/rawsocket"
	"github.com/wampedge/wampedge/test/bench/loadgen"
	"github.com/wampedge/wampedge/test/bench/relay"
)

// Durations are kept short; no test asserts on a speed.
const (
	streamFor = 100 * time.Millisecond
	settle    = 200 * time.Millisecond
	drainMax  = 5 * time.Second
)

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return c
}

func startRelay(t *testing.T) string {
	s, err := relay.Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go s.Serve()
	t.Cleanup(func() { s.Close() })
	return s.Addr()
}

func subscribers(t *testing.T, addr string, n int) *loadgen.Group {
	var conns []*loadgen.Conn
	for range n {
		c, err := loadgen.DialWAMP(ctx(t), addr)
		if err != nil {
			t.Fatal(err)
		}
		if err := c.SubscribeWAMP(ctx(t), "bench.topic"); err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
	}
	g := loadgen.NewGroup(conns)
	t.Cleanup(g.Close)
	return g
}

func publisher(t *testing.T, addr string) *loadgen.Conn {
	c, err := loadgen.DialWAMP(ctx(t), addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

var publish = loadgen.AppendWAMP(nil, &codec.Publish{Request: 1, Topic: []byte("bench.topic"), Args: loadgen.Payload40})

// TestStreamCountsEveryEvent: through the relay, which loses nothing,
// every publish arrives at every subscriber, at full rate and windowed.
func TestStreamCountsEveryEvent(t *testing.T) {
	addr := startRelay(t)
	for _, window := range []int{0, 32} {
		g := subscribers(t, addr, 3)
		res, err := loadgen.Stream(publisher(t, addr), g, loadgen.StreamConfig{Frame: publish, Duration: streamFor, Window: window, Settle: settle, DrainMax: drainMax})
		if err != nil {
			t.Fatal(err)
		}
		if res.Sent == 0 || res.Delivered != 3*res.Sent || res.Lost() != 0 || res.Stalled || res.DrainCut || res.Disconnected != 0 {
			t.Errorf("window %d: %+v, lost %v; want every event delivered 3 times", window, res, res.Lost())
		}
		if res.Rate() <= 0 {
			t.Errorf("window %d: rate %v", window, res.Rate())
		}
		g.Close()
	}
}

// TestStreamReportsLoss: a router that drops every second event shows
// half the events lost; windowed, the publisher stalls and says so.
func TestStreamReportsLoss(t *testing.T) {
	addr := startHalfDropper(t)
	g := subscribers(t, addr, 1)
	res, err := loadgen.Stream(publisher(t, addr), g, loadgen.StreamConfig{Frame: publish, Duration: streamFor, Settle: settle, DrainMax: drainMax})
	if err != nil {
		t.Fatal(err)
	}
	if res.Sent == 0 || res.Delivered != res.Sent/2 || res.Lost() != 0.5 {
		t.Errorf("full rate: %+v, lost %v; want half lost", res, res.Lost())
	}
	g.Close()

	g = subscribers(t, addr, 1)
	res, err = loadgen.Stream(publisher(t, addr), g, loadgen.StreamConfig{Frame: publish, Duration: 10 * time.Second, Window: 32, Settle: settle, DrainMax: drainMax})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Stalled || res.Lost() <= 0 || res.Sent > 64 {
		t.Errorf("windowed: %+v, lost %v; want a stall with at most 32 in flight", res, res.Lost())
	}
}

// TestCalls: sequential and pipelined calls through the relay's 2 hops.
func TestCalls(t *testing.T) {
	addr := startRelay(t)
	callee := publisher(t, addr)
	if err := callee.RegisterWAMP(ctx(t), loadgen.Procedure); err != nil {
		t.Fatal(err)
	}
	done := loadgen.Answer(callee, loadgen.Payload40)
	caller := publisher(t, addr)
	rtts, err := loadgen.CallSequential(caller, loadgen.Payload40, time.Minute, 100)
	if err != nil || len(rtts) != 100 {
		t.Fatalf("sequential: %d round trips, %v", len(rtts), err)
	}
	n, elapsed, err := loadgen.CallPipelined(caller, loadgen.Payload40, 16, streamFor)
	if err != nil || n < 16 || elapsed <= 0 {
		t.Fatalf("pipelined: %d calls in %v, %v", n, elapsed, err)
	}
	callee.Close()
	if err := <-done; err == nil {
		t.Error("callee stopped without an error after its connection closed")
	}
}

func TestMQTTPublishPacket(t *testing.T) {
	got := loadgen.AppendMQTTPublish(nil, "a/b", []byte("hi"))
	want := []byte{0x30, 7, 0, 3, 'a', '/', 'b', 'h', 'i'}
	if string(got) != string(want) {
		t.Errorf("PUBLISH % x, want % x", got, want)
	}
	long := loadgen.AppendMQTTPublish(nil, "t", make([]byte, 200)) // remaining length 203: two bytes
	if long[1] != 0xcb || long[2] != 0x01 || len(long) != 3+203 {
		t.Errorf("remaining length % x", long[:3])
	}
}

// startHalfDropper is a router that forwards every second PUBLISH it
// gets, as the EVENT-less frame itself, to its subscribers.
func startHalfDropper(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var subs []*rawsocket.Conn
	var wg sync.WaitGroup
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for _, s := range subs {
			s.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	serve := func(nc net.Conn) {
		defer wg.Done()
		defer nc.Close()
		c, err := rawsocket.Accept(nc, rawsocket.Config{})
		if err != nil {
			return
		}
		for n := 0; ; {
			msg, err := c.ReadMsg()
			if err != nil {
				return
			}
			typ, _ := codec.TypeOf(msg)
			switch typ {
			case codec.TypeHello:
				c.WriteMsg((&codec.Welcome{Session: 1}).Append(nil))
			case codec.TypeSubscribe:
				mu.Lock()
				subs = append(subs, c)
				mu.Unlock()
				c.WriteMsg((&codec.Subscribed{Request: 1, Subscription: 1}).Append(nil))
			case codec.TypePublish:
				if n++; n%2 == 0 {
					mu.Lock()
					for _, s := range subs {
						s.WriteMsg(msg)
					}
					mu.Unlock()
				}
			}
		}
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			nc, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go serve(nc)
		}
	}()
	return ln.Addr().String()
}
