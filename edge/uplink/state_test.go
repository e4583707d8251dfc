package uplink

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wampedge/wampedge/edge"
	"github.com/wampedge/wampedge/edge/client"
	"github.com/wampedge/wampedge/internal/testutil"
	"github.com/wampedge/wampedge/rawsocket"
)

// syncBuffer is a log that the bridge writes and the test reads.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestStateTopic: every attempt to reach the cloud publishes connecting,
// a clean connect logs no empty reason, and the status and state events
// keep their keys in one order.
func TestStateTopic(t *testing.T) {
	ctx := testutil.Ctx(t, 20*time.Second)
	local := edge.New(nil)
	t.Cleanup(func() { local.Close(context.Background()) })
	l, err := local.Listen("tcp://127.0.0.1:0", rawsocket.ListenConfig{})
	if err != nil {
		t.Fatal(err)
	}
	watcher, err := client.Dial(ctx, "tcp://"+l.Addr().String(), client.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer watcher.Close()
	states := make(chan string, 100)
	if _, err := watcher.Subscribe(ctx, StateTopic, func(e *client.Event) {
		args, _, _ := e.Payload.JSON()
		states <- args
	}); err != nil {
		t.Fatal(err)
	}

	cloudAddr := freeAddr(t) // nobody listens there yet
	var log syncBuffer
	u, err := Start(local, Config{
		URL: "tcp://" + cloudAddr, Realm: "cloud",
		BackoffMin: 10 * time.Millisecond, BackoffMax: 20 * time.Millisecond,
		Logger: slog.New(slog.NewTextHandler(&log, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(u.Close)
	next := func() string {
		select {
		case s := <-states:
			return s
		case <-ctx.Done():
			t.Fatal("no state event")
			return ""
		}
	}
	for i := range 3 { // three attempts, each announced
		if ev := next(); !strings.HasPrefix(ev, `[{"state":"connecting","since":`) {
			t.Fatalf("attempt %d: %s, want connecting, keys in order", i, ev)
		}
	}

	cloud := edge.New(&edge.Config{Realms: []string{"cloud"}})
	defer cloud.Close(context.Background())
	if _, err := cloud.Listen("tcp://"+cloudAddr, rawsocket.ListenConfig{}); err != nil {
		t.Fatal(err)
	}
	for ev := next(); !strings.HasPrefix(ev, `[{"state":"connected"`); ev = next() {
		if !strings.HasPrefix(ev, `[{"state":"connecting"`) {
			t.Fatalf("%s before connected", ev)
		}
	}
	if strings.Contains(log.String(), `reason=""`) {
		t.Errorf("an empty reason logged:\n%s", log.String())
	}
	if n := strings.Count(log.String(), "uplink: connecting"); n != 1 {
		t.Errorf("%d log lines for connecting, want one for the state, not one per attempt:\n%s", n, log.String())
	}

	res, err := watcher.Call(ctx, StatusProc, client.Payload{})
	if err != nil {
		t.Fatal(err)
	}
	args, _, _ := res.Payload.JSON()
	keys := []string{"state", "since", "url", "realm", "reconnects", "queued", "dropped", "forwarded", "events_out", "events_in", "calls_out", "calls_in"}
	at := 0
	for _, k := range keys {
		i := strings.Index(args[at:], `"`+k+`":`)
		if i < 0 {
			t.Fatalf("status %s: key %q missing or out of order", args, k)
		}
		at += i
	}
}
