package cloud

import (
	"errors"
	"syscall"
	"testing"

	"github.com/wampedge/wampedge/edge/client"
)

// TestStopKillRestart checks the harness itself: what sessions see when
// the cloud goes away, and that it comes back on the same URLs.
func TestStopKillRestart(t *testing.T) {
	n := StartNexus(t, NexusConfig{Tickets: map[string]string{"gateway-7": "ticket-7"}})
	cfg := client.Config{AuthID: "gateway-7", Ticket: "ticket-7"}
	join := func(t *testing.T) []*client.Client {
		t.Helper()
		var cs []*client.Client
		for _, w := range wiresOf(n) {
			cs = append(cs, dial(t, w, cfg))
		}
		return cs
	}
	refuses := func(t *testing.T) {
		t.Helper()
		for _, w := range wiresOf(n) {
			cfg := cfg
			cfg.Serializer = w.ser
			if _, err := client.Dial(opCtx(t), w.url, cfg); !errors.Is(err, syscall.ECONNREFUSED) {
				t.Errorf("Dial %s while down: %v, want ECONNREFUSED", w.name, err)
			}
		}
	}

	sessions := join(t)
	n.Kill()
	for _, c := range sessions {
		receive(t, c.Done(), "the session's end")
		var abort *client.AbortError
		if err := c.Err(); err == nil || errors.As(err, &abort) {
			t.Errorf("after Kill: Err() = %v, want the connection's loss", err)
		}
	}
	refuses(t)

	n.Restart(t)
	sessions = join(t)
	n.Stop()
	// nexus discards what it still has queued when it closes a session,
	// its GOODBYE too at times: a session sees that or the connection end.
	for _, c := range sessions {
		receive(t, c.Done(), "the session's end")
		var abort *client.AbortError
		if err := c.Err(); err == nil || errors.As(err, &abort) && abort.Reason != "wamp.close.system_shutdown" {
			t.Errorf("after Stop: Err() = %v, want GOODBYE wamp.close.system_shutdown", err)
		}
	}
	refuses(t)

	n.Restart(t)
	n.Restart(t) // a running router restarts too
	join(t)
}
