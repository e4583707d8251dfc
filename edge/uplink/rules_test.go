package uplink

import (
	"testing"

	"github.com/wampedge/wampedge/edge/client"
)

func TestMapURI(t *testing.T) {
	for _, tc := range []struct {
		uri, from, to, match string
		want                 string
		ok                   bool
	}{
		{"dev.temp", "dev.", "site1.dev.", MatchPrefix, "site1.dev.temp", true},
		{"device.temp", "dev.", "site1.dev.", MatchPrefix, "", false},
		{"anything", "", "edge7.", MatchPrefix, "edge7.anything", true},
		{"wamp.session.on_join", "", "edge7.", MatchPrefix, "", false},
		{"wampedge.uplink.on_state", "", "", MatchPrefix, "", false},
		{"dev.temp", "dev.temp", "plant.t", MatchExact, "plant.t", true},
		{"dev.temp2", "dev.temp", "plant.t", MatchExact, "", false},
		{"dev.k1.temp", "dev..temp", "site.dev..t", MatchWildcard, "site.dev.k1.t", true},
		{"a.x.b.y", "a..b.", "y..z.", MatchWildcard, "y.x.z.y", true},
		{"dev.k1.temp.x", "dev..temp", "site..t", MatchWildcard, "", false},
		{"dev.k1.hum", "dev..temp", "site..t", MatchWildcard, "", false},
	} {
		got, ok := mapURI(tc.uri, tc.from, tc.to, tc.match)
		if got != tc.want || ok != tc.ok {
			t.Errorf("mapURI(%q, %q → %q, %s) = %q, %v; want %q, %v", tc.uri, tc.from, tc.to, tc.match, got, ok, tc.want, tc.ok)
		}
	}
}

func TestRuleCheck(t *testing.T) {
	for _, bad := range []Rule{
		{Direction: "sideways", Local: "a.", Cloud: "b."},
		{Direction: TopicsOut, Local: "a.", Cloud: "b.", Match: "fuzzy"},
		{Direction: TopicsOut, Local: "a", Match: MatchExact},
		{Direction: TopicsOut, Local: "a..b", Cloud: "c.d", Match: MatchWildcard},
		{Direction: TopicsIn, Local: "wamp.", Cloud: "x."},
	} {
		if err := bad.check(); err == nil {
			t.Errorf("%+v: no error", bad)
		}
	}
	r := Rule{Direction: ProceduresOut, Local: "dev.", Cloud: "site.dev."}
	if err := r.check(); err != nil || r.Match != MatchPrefix {
		t.Fatalf("a prefix rule: %v, match %q", err, r.Match)
	}
	for _, tc := range []struct{ uri, match, want string }{
		{"dev.add", "exact", "site.dev.add"},
		{"dev.sensors.", "prefix", "site.dev.sensors."},
		{"dev..read", "wildcard", "site.dev..read"},
		{"other.add", "exact", ""},
	} {
		if got, _ := r.mapPattern(tc.uri, tc.match); got != tc.want {
			t.Errorf("mapPattern(%q, %s) = %q, want %q", tc.uri, tc.match, got, tc.want)
		}
	}
}

func TestEventQueue(t *testing.T) {
	q := newEventQueue(3, 1<<20)
	for i := range 5 {
		q.push("t", client.Args(i), nil)
	}
	queued, dropped, _ := q.counts()
	if queued != 3 || dropped != 2 {
		t.Fatalf("queued %d dropped %d, want 3 and 2", queued, dropped)
	}
	e1, more, _ := q.next()
	e2, _, _ := q.next()
	if e1.seq != 3 || e2.seq != 4 || !more {
		t.Fatalf("next: %d, %d", e1.seq, e2.seq)
	}
	q.confirm(e1.seq)
	q.rewind() // a new session: what is not confirmed goes again
	if e, _, _ := q.next(); e.seq != 4 {
		t.Fatalf("after rewind: %d, want 4", e.seq)
	}
	// Dropping a written event keeps the cursor on the same next event.
	q.push("t", client.Args(6), nil)
	q.push("t", client.Args(7), nil)
	if e, _, _ := q.next(); e.seq != 5 {
		t.Fatalf("after drops: %d, want 5", e.seq)
	}
	// Bytes bound too, but one event always fits.
	qb := newEventQueue(100, 10)
	qb.push("a-long-topic", client.Args("0123456789"), nil)
	if queued, _, _ := qb.counts(); queued != 1 {
		t.Fatalf("an event larger than the byte bound: %d queued", queued)
	}
	qb.push("b", client.Args(1), nil)
	if queued, dropped, _ := qb.counts(); queued != 1 || dropped != 1 {
		t.Fatalf("bytes: queued %d dropped %d", queued, dropped)
	}
}
