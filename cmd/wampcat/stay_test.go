package main

import (
	"strings"
	"testing"
)

// TestReconnect: a subscribing and a registered wampcat resume when
// their router restarts, after a shutdown or a crash; -count counts
// across sessions. With -once they exit instead.
func TestReconnect(t *testing.T) {
	for _, tc := range []struct {
		name string
		down func(*testRouter)
		why  string // in the line that says the session is lost
	}{
		{"shutdown", (*testRouter).stop, "wamp.close.system_shutdown"},
		{"crash", (*testRouter).crash, "EOF"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := newRouter(t, nil)
			topic, onceTopic, proc := uniqueURI("resume"), uniqueURI("resume"), uniqueURI("resume")
			sub := start(t, "-url", r.url, "subscribe", topic, "-count", "2")
			callee := start(t, "-url", r.url, "register", proc)
			once := start(t, "-url", r.url, "subscribe", onceTopic, "-once")
			publishUntilEvent(t, sub, "-url", r.url, "publish", topic, "1")
			publishUntilEvent(t, once, "-url", r.url, "publish", onceTopic, "1")
			callRegistered(t, callee, "-url", r.url, "call", proc, "1").check(t, 0, `{"args":[1],"kwargs":{}}`+"\n")

			tc.down(r)
			if code := once.wait(t); code != 1 || !strings.HasPrefix(once.stderr.String(), "wampcat: ") || !strings.Contains(once.stderr.String(), tc.why) {
				t.Errorf("-once: exit status %d, stderr %q; want 1 and the reason, %s", code, once.stderr.String(), tc.why)
			}
			r.start()
			publishUntilEvent(t, sub, "-url", r.url, "publish", topic, "2")
			callRegistered(t, callee, "-url", r.url, "call", proc, "2").check(t, 0, `{"args":[2],"kwargs":{}}`+"\n")
			if code := sub.wait(t); code != 0 {
				t.Errorf("subscribe -count 2: exit status %d after 2 events over two sessions", code)
			}
			for _, b := range []*background{sub, callee} {
				if log := b.stderr.String(); !strings.Contains(log, tc.why) || !strings.Contains(log, "(session lost); reconnecting\n") || !strings.Contains(log, "wampcat: reconnected\n") {
					t.Errorf("%q: stderr %q; want the session lost (%s) and reconnected", b.cmd.Args[1:], log, tc.why)
				}
			}
		})
	}
}

// crash kills the router, leaving its sessions' connections to end as
// the kernel closes them.
func (r *testRouter) crash() {
	r.cmd.Process.Kill()
	r.cmd.Wait()
	r.cmd = nil
}
