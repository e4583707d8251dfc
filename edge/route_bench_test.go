package edge

import (
	"bytes"
	"fmt"
	"testing"
	"unicode/utf8"

	"github.com/tinylib/msgp/msgp"
	"github.com/wampedge/wampedge/codec"
)

// The routing benchmarks drive sessions in memory (no sockets), so they
// measure the router's own work per message: decode, match, encode,
// queue. BenchmarkEventsLoopback and BenchmarkCallsLoopback add the
// kernel.

// subscribeWith subscribes p to topic with a match policy.
func subscribeWith(t testing.TB, p *testPeer, req uint64, topic, match string) {
	var opts []byte
	if match != "" {
		opts = msgp.AppendString(msgp.AppendString(msgp.AppendMapHeader(nil, 1), "match"), match)
	}
	p.send(t, &codec.Subscribe{Request: req, Options: opts, Topic: []byte(topic)})
	if _, ok := p.next(t).(*codec.Subscribed); !ok {
		t.Fatalf("subscribe %q (%s) refused", topic, match)
	}
}

func registerWith(t testing.TB, p *testPeer, req uint64, procedure, match string) {
	var opts []byte
	if match != "" {
		opts = msgp.AppendString(msgp.AppendString(msgp.AppendMapHeader(nil, 1), "match"), match)
	}
	p.send(t, &codec.Register{Request: req, Options: opts, Procedure: []byte(procedure)})
	if _, ok := p.next(t).(*codec.Registered); !ok {
		t.Fatalf("register %q (%s) refused", procedure, match)
	}
}

// addPatterns makes n prefix and wildcard subscriptions and registrations
// that do not match com.example.*: the tables a real site has.
func addPatterns(t testing.TB, p *testPeer, n int) {
	for i := range n {
		match, uri := matchPrefix, fmt.Sprintf("org.site%d.dev", i)
		if i%2 == 1 {
			match, uri = matchWildcard, fmt.Sprintf("org.site%d..temp", i)
		}
		subscribeWith(t, p, uint64(2*i+100), uri, match)
		registerWith(t, p, uint64(2*i+101), uri, match)
	}
}

// BenchmarkRouteEvent publishes to one topic again and again, the common
// case, which a publisher's last-topic cache serves; the -2-topics cases
// alternate between two topics that the pattern matches, so that each
// event is looked up among the patterns.
func BenchmarkRouteEvent(b *testing.B) {
	for _, tc := range []struct {
		name, topic, match string
		patterns           int
		publishTo          []string
	}{
		{"exact", "com.example.temp", "", 0, nil},
		{"exact-among-1000-patterns", "com.example.temp", "", 1000, nil},
		{"prefix-among-1000-patterns", "com.example", matchPrefix, 1000, nil},
		{"wildcard-among-1000-patterns", "com..temp", matchWildcard, 1000, nil},
		{"prefix-among-1000-patterns-2-topics", "com.example", matchPrefix, 1000, []string{"com.example.temp", "com.example.hum"}},
		{"wildcard-among-1000-patterns-2-topics", "com..temp", matchWildcard, 1000, []string{"com.example.temp", "com.other.temp"}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			r := New(nil)
			pub, sub, other := joinPeer(b, r, codec.MsgPack), joinPeer(b, r, codec.MsgPack), joinPeer(b, r, codec.MsgPack)
			addPatterns(b, other, tc.patterns)
			subscribeWith(b, sub, 1, tc.topic, tc.match)
			topics := tc.publishTo
			if topics == nil {
				topics = []string{"com.example.temp"}
			}
			var frames [][]byte
			for _, topic := range topics {
				frames = append(frames, (&codec.Publish{Request: 2, Topic: []byte(topic), Args: testArgs}).Append(nil))
			}
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				pub.s.handle(frames[i%len(frames)])
				pub.s.endBurst()
				sub.s.q.take(&sub.b)
				i++
			}
			if len(sub.b.msgs) != 1 {
				b.Fatalf("%d events for the last publication, want 1", len(sub.b.msgs))
			}
		})
	}
}

func BenchmarkRouteCall(b *testing.B) {
	for _, tc := range []struct {
		name, procedure, match string
		patterns               int
	}{
		{"exact", "com.example.add", "", 0},
		{"exact-among-1000-patterns", "com.example.add", "", 1000},
		{"prefix-among-1000-patterns", "com.example", matchPrefix, 1000},
		{"wildcard-among-1000-patterns", "com..add", matchWildcard, 1000},
	} {
		b.Run(tc.name, func(b *testing.B) {
			r := New(nil)
			caller, callee, other := joinPeer(b, r, codec.MsgPack), joinPeer(b, r, codec.MsgPack), joinPeer(b, r, codec.MsgPack)
			addPatterns(b, other, tc.patterns)
			registerWith(b, callee, 1, tc.procedure, tc.match)
			var call []byte
			var inv codec.Invocation
			var yield []byte
			req := uint64(7)
			b.ReportAllocs()
			for b.Loop() {
				req++ // as clients number their requests
				call = (&codec.Call{Request: req, Procedure: []byte("com.example.add"), Args: testArgs}).Append(call[:0])
				caller.s.handle(call)
				caller.s.endBurst()
				callee.s.q.take(&callee.b)
				inv.Decode(callee.b.msgs[0])
				yield = (&codec.Yield{Request: inv.Request, Args: inv.Args}).Append(yield[:0])
				callee.s.handle(yield)
				callee.s.endBurst()
				caller.s.q.take(&caller.b)
			}
		})
	}
}

// BenchmarkRouteEventBurst is the full-rate stream's shape: the reader
// routes a whole read's worth of PUBLISHes (about a thousand of the
// bench's 60-byte frames in 64 KiB), then flushes once, and the
// subscriber's queue is taken once. Reported per event.
func BenchmarkRouteEventBurst(b *testing.B) {
	const burst = 1000
	r := New(nil)
	pub, sub := joinPeer(b, r, codec.MsgPack), joinPeer(b, r, codec.MsgPack)
	subscribeWith(b, sub, 1, "bench.topic", "")
	payload40 := append([]byte{0x91, 0xd9, 38}, "0123456789abcdefghijklmnopqrstuvwxyzAB"...)
	frame := (&codec.Publish{Request: 1, Topic: []byte("bench.topic"), Args: payload40}).Append(nil)
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		pub.s.handle(frame)
		if n++; n == burst {
			pub.s.endBurst()
			sub.s.q.take(&sub.b)
			n = 0
		}
	}
	pub.s.endBurst()
	sub.s.q.take(&sub.b)
}

// BenchmarkRouteEventSize routes one event of a 40-byte and of a 4 KiB
// payload, its strings as a sensor's text would be, and a 4 KiB payload
// of one ASCII str and of one bin: every str in a payload is checked for
// UTF-8 on the walk that checks its shape, and this is what that walk
// costs as the payload grows.
func BenchmarkRouteEventSize(b *testing.B) {
	for _, tc := range []struct {
		name string
		args []byte
	}{
		{"40B", payloadOfStrings(40)},
		{"40B-ascii", append([]byte{0x91, 0xd9, 38}, "0123456789abcdefghijklmnopqrstuvwxyzAB"...)}, // the harness's
		{"4KiB", payloadOfStrings(4096)},
		{"4KiB-one-ascii-str", append([]byte{0x91, 0xda, 0x0f, 0xfc}, bytes.Repeat([]byte("0123456789abcdef"), 256)[:4092]...)},
		{"4KiB-bin", append([]byte{0x91, 0xc5, 0x0f, 0xfc}, make([]byte, 4092)...)},
	} {
		b.Run(tc.name, func(b *testing.B) {
			r := New(nil)
			pub, sub := joinPeer(b, r, codec.MsgPack), joinPeer(b, r, codec.MsgPack)
			subscribeWith(b, sub, 1, "com.example.temp", "")
			frame := (&codec.Publish{Request: 2, Topic: []byte("com.example.temp"), Args: tc.args}).Append(nil)
			b.ReportAllocs()
			b.SetBytes(int64(len(tc.args)))
			for b.Loop() {
				pub.s.handle(frame)
				pub.s.endBurst()
				sub.s.q.take(&sub.b)
			}
			if len(sub.b.msgs) != 1 {
				b.Fatalf("%d events for the last publication, want 1", len(sub.b.msgs))
			}
		})
	}
}

// payloadOfStrings is an Arguments list of about size bytes: strs of up
// to 60 bytes, one in eight with a two-byte character, and a number
// after each.
func payloadOfStrings(size int) []byte {
	const text = "room kitchen, sensor t1, 21.5 °C, humidity 40 %, battery ok "
	var items [][]byte
	total := 3 // the list's header
	for total < size {
		n := min(len(text), size-total-3)
		if n < 1 {
			break
		}
		s := []byte(text[:n])
		if !utf8.Valid(s) {
			s[n-1] = 'x' // the cut fell inside °
			if !utf8.Valid(s) {
				s[n-2] = 'x'
			}
		}
		items = append(items, msgp.AppendFloat64(msgp.AppendStringFromBytes(nil, s), 21.5))
		total += len(items[len(items)-1])
	}
	out := msgp.AppendArrayHeader(nil, uint32(2*len(items)))
	for _, it := range items {
		out = append(out, it...)
	}
	return out
}
