package main

import (
	"strings"
	"testing"
	"time"
)

// TestKeepaliveConfig: limits.ping_interval and limits.ping_timeout reach
// every listener's rawsocket.Config; "off" is -1 (the keepalive off),
// absent is 0 (rawsocket's defaults).
func TestKeepaliveConfig(t *testing.T) {
	for _, tc := range []struct {
		name              string
		limits            string
		interval, timeout time.Duration
	}{
		{"absent", `{}`, 0, 0},
		{"set", `{"ping_interval": "20s", "ping_timeout": "1500ms"}`, 20 * time.Second, 1500 * time.Millisecond},
		{"off", `{"ping_interval": "off", "ping_timeout": "off"}`, -1, -1},
		{"interval off", `{"ping_interval": "off"}`, -1, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			config := `{"limits": ` + tc.limits + `, "listeners": [{"url": "tcp://127.0.0.1:8080"}, {"url": "unix:///tmp/x.sock"}]}`
			fc, err := loadConfig(writeFile(t, t.TempDir(), "c.json", config))
			if err != nil {
				t.Fatal(err)
			}
			for i, l := range fc.Listeners {
				c := fc.listenConfig(l).Config
				if c.PingInterval != tc.interval || c.PingTimeout != tc.timeout {
					t.Errorf("listeners[%d]: ping %v/%v, want %v/%v", i, c.PingInterval, c.PingTimeout, tc.interval, tc.timeout)
				}
			}
		})
	}
	for _, tc := range []struct{ limits, field string }{
		{`{"ping_interval": "never"}`, "limits.ping_interval"},
		{`{"ping_timeout": "-5s"}`, "limits.ping_timeout"},
		{`{"ping_timeout": 10}`, "limits.ping_timeout"},
		{`{"hello_timeout": "off"}`, "limits.hello_timeout"},
	} {
		_, err := loadConfig(writeFile(t, t.TempDir(), "c.json", `{"limits": `+tc.limits+`}`))
		if err == nil || !strings.Contains(err.Error(), tc.field) {
			t.Errorf("%s: %v, want an error naming %s", tc.limits, err, tc.field)
		}
	}
}
