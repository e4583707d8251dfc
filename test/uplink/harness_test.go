package uplink

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wampedge/wampedge/codec"
	"github.com/wampedge/wampedge/edge"
	"github.com/wampedge/wampedge/edge/client"
	"github.com/wampedge/wampedge/edge/uplink"
	"github.com/wampedge/wampedge/internal/testutil"
	"github.com/wampedge/wampedge/rawsocket"
	"github.com/wampedge/wampedge/test/cloud"
)

// ioTimeout bounds every wait: a limit on failure, never a measurement.
const ioTimeout = 15 * time.Second

// edgeRouter is a wampedge router on a loopback port, as a board runs it.
type edgeRouter struct {
	r   *edge.Router
	url string
	log *testutil.SyncBuffer
}

func startEdge(t testing.TB) *edgeRouter { return startEdgeRealm(t, "realm1") }

func startEdgeRealm(t testing.TB, realm string) *edgeRouter {
	t.Helper()
	e := &edgeRouter{log: new(testutil.SyncBuffer)}
	e.r = edge.New(&edge.Config{Realms: []string{realm}, Logger: slog.New(slog.NewTextHandler(e.log, nil))})
	l, err := e.r.Listen("tcp://127.0.0.1:0", rawsocket.ListenConfig{})
	if err != nil {
		t.Fatal(err)
	}
	e.url = "tcp://" + l.Addr().String()
	t.Cleanup(func() { e.r.Close(context.Background()) })
	return e
}

// startUplink starts a bridge on e with fast reconnects.
func startUplink(t testing.TB, e *edgeRouter, cfg uplink.Config) *uplink.Uplink {
	t.Helper()
	if cfg.BackoffMin == 0 {
		cfg.BackoffMin, cfg.BackoffMax = 50*time.Millisecond, 200*time.Millisecond
	}
	cfg.Logger = slog.New(slog.NewTextHandler(e.log, nil))
	u, err := uplink.Start(e.r, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(u.Close)
	return u
}

func ctxFor(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), ioTimeout)
	t.Cleanup(cancel)
	return ctx
}

// join dials url and joins realm.
func join(t testing.TB, url, realm string, cfg client.Config) *client.Client {
	t.Helper()
	cfg.Realm = realm
	c, err := client.Dial(ctxFor(t), url, cfg)
	if err != nil {
		t.Fatalf("joining %s at %s: %v", realm, url, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// joinPipe joins nexus in memory: a session in place before the ports
// open (cloud.NexusConfig.OnStart).
func joinPipe(n *cloud.Nexus, realm string) (*client.Client, error) {
	conn, err := rawsocket.Connect(n.Pipe(), codec.MsgPack, rawsocket.Config{MaxLength: rawsocket.MaxLength})
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), ioTimeout)
	defer cancel()
	return client.Join(ctx, conn, client.Config{Realm: realm})
}

// status calls wampedge.uplink.status on the edge.
func status(t testing.TB, local *client.Client) map[string]any {
	t.Helper()
	res, err := local.Call(ctxFor(t), uplink.StatusProc, client.Payload{})
	if err != nil {
		t.Fatalf("%s: %v", uplink.StatusProc, err)
	}
	return res.Args[0].(map[string]any)
}

// waitState waits until the bridge reports state.
func waitState(t testing.TB, local *client.Client, state string) map[string]any {
	t.Helper()
	var last map[string]any
	for deadline := time.Now().Add(ioTimeout); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if last = status(t, local); last["state"] == state {
			return last
		}
	}
	t.Fatalf("the uplink did not reach state %q: %v", state, last)
	return nil
}

// waitFor polls cond until it holds.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	testutil.WaitFor(t, ioTimeout, what, cond)
}

// collector gathers events from a subscription.
type collector struct {
	mu     sync.Mutex
	events []*client.Event
}

func (c *collector) add(e *client.Event) {
	c.mu.Lock()
	c.events = append(c.events, e)
	c.mu.Unlock()
}

func (c *collector) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.events)
}

func (c *collector) all() []*client.Event {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]*client.Event(nil), c.events...)
}

func subscribe(t testing.TB, c *client.Client, topic, match string) *collector {
	t.Helper()
	col := new(collector)
	if _, err := c.SubscribeWith(ctxFor(t), topic, client.SubscribeOptions{Match: match}, col.add); err != nil {
		t.Fatalf("subscribe %q: %v", topic, err)
	}
	return col
}

// samePayload reports whether two payloads are the same bytes.
func samePayload(a, b client.Payload) bool {
	return bytes.Equal(a.Args, b.Args) && bytes.Equal(a.Kwargs, b.Kwargs)
}

func wampError(t testing.TB, err error, uri string) *client.Error {
	t.Helper()
	var e *client.Error
	if !errors.As(err, &e) || e.URI != uri {
		t.Fatalf("got error %v, want %s", err, uri)
	}
	return e
}

func countLines(log, substr string) int {
	n := 0
	for line := range strings.Lines(log) {
		if strings.Contains(line, substr) {
			n++
		}
	}
	return n
}
