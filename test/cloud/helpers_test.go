package cloud

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/wampedge/wampedge/codec"
	"github.com/wampedge/wampedge/edge/client"
)

// ioTimeout guards every wait: a bound on failure, never a measurement.
const ioTimeout = 10 * time.Second

// wire is one way to reach nexus: a transport and a serializer.
type wire struct {
	name string
	url  string
	ser  codec.Serializer
}

func wiresOf(n *Nexus) []wire {
	return []wire{
		{"rawsocket/json", n.RawSocketURL, codec.JSON},
		{"rawsocket/msgpack", n.RawSocketURL, codec.MsgPack},
		{"websocket/json", n.WebSocketURL, codec.JSON},
		{"websocket/msgpack", n.WebSocketURL, codec.MsgPack},
	}
}

func opCtx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), ioTimeout)
	t.Cleanup(cancel)
	return ctx
}

// dial joins over w with cfg (its Serializer set from w), or fails.
func dial(t testing.TB, w wire, cfg client.Config) *client.Client {
	t.Helper()
	cfg.Serializer = w.ser
	c, err := client.Dial(opCtx(t), w.url, cfg)
	if err != nil {
		t.Fatalf("Dial %s: %v", w.name, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func receive[T any](t testing.TB, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(ioTimeout):
		t.Fatalf("no %s within %v", what, ioTimeout)
		panic("unreachable")
	}
}

// wampError returns err as a *client.Error with uri, or fails.
func wampError(t testing.TB, err error, uri string) *client.Error {
	t.Helper()
	var e *client.Error
	if !errors.As(err, &e) || e.URI != uri {
		t.Fatalf("got error %v, want %s", err, uri)
	}
	return e
}
