package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/wampedge/wampedge/codec"
	"github.com/wampedge/wampedge/edge/client"
)

// The text exposition format 0.0.4's grammar, line by line.
var (
	metricName = regexp.MustCompile(`^[a-zA-Z_:][a-zA-Z0-9_:]*$`)
	labelName  = regexp.MustCompile(`^[a-zA-Z_][a-zA-Z0-9_]*$`)
	helpLine   = regexp.MustCompile(`^# HELP ([^ ]+) ((?:[^\\\n]|\\\\|\\n)*)$`)
	typeLine   = regexp.MustCompile(`^# TYPE ([^ ]+) (counter|gauge|histogram|summary|untyped)$`)
	// A sample: name, optional {labels}, value, optional timestamp.
	sampleLine = regexp.MustCompile(`^([^{ ]+)(\{(.*)\})? ([^ ]+)( -?[0-9]+)?$`)
	labelPair  = regexp.MustCompile(`^([^=]+)="((?:[^"\\\n]|\\\\|\\"|\\n)*)"`)
)

// sample is one parsed sample: its family, labels and value.
type sample struct {
	name   string
	labels map[string]string
	value  float64
}

// parseExposition checks text against the format's grammar and returns
// its samples: every line a comment, a sample or empty; names and label
// names by their regexes; label values escaped; values floats; one TYPE
// per family, before its samples, and a family's samples together.
func parseExposition(t *testing.T, text string) []sample {
	t.Helper()
	if !strings.HasSuffix(text, "\n") {
		t.Fatal("the exposition does not end with a line feed")
	}
	typed := map[string]string{}
	helped := map[string]bool{}
	done := map[string]bool{} // families whose samples ended
	var samples []sample
	current := ""
	for i, line := range strings.Split(strings.TrimSuffix(text, "\n"), "\n") {
		fail := func(format string, a ...any) { t.Fatalf("line %d %q: %s", i+1, line, fmt.Sprintf(format, a...)) }
		switch {
		case line == "":
			continue
		case strings.HasPrefix(line, "# HELP "):
			m := helpLine.FindStringSubmatch(line)
			if m == nil || !metricName.MatchString(m[1]) {
				fail("not a HELP line")
			}
			if helped[m[1]] {
				fail("a second HELP")
			}
			helped[m[1]] = true
		case strings.HasPrefix(line, "# TYPE "):
			m := typeLine.FindStringSubmatch(line)
			if m == nil || !metricName.MatchString(m[1]) {
				fail("not a TYPE line")
			}
			if typed[m[1]] != "" {
				fail("a second TYPE")
			}
			for _, s := range samples {
				if s.name == m[1] {
					fail("TYPE after the family's samples")
				}
			}
			typed[m[1]] = m[2]
		case strings.HasPrefix(line, "#"):
			// another comment
		default:
			m := sampleLine.FindStringSubmatch(line)
			if m == nil || !metricName.MatchString(m[1]) {
				fail("not a sample")
			}
			s := sample{name: m[1], labels: map[string]string{}}
			for rest := m[3]; rest != ""; {
				p := labelPair.FindStringSubmatch(rest)
				if p == nil || !labelName.MatchString(p[1]) {
					fail("bad label at %q", rest)
				}
				if _, dup := s.labels[p[1]]; dup {
					fail("label %s twice", p[1])
				}
				s.labels[p[1]] = strings.NewReplacer(`\\`, `\`, `\"`, `"`, `\n`, "\n").Replace(p[2])
				rest = strings.TrimPrefix(rest[len(p[0]):], ",")
			}
			v, err := strconv.ParseFloat(m[4], 64)
			if err != nil && m[4] != "+Inf" && m[4] != "-Inf" && m[4] != "NaN" {
				fail("value %q is not a float", m[4])
			}
			s.value = v
			if typed[s.name] == "" || !helped[s.name] {
				fail("a sample before its family's HELP and TYPE")
			}
			if s.name != current {
				if done[s.name] {
					fail("the family's samples are not together")
				}
				done[current] = true
				current = s.name
			}
			samples = append(samples, s)
		}
	}
	for name := range typed {
		if !helped[name] {
			t.Errorf("family %s has no HELP", name)
		}
	}
	return samples
}

// value is the sum of the samples of a family with these labels.
func value(samples []sample, name string, labels ...string) (float64, bool) {
	sum, found := 0.0, false
next:
	for _, s := range samples {
		if s.name != name {
			continue
		}
		for i := 0; i+1 < len(labels); i += 2 {
			if s.labels[labels[i]] != labels[i+1] {
				continue next
			}
		}
		sum, found = sum+s.value, true
	}
	return sum, found
}

func scrape(t *testing.T, addr string) (string, []sample) {
	t.Helper()
	hc := &http.Client{Timeout: waitTimeout}
	resp, err := hc.Get("http://" + addr + metricsPath)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != metricsType {
		t.Fatalf("GET %s: %s %q", metricsPath, resp.Status, resp.Header.Get("Content-Type"))
	}
	return string(body), parseExposition(t, string(body))
}

// TestMetrics: the real binary's /metrics is in the text format, has
// every family the README lists, and its counters move by exactly the
// events and calls sent: 5 events to 2 subscribers, 3 calls of which one
// to no procedure and one that fails in its callee.
func TestMetrics(t *testing.T) {
	tcpURL, unixURL, _ := endpoints(t)
	debugAddr := freeAddr(t)
	d := startDaemon(t, "-listen", tcpURL, "-listen", unixURL, "-debug-addr", debugAddr, "-mdns=false")
	waitReady(t, d.started, d.exited, tcpURL, unixURL)

	ctx := ctxT(t)
	pub := mustJoin(t, tcpURL, "realm1", codec.JSON)
	subA := mustJoin(t, tcpURL, "realm1", codec.MsgPack)
	subB := mustJoin(t, unixURL, "realm1", codec.MsgPack)
	got := make(chan struct{}, 10)
	for _, c := range []*client.Client{subA, subB} {
		if _, err := c.Subscribe(ctx, "com.example.temp", func(*client.Event) { got <- struct{}{} }); err != nil {
			t.Fatal(err)
		}
	}
	subB.Register(ctx, "com.example.echo", func(_ context.Context, inv *client.Invocation) (client.Payload, error) { return inv.Payload, nil })
	subA.Register(ctx, "com.example.fail", func(context.Context, *client.Invocation) (client.Payload, error) {
		return client.Payload{}, &client.Error{URI: "com.example.error.broken"}
	})

	want := func(samples []sample, name string, v float64, labels ...string) {
		t.Helper()
		if got, ok := value(samples, name, labels...); !ok || got != v {
			t.Errorf("%s%v = %v (found %v), want %v", name, labels, got, ok, v)
		}
	}
	var before []sample
	for deadline := time.Now().Add(waitTimeout); ; time.Sleep(10 * time.Millisecond) {
		_, before = scrape(t, debugAddr)
		if n, _ := value(before, "wampedge_sessions", "realm", "realm1"); n == 3 || time.Now().After(deadline) {
			break
		}
	}
	text, _ := scrape(t, debugAddr)
	want(before, "wampedge_sessions", 2, "realm", "realm1", "transport", "tcp")
	want(before, "wampedge_sessions", 1, "realm", "realm1", "transport", "unix")
	want(before, "wampedge_sessions", 0, "realm", "realm1", "transport", "serial")
	for _, family := range []string{
		"wampedge_sessions", "wampedge_events_published_total", "wampedge_events_delivered_total",
		"wampedge_events_dropped_total", "wampedge_calls_total", "wampedge_call_errors_total",
		"wampedge_bytes_received_total", "wampedge_bytes_sent_total", "wampedge_slow_consumer_disconnections_total",
		"wampedge_protocol_violations_total", "wampedge_auth_failures_total",
		"go_memstats_heap_inuse_bytes", "go_memstats_sys_bytes", "go_goroutines",
	} {
		if !strings.Contains(text, "\n# TYPE "+family+" ") {
			t.Errorf("no family %s", family)
		}
	}
	if v, _ := value(before, "go_memstats_heap_inuse_bytes"); v <= 0 {
		t.Errorf("heap in use %v", v)
	}

	for range 5 {
		if err := pub.Publish(ctx, "com.example.temp", client.Args(21.5), client.PublishOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	for range 10 {
		select {
		case <-got:
		case <-ctx.Done():
			t.Fatal("the events did not arrive")
		}
	}
	if _, err := pub.Call(ctx, "com.example.echo", client.Args(1)); err != nil {
		t.Fatal(err)
	}
	var werr *client.Error
	if _, err := pub.Call(ctx, "com.example.nothing", client.Payload{}); !errors.As(err, &werr) {
		t.Fatal(err)
	}
	if _, err := pub.Call(ctx, "com.example.fail", client.Payload{}); !errors.As(err, &werr) {
		t.Fatal(err)
	}
	// The readers show their counts when their burst ends, which is
	// before or just after their peers have what they sent.
	moved := func(after []sample, name string, labels ...string) float64 {
		a, _ := value(after, name, labels...)
		b, _ := value(before, name, labels...)
		return a - b
	}
	var after []sample
	for deadline := time.Now().Add(waitTimeout); ; time.Sleep(10 * time.Millisecond) {
		_, after = scrape(t, debugAddr)
		if moved(after, "wampedge_calls_total") >= 3 && moved(after, "wampedge_events_delivered_total") >= 10 || time.Now().After(deadline) {
			break
		}
	}
	for _, c := range []struct {
		name   string
		labels []string
		want   float64
	}{
		{"wampedge_events_published_total", nil, 5},
		{"wampedge_events_delivered_total", nil, 10},
		{"wampedge_calls_total", nil, 3},
		{"wampedge_call_errors_total", []string{"class", "no_such_procedure"}, 1},
		{"wampedge_call_errors_total", []string{"class", "application"}, 1},
		{"wampedge_call_errors_total", []string{"class", "timeout"}, 0},
		{"wampedge_call_errors_total", []string{"class", "other"}, 0},
		{"wampedge_protocol_violations_total", nil, 0},
	} {
		if got := moved(after, c.name, c.labels...); got != c.want {
			t.Errorf("%s%v moved by %v, want %v", c.name, c.labels, got, c.want)
		}
	}
	if moved(after, "wampedge_bytes_received_total") <= 0 || moved(after, "wampedge_bytes_sent_total") <= 0 {
		t.Error("the byte counters did not move")
	}

	// The same figures over WAMP, as wampcat call wampedge.stats gets them.
	res, err := pub.Call(ctx, "wampedge.stats", client.Payload{})
	if err != nil {
		t.Fatal(err)
	}
	args, _, _ := res.Payload.JSON()
	for _, key := range []string{`"sessions":3`, `"events_published":`, `"calls":`, `"no_such_procedure":1`, `"memory":{"heap_inuse_bytes":`, `"serial":[]`} {
		if !strings.Contains(args, key) {
			t.Errorf("wampedge.stats: no %s in %s", key, args)
		}
	}
	stats, _ := res.Args[0].(map[string]any)
	if n, _ := stats["calls"].(int64); n < 4 { // the three, and this one
		t.Errorf("wampedge.stats: calls %v, want at least 4", stats["calls"])
	}
}

// TestExpositionEscapes: label values and HELP text are escaped as the
// format says, and parse back to what they were.
func TestExpositionEscapes(t *testing.T) {
	var e exposition
	e.family("x_total", "counter", "a \\ and a\nline")
	odd := "a\"b\\c\nd"
	e.sample("x_total", 7, "device", odd, "state", "ok")
	text := string(e.b)
	if want := "# HELP x_total a \\\\ and a\\nline\n# TYPE x_total counter\nx_total{device=\"a\\\"b\\\\c\\nd\",state=\"ok\"} 7\n"; text != want {
		t.Errorf("got\n%s\nwant\n%s", text, want)
	}
	samples := parseExposition(t, text)
	if len(samples) != 1 || samples[0].labels["device"] != odd || samples[0].value != 7 {
		t.Errorf("parsed back as %+v", samples)
	}
}
