package edge_test

import (
	"sync/atomic"
	"testing"
	"time"

	"github.com/wampedge/wampedge/edge"
	"github.com/wampedge/wampedge/edge/client"
)

// A subscriber slower than its publisher for a while slows the publisher
// down (SlowConsumerWait) instead of losing events or being cut off; the
// fault tests cover one that stops reading for good.
func TestSlowSubscriberSlowsThePublisher(t *testing.T) {
	tb := newTestbed(t, &edge.Config{QueueBytes: 4 << 10, SlowConsumerWait: 5 * time.Second})
	w := wires[1]
	sub, pub := tb.client(t, w), tb.client(t, w)
	const n = 3000
	var got atomic.Int64
	if _, err := sub.Subscribe(opCtx(t), "com.example.burst", func(e *client.Event) {
		if got.Add(1) == 1 {
			time.Sleep(300 * time.Millisecond) // the subscriber stalls: its socket and queue fill
		}
	}); err != nil {
		t.Fatal(err)
	}
	payload := client.Args(make([]byte, 200))
	for i := range n {
		if err := pub.Publish(opCtx(t), "com.example.burst", payload, client.PublishOptions{Acknowledge: i == n-1}); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "every event at the subscriber", func() bool { return got.Load() == n })
	if st := tb.Stats(); st.SlowConsumerKills != 0 || st.DroppedEvents != 0 {
		t.Errorf("stats %+v: nothing should be dropped or cut off", st)
	}
}
