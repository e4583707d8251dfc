package main

import (
	"runtime"
	"strconv"
	"strings"
	"sync"

	"github.com/wampedge/wampedge/edge"
	"github.com/wampedge/wampedge/edge/uplink"
	"github.com/wampedge/wampedge/serial"
)

// metricsPath is where the debug endpoint serves the figures in the
// Prometheus text format.
const metricsPath = "/metrics"

// metricsType is the Content-Type of the text exposition format 0.0.4.
const metricsType = "text/plain; version=0.0.4; charset=utf-8"

// monitor gathers the figures of the process: the router's, the Go
// runtime's, the uplink's and the serial lines'. Its parts are added as
// they start; it is safe for concurrent use.
type monitor struct {
	router *edge.Router // set before anything asks

	mu     sync.Mutex
	uplink *uplink.Uplink
	lines  []*serial.Listener
}

func (m *monitor) setUplink(u *uplink.Uplink) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.uplink = u
}

func (m *monitor) addLine(l *serial.Listener) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.lines = append(m.lines, l)
}

// figures are what /metrics and wampedge.stats show.
type figures struct {
	router     edge.Stats
	heapInuse  uint64 // bytes in in-use heap spans
	sys        uint64 // bytes obtained from the OS
	goroutines int
	uplink     *uplink.Figures // nil: no uplink
	lines      []lineFigures
}

type lineFigures struct {
	device string
	state  serial.LineState
}

// gather reads the figures, the router's given.
func (m *monitor) gather(st edge.Stats) figures {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	f := figures{router: st, heapInuse: ms.HeapInuse, sys: ms.Sys, goroutines: runtime.NumGoroutine()}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.uplink != nil {
		u := m.uplink.Figures()
		f.uplink = &u
	}
	for _, l := range m.lines {
		f.lines = append(f.lines, lineFigures{l.Device(), l.State()})
	}
	return f
}

// statsDict is wampedge.stats's answer (edge.Config.Stats): the
// router's figures, then "memory", "uplink" (when there is one) and
// "serial" (a list of lines).
func (m *monitor) statsDict(st edge.Stats) edge.Dict {
	f := m.gather(st)
	d := append(st.Dict(), edge.Field{Key: "memory", Value: edge.Dict{
		{Key: "heap_inuse_bytes", Value: f.heapInuse},
		{Key: "sys_bytes", Value: f.sys},
		{Key: "goroutines", Value: f.goroutines},
	}})
	if f.uplink != nil {
		d = append(d, edge.Field{Key: "uplink", Value: edge.Dict{
			{Key: "state", Value: f.uplink.State},
			{Key: "queued", Value: f.uplink.Queued},
			{Key: "dropped", Value: f.uplink.Dropped},
		}})
	}
	lines := make([]any, len(f.lines))
	for i, l := range f.lines {
		lines[i] = edge.Dict{{Key: "device", Value: l.device}, {Key: "state", Value: l.state.String()}}
	}
	return append(d, edge.Field{Key: "serial", Value: lines})
}

// prometheus writes the figures in the text exposition format 0.0.4,
// the families always in this order.
func (f *figures) prometheus() []byte {
	var e exposition
	st := &f.router
	e.family("wampedge_sessions", "gauge", "Sessions joined to a realm, by realm and transport.")
	for _, c := range st.SessionsBy {
		e.sample("wampedge_sessions", uint64(c.Sessions), "realm", c.Realm, "transport", c.Transport)
	}
	e.counter("wampedge_events_published_total", "Publications routed.", st.EventsPublished)
	e.counter("wampedge_events_delivered_total", "Events routed to subscribers: one per subscriber reached.", st.EventsDelivered)
	e.counter("wampedge_events_dropped_total", "Events dropped: a full queue under the drop policy, or too large for the subscriber.", st.DroppedEvents)
	e.counter("wampedge_calls_total", "Calls made.", st.Calls)
	e.family("wampedge_call_errors_total", "counter", "Errors callers got, by class of the error URI (application: a callee's own).")
	for _, class := range edge.CallErrorClasses {
		e.sample("wampedge_call_errors_total", st.CallErrors[class], "class", class)
	}
	e.counter("wampedge_bytes_received_total", "Bytes the router read from its clients' connections.", st.BytesReceived)
	e.counter("wampedge_bytes_sent_total", "Bytes the router wrote to its clients' connections.", st.BytesSent)
	e.counter("wampedge_slow_consumer_disconnections_total", "Sessions disconnected because their queue stayed full.", st.SlowConsumerKills)
	e.counter("wampedge_protocol_violations_total", "Sessions aborted for a protocol violation.", st.ProtocolViolations)
	e.counter("wampedge_auth_failures_total", "Joins refused for a wrong secret or signature.", st.AuthFailures)
	if u := f.uplink; u != nil {
		e.family("wampedge_uplink_state", "gauge", "The uplink's state: 1 for the current one.")
		for _, s := range uplink.States {
			e.sample("wampedge_uplink_state", oneIf(s == u.State), "state", s)
		}
		e.gauge("wampedge_uplink_queue_events", "Events waiting for the cloud.", uint64(u.Queued))
		e.counter("wampedge_uplink_dropped_events_total", "Events the uplink's full queue dropped.", u.Dropped)
	}
	if len(f.lines) > 0 {
		e.family("wampedge_serial_line_state", "gauge", "Each serial line's state: 1 for the current one.")
		for _, l := range f.lines {
			for _, s := range serial.LineStates {
				e.sample("wampedge_serial_line_state", oneIf(s == l.state), "device", l.device, "state", s.String())
			}
		}
	}
	e.gauge("go_memstats_heap_inuse_bytes", "Bytes in in-use heap spans.", f.heapInuse)
	e.gauge("go_memstats_sys_bytes", "Bytes obtained from the OS.", f.sys)
	e.gauge("go_goroutines", "Goroutines that exist now.", uint64(f.goroutines))
	return e.b
}

func oneIf(b bool) uint64 {
	if b {
		return 1
	}
	return 0
}

// exposition builds a text exposition: families with their HELP and
// TYPE lines, each followed by its samples.
type exposition struct{ b []byte }

func (e *exposition) family(name, typ, help string) {
	e.b = append(e.b, "# HELP "+name+" "...)
	e.b = append(e.b, helpEscaper.Replace(help)...)
	e.b = append(e.b, "\n# TYPE "+name+" "+typ+"\n"...)
}

// sample writes one sample; labels are name, value pairs.
func (e *exposition) sample(name string, v uint64, labels ...string) {
	e.b = append(e.b, name...)
	for i := 0; i+1 < len(labels); i += 2 {
		if i == 0 {
			e.b = append(e.b, '{')
		} else {
			e.b = append(e.b, ',')
		}
		e.b = append(e.b, labels[i]+`="`...)
		e.b = append(e.b, labelEscaper.Replace(labels[i+1])...)
		e.b = append(e.b, '"')
	}
	if len(labels) > 1 {
		e.b = append(e.b, '}')
	}
	e.b = append(e.b, ' ')
	e.b = strconv.AppendUint(e.b, v, 10)
	e.b = append(e.b, '\n')
}

func (e *exposition) counter(name, help string, v uint64) {
	e.family(name, "counter", help)
	e.sample(name, v)
}

func (e *exposition) gauge(name, help string, v uint64) {
	e.family(name, "gauge", help)
	e.sample(name, v)
}

// The format's escapes: a label value escapes backslash, double quote
// and line feed; HELP text backslash and line feed.
var (
	labelEscaper = strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`)
	helpEscaper  = strings.NewReplacer(`\`, `\\`, "\n", `\n`)
)
