package edge

import (
	"fmt"
	"testing"
	"time"

	"github.com/wampedge/wampedge/codec"
)

// The reader stages events until its burst ends; these tests drive
// bursts in memory: handle each message, then endBurst, as readLoop does.

// What one reader sends one peer in a burst keeps its order: events
// staged for the subscriber do not pass the INVOCATION routed between
// them, nor come after the PUBLISHED that acknowledges them.
func TestBurstKeepsOrder(t *testing.T) {
	r := New(nil)
	pub, peer := joinPeer(t, r, codec.MsgPack), joinPeer(t, r, codec.MsgPack)
	peer.send(t, &codec.Subscribe{Request: 1, Topic: []byte("com.example.temp")})
	peer.next(t)
	peer.send(t, &codec.Register{Request: 2, Procedure: []byte("com.example.add")})
	peer.next(t)
	pub.send(t, &codec.Subscribe{Request: 1, Topic: []byte("com.example.temp")})
	pub.next(t)

	ack := dict(t, map[string]any{"acknowledge": true, "exclude_me": false})
	for _, m := range []codec.Message{
		&codec.Publish{Request: 10, Topic: []byte("com.example.temp"), Args: testArgs},
		&codec.Call{Request: 11, Procedure: []byte("com.example.add"), Args: testArgs},
		&codec.Publish{Request: 12, Topic: []byte("com.example.temp"), Args: testArgs},
		&codec.Publish{Request: 13, Options: ack, Topic: []byte("com.example.temp"), Args: testArgs},
	} {
		if !pub.s.handle(m.Append(nil)) {
			t.Fatalf("%v ended the session", m.Type())
		}
	}
	pub.s.endBurst()

	if got, want := types(peer.drain(t)), "EVENT INVOCATION EVENT EVENT"; got != want {
		t.Errorf("the subscriber got %s, want %s", got, want)
	}
	if got, want := types(pub.drain(t)), "EVENT PUBLISHED"; got != want {
		t.Errorf("the publisher, subscribed itself, got %s, want %s", got, want)
	}
}

// A fan-out wider than the runs a burst keeps commits and starts over:
// every subscriber still gets every event, in order.
func TestBurstFanOutBeyondRuns(t *testing.T) {
	r := New(nil)
	pub := joinPeer(t, r, codec.MsgPack)
	var subs []*testPeer
	for range 2*maxRuns + 3 {
		p := joinPeer(t, r, codec.MsgPack)
		p.send(t, &codec.Subscribe{Request: 1, Topic: []byte("com.example.temp")})
		p.next(t)
		subs = append(subs, p)
	}
	const events = 5
	for i := range events {
		args := fmt.Appendf(nil, "\x91%c", byte(i)) // [i]
		pub.s.handle((&codec.Publish{Request: uint64(10 + i), Topic: []byte("com.example.temp"), Args: args}).Append(nil))
	}
	pub.s.endBurst()
	for n, p := range subs {
		got := p.drain(t)
		if len(got) != events {
			t.Fatalf("subscriber %d got %d messages, want %d events", n, len(got), events)
		}
		for i, m := range got {
			ev, ok := m.(*codec.Event)
			if !ok || len(ev.Args) != 2 || ev.Args[1] != byte(i) {
				t.Fatalf("subscriber %d, message %d: %+v, want event %d", n, i, m, i)
			}
		}
	}
}

// Events that do not fit the subscriber's queue meet the slow-consumer
// policy one by one when the burst ends: with drop, the queue takes what
// fits and the rest is counted as dropped.
func TestBurstOverflowDrops(t *testing.T) {
	r := New(&Config{QueueBytes: 4 << 10, SlowConsumer: DropEvents, SlowConsumerWait: -1})
	pub, sub := joinPeer(t, r, codec.MsgPack), joinPeer(t, r, codec.MsgPack)
	sub.send(t, &codec.Subscribe{Request: 1, Topic: []byte("com.example.temp")})
	sub.next(t)
	frame := (&codec.Publish{Request: 2, Topic: []byte("com.example.temp"), Args: testArgs}).Append(nil)
	const events = 1000 // about 30 KiB of EVENTs
	for range events {
		pub.s.handle(frame)
	}
	pub.s.endBurst()
	got, dropped := len(sub.drain(t)), int(r.droppedEvents.Load())
	if got == 0 || dropped == 0 || got+dropped != events {
		t.Errorf("%d events queued and %d dropped, want both and %d in all", got, dropped, events)
	}
}

// A burst of PUBLISHes holds the broker's read lock; any other message
// lets it go first, so that the reader's own SUBSCRIBE (which locks the
// broker for writing) and another session's do not wait on it.
func TestBurstLetsGoOfBroker(t *testing.T) {
	r := New(nil)
	pub, other := joinPeer(t, r, codec.MsgPack), joinPeer(t, r, codec.MsgPack)
	toSelf := dict(t, map[string]any{"exclude_me": false})
	done := make(chan struct{})
	go func() {
		defer close(done)
		pub.s.handle((&codec.Publish{Request: 2, Topic: []byte("com.example.temp"), Args: testArgs}).Append(nil))
		pub.s.handle((&codec.Subscribe{Request: 3, Topic: []byte("com.example.temp")}).Append(nil))
		pub.s.handle((&codec.Publish{Request: 4, Options: toSelf, Topic: []byte("com.example.temp"), Args: testArgs}).Append(nil))
		pub.s.endBurst()
		other.send(t, &codec.Subscribe{Request: 5, Topic: []byte("com.example.temp")})
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("a SUBSCRIBE in or after a burst of PUBLISHes waited on the broker's lock")
	}
	if got, want := types(pub.drain(t)), "SUBSCRIBED EVENT"; got != want {
		t.Errorf("the publisher got %s, want %s", got, want)
	}
}

// An event staged under the broker's read lock is queued before the lock
// is let go, so the subscriber's UNSUBSCRIBED, which waits for that
// lock, cannot overtake it. The publisher's own SUBSCRIBE lets go of the
// lock and then waits for the pending UNSUBSCRIBE to finish; only the
// order in which it queues and lets go decides what the subscriber gets.
func TestBurstEventsPrecedeUnsubscribed(t *testing.T) {
	r := New(nil)
	pub, sub := joinPeer(t, r, codec.MsgPack), joinPeer(t, r, codec.MsgPack)
	sub.send(t, &codec.Subscribe{Request: 1, Topic: []byte("com.example.temp")})
	subscription := sub.next(t).(*codec.Subscribed).Subscription
	pub.s.handle((&codec.Publish{Request: 2, Topic: []byte("com.example.temp"), Args: testArgs}).Append(nil))

	left := make(chan struct{})
	go func() {
		defer close(left)
		sub.s.handle((&codec.Unsubscribe{Request: 3, Subscription: subscription}).Append(nil))
		sub.s.endBurst()
	}()
	b := &pub.s.realm.broker
	for deadline := time.Now().Add(10 * time.Second); b.mu.TryRLock(); { // until the UNSUBSCRIBE waits for the lock
		b.mu.RUnlock()
		if time.Now().After(deadline) {
			t.Fatal("the UNSUBSCRIBE never waited for the broker's lock")
		}
		time.Sleep(time.Millisecond)
	}
	pub.s.handle((&codec.Subscribe{Request: 4, Topic: []byte("com.example.other")}).Append(nil))
	pub.s.endBurst()
	<-left
	if got, want := types(sub.drain(t)), "EVENT UNSUBSCRIBED"; got != want {
		t.Errorf("the subscriber got %s, want %s", got, want)
	}
}

// types names the messages in order, for comparing sequences.
func types(msgs []codec.Message) string {
	s := ""
	for i, m := range msgs {
		if i > 0 {
			s += " "
		}
		s += m.Type().String()
	}
	return s
}
