package main

import (
	"fmt"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/wampedge/wampedge/internal/testutil"
)

// TestSerial: wampcat over a serial line (a pair of pseudo-terminals)
// subscribes; a second wampcat on the same device fails at once; when
// the line goes dead without a hangup, -keepalive notices, and wampcat
// resumes once the line is back, or with -once exits.
func TestSerial(t *testing.T) {
	line := newSerialLine(t)
	r := newRouter(t, nil, "-listen", "serial://"+line.a.Slave)
	url := "serial://" + line.b.Slave
	for deadline := time.Now().Add(readyTimeout); ; { // until the router has the line open
		if wampcat(t, "-url", url, "-timeout", "500ms", "publish", "-ack", "test.serial.ready").code == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no session over %s after %v", url, readyTimeout)
		}
	}
	topic := uniqueURI("serial")
	sub := start(t, "-url", url, "-keepalive", "200ms", "-timeout", "1s", "subscribe", topic)
	publishUntilEvent(t, sub, "-url", r.url, "publish", topic, "1")

	began := time.Now()
	second := wampcat(t, "-url", url, "call", "test.serial.p")
	second.check(t, 1, "", fmt.Sprintf("wampcat: serial device %s is in use by another wampcat", line.b.Slave))
	if d := time.Since(began); d > 2*time.Second {
		t.Errorf("the second wampcat took %v to fail", d)
	}

	line.cut.Store(true)
	testutil.WaitFor(t, runTimeout, "the keepalive to notice", func() bool {
		return strings.Contains(sub.stderr.String(), "wampcat: the router did not answer within 200ms (-keepalive) (session lost); reconnecting\n")
	})
	line.cut.Store(false)
	publishUntilEventWithin(t, runTimeout, sub, "-url", r.url, "publish", topic, "2")
	if !strings.Contains(sub.stderr.String(), "wampcat: reconnected\n") {
		t.Errorf("stderr %q; want reconnected", sub.stderr.String())
	}

	sub.cmd.Process.Signal(syscall.SIGTERM)
	if code := sub.wait(t); code != 0 {
		t.Errorf("exit status %d after SIGTERM", code)
	}
	once := start(t, "-url", url, "-keepalive", "200ms", "-timeout", "1s", "subscribe", topic, "-once")
	publishUntilEventWithin(t, runTimeout, once, "-url", r.url, "publish", topic, "3")
	line.cut.Store(true)
	if code := once.wait(t); code != 1 || once.stderr.String() != "wampcat: the router did not answer within 200ms (-keepalive) (session lost)\n" {
		t.Errorf("-once: exit status %d, stderr %q", code, once.stderr.String())
	}
}
