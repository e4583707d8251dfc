package main

import (
	"fmt"
	"math"
	"slices"
	"strings"
)

// unit formats a figure's values.
type unit int

const (
	perSecond unit = iota
	percent
	micros
	millis
	mebibytes
	perMessage // allocations
	byteCount
)

func (u unit) format(v float64) string {
	switch u {
	case perSecond:
		switch {
		case v >= 1e6:
			return fmt.Sprintf("%.2fM", v/1e6)
		case v >= 1e3:
			return fmt.Sprintf("%.1fk", v/1e3)
		}
		return fmt.Sprintf("%.0f", v)
	case percent:
		if v == 0 {
			return "0%"
		}
		if v < 0.001 {
			return fmt.Sprintf("%.4f%%", 100*v)
		}
		return fmt.Sprintf("%.1f%%", 100*v)
	case micros:
		if v >= 100 {
			return fmt.Sprintf("%.0f µs", v)
		}
		return fmt.Sprintf("%.1f µs", v)
	case millis:
		return fmt.Sprintf("%.1f ms", v)
	case mebibytes:
		return fmt.Sprintf("%.1f MiB", v/(1<<20))
	case perMessage:
		if v >= 10 {
			return fmt.Sprintf("%.1f", v)
		}
		return fmt.Sprintf("%.2f", v)
	case byteCount:
		if v >= 10<<10 {
			return fmt.Sprintf("%.1f KiB", v/(1<<10))
		}
		return fmt.Sprintf("%.0f B", v)
	}
	return fmt.Sprint(v)
}

// sample is one run's value of a figure for a target.
type sample struct {
	v         float64
	ok        bool
	disturbed bool
}

// figure is one row: a measured quantity, for every target, every run.
type figure struct {
	key, label, section string
	unit                unit
	noRatio             bool                // ratios mean nothing (a share lost)
	samples             map[string][]sample // by target key, indexed by run
}

// results holds every figure of one invocation.
type results struct {
	runs    int
	targets []*target
	figures []*figure
	byKey   map[string]*figure
	notes   []string
	sizes   []sizeRow
	arches  []string
}

func newResults(runs int, targets []*target) *results {
	return &results{runs: runs, targets: targets, byKey: map[string]*figure{}}
}

// define adds a row; rows appear in the order they are defined.
func (r *results) define(section, key, label string, u unit, noRatio bool) {
	f := &figure{key: key, label: label, section: section, unit: u, noRatio: noRatio, samples: map[string][]sample{}}
	r.figures = append(r.figures, f)
	r.byKey[key] = f
}

func (r *results) add(key, target string, run int, v float64, disturbed bool) {
	f := r.byKey[key]
	if f == nil {
		panic("no figure " + key)
	}
	s := f.samples[target]
	if len(s) < r.runs {
		s = append(s, make([]sample, r.runs-len(s))...)
	}
	s[run] = sample{v: v, ok: true, disturbed: disturbed}
	f.samples[target] = s
}

func (r *results) note(format string, args ...any) {
	n := fmt.Sprintf(format, args...)
	if !slices.Contains(r.notes, n) {
		r.notes = append(r.notes, n)
	}
}

// spread is a median with its min and max.
type spread struct {
	median, min, max float64
	n                int
	disturbed        bool
}

func spreadOf(vals []float64) spread {
	if len(vals) == 0 {
		return spread{}
	}
	s := slices.Clone(vals)
	slices.Sort(s)
	m := s[len(s)/2]
	if len(s)%2 == 0 {
		m = (s[len(s)/2-1] + s[len(s)/2]) / 2
	}
	return spread{median: m, min: s[0], max: s[len(s)-1], n: len(s)}
}

// values is a target's measured samples of f.
func (f *figure) values(target string) spread {
	var vals []float64
	disturbed := false
	for _, s := range f.samples[target] {
		if s.ok {
			vals = append(vals, s.v)
			disturbed = disturbed || s.disturbed
		}
	}
	sp := spreadOf(vals)
	sp.disturbed = disturbed
	return sp
}

// ratio is wampedge ÷ other, run by run: each ratio is taken between
// two measurements of the same invocation and the same run.
func (f *figure) ratio(other string) spread {
	var vals []float64
	disturbed := false
	a, b := f.samples["wampedge"], f.samples[other]
	for i := range min(len(a), len(b)) {
		if a[i].ok && b[i].ok && b[i].v != 0 {
			vals = append(vals, a[i].v/b[i].v)
			disturbed = disturbed || a[i].disturbed || b[i].disturbed
		}
	}
	sp := spreadOf(vals)
	sp.disturbed = disturbed
	return sp
}

func (sp spread) cell(format func(float64) string) string {
	if sp.n == 0 {
		return "—"
	}
	s := format(sp.median)
	if lo, hi := format(sp.min), format(sp.max); sp.n > 1 && lo != hi {
		s += " (" + lo + "–" + hi + ")"
	}
	if sp.disturbed {
		s += " †"
	}
	return s
}

func formatRatio(v float64) string {
	switch {
	case math.IsInf(v, 0) || math.IsNaN(v):
		return "—"
	case v >= 10:
		return fmt.Sprintf("%.0f×", v)
	case v >= 0.1:
		return fmt.Sprintf("%.2f×", v)
	}
	return fmt.Sprintf("%.3f×", v)
}

// sizeRow is one program's stripped binary sizes, by GOARCH.
type sizeRow struct {
	program string
	bytes   map[string]int64
	note    string
}

// markdown renders the tables.
func (r *results) markdown(header string) string {
	var b strings.Builder
	b.WriteString(header)
	others := []*target{}
	for _, t := range r.targets {
		if t.key != "wampedge" {
			others = append(others, t)
		}
	}
	section := ""
	for _, f := range r.figures {
		if f.section != section {
			section = f.section
			fmt.Fprintf(&b, "\n## %s\n\n| figure |", section)
			for _, t := range r.targets {
				fmt.Fprintf(&b, " %s |", t.name)
			}
			for _, t := range others {
				fmt.Fprintf(&b, " wampedge ÷ %s |", t.name)
			}
			b.WriteString("\n|---|")
			b.WriteString(strings.Repeat("---|", len(r.targets)+len(others)))
			b.WriteString("\n")
		}
		fmt.Fprintf(&b, "| %s |", f.label)
		for _, t := range r.targets {
			fmt.Fprintf(&b, " %s |", f.values(t.key).cell(f.unit.format))
		}
		for _, t := range others {
			c := "—"
			if !f.noRatio {
				c = f.ratio(t.key).cell(formatRatio)
			}
			fmt.Fprintf(&b, " %s |", c)
		}
		b.WriteString("\n")
	}
	if len(r.sizes) > 0 {
		b.WriteString("\n## Stripped binary size (`-trimpath -ldflags \"-s -w\"`, CGO_ENABLED=0, as `make cross`: `-tags nethttpomithttp2`, and `-R 4096` on 32-bit ARM)\n\n| program |")
		for _, a := range r.arches {
			fmt.Fprintf(&b, " %s |", a)
		}
		b.WriteString("\n|---|" + strings.Repeat("---|", len(r.arches)) + "\n")
		for _, row := range r.sizes {
			fmt.Fprintf(&b, "| %s |", row.program)
			for _, a := range r.arches {
				if n, ok := row.bytes[a]; ok {
					fmt.Fprintf(&b, " %.2f MB |", float64(n)/1e6)
				} else {
					b.WriteString(" — |")
				}
			}
			b.WriteString("\n")
		}
		for _, row := range r.sizes {
			if row.note != "" {
				fmt.Fprintf(&b, "\n%s: %s\n", row.program, row.note)
			}
		}
	}
	if goals := r.goals(); goals != "" {
		b.WriteString(goals)
	}
	if len(r.notes) > 0 {
		b.WriteString("\n## Notes from this run\n\n")
		for _, n := range r.notes {
			b.WriteString("- " + n + "\n")
		}
	}
	return b.String()
}

// goal is one row of the goals: a ratio of wampedge to another
// target (by median of the per-run ratios), or wampedge's own value (by
// its worst run).
type goal struct {
	text   string
	figure string
	other  string // "" for wampedge's own value
	atMost bool   // the measure must be ≤ want, else ≥ want
	want   float64
}

var goals = []goal{
	{"pub/sub 1→1 events/s ≥ 10× nexus", "pub1.rate", "nexus", false, 10},
	{"pub/sub 1→1 events/s ≥ Mosquitto", "pub1.rate", "mosquitto", false, 1},
	{"pub/sub 1→1 events/s ≥ 50% of the frame relay", "pub1.rate", "relay", false, 0.5},
	{"pub/sub 1→1: 0% lost", "pub1.lost", "", true, 0},
	{"pub/sub 1→10 events/s ≥ 10× nexus", "pub10.rate", "nexus", false, 10},
	{"pub/sub 1→10 events/s ≥ Mosquitto", "pub10.rate", "mosquitto", false, 1},
	{"pub/sub 1→10 events/s ≥ 50% of the frame relay", "pub10.rate", "relay", false, 0.5},
	{"pub/sub 1→10: 0% lost", "pub10.lost", "", true, 0},
	{"lossless 1→1 events/s ≥ 10× nexus", "pub1w.rate", "nexus", false, 10},
	{"lossless 1→1 events/s ≥ Mosquitto", "pub1w.rate", "mosquitto", false, 1},
	{"lossless 1→1 events/s ≥ 50% of the frame relay", "pub1w.rate", "relay", false, 0.5},
	{"lossless 1→10 events/s ≥ 10× nexus", "pub10w.rate", "nexus", false, 10},
	{"lossless 1→10 events/s ≥ Mosquitto", "pub10w.rate", "mosquitto", false, 1},
	{"lossless 1→10 events/s ≥ 50% of the frame relay", "pub10w.rate", "relay", false, 0.5},
	{"RPC calls/s, 16 outstanding ≥ 5× nexus", "rpc16.rate", "nexus", false, 5},
	{"RPC calls/s, 16 outstanding ≥ 50% of the relay's 2-hop rate", "rpc16.rate", "relay", false, 0.5},
	{"RPC p50 latency ≤ 1/2 of nexus", "rpc.p50", "nexus", true, 0.5},
	{"RPC p50 latency ≤ 1.5× the relay's 2-hop p50", "rpc.p50", "relay", true, 1.5},
	{"router allocations per routed event (1→1): 0", "allocs.pub1", "", true, 0.005},
	{"router allocations per routed event (1→10): 0", "allocs.pub10", "", true, 0.005},
	{"router allocations per call round trip ≤ 1", "allocs.rpc16", "", true, 1},
	{"leaner than nexus: CPU per event 1→1", "cpu.pub1", "nexus", true, 1},
	{"leaner than nexus: CPU per event 1→10", "cpu.pub10", "nexus", true, 1},
	{"leaner than nexus: CPU per call", "cpu.rpc16", "nexus", true, 1},
	{"leaner than nexus: RSS idle", "rss.idle", "nexus", true, 1},
	{"leaner than nexus: RSS, first idle-session count", "rss.0", "nexus", true, 1},
	{"leaner than nexus: RSS, second idle-session count", "rss.1", "nexus", true, 1},
	{"leaner than nexus: start-up time", "startup", "nexus", true, 1},
	{"RSS idle ≤ 8 MiB", "rss.idle", "", true, 8 << 20},
	{"RSS with 1000 idle sessions ≤ 16 MiB", rss1000, "", true, 16 << 20},
}

// rss1000 stands for the RSS figure of 1000 idle sessions, whichever
// rss.N key the -idle counts gave it.
const rss1000 = "rss@1000"

// figure returns the goal's figure, or nil if this invocation has none.
func (r *results) figure(key string) *figure {
	if key != rss1000 {
		return r.byKey[key]
	}
	for k, f := range r.byKey {
		if strings.HasPrefix(k, "rss.") && strings.HasPrefix(f.label, "RSS, 1000 idle") {
			return f
		}
	}
	return nil
}

// goals renders the goal table for the figures this invocation measured.
func (r *results) goals() string {
	var b strings.Builder
	for _, g := range goals {
		f := r.figure(g.figure)
		if f == nil {
			continue
		}
		var sp spread
		var measured string
		var verdict float64
		if g.other == "" {
			sp = f.values("wampedge")
			if sp.n == 0 {
				continue
			}
			measured = sp.cell(f.unit.format)
			verdict = sp.max
			if !g.atMost {
				verdict = sp.min
			}
		} else {
			sp = f.ratio(g.other)
			if sp.n == 0 {
				continue
			}
			measured = sp.cell(formatRatio)
			verdict = sp.median
		}
		met := "**no**"
		if g.atMost && verdict <= g.want || !g.atMost && verdict >= g.want {
			met = "yes"
		}
		text := g.text
		if g.other != "" && (f.key == "rss.0" || f.key == "rss.1") {
			text = "leaner than nexus: " + f.label
		}
		fmt.Fprintf(&b, "| %s | %s | %s |\n", text, measured, met)
	}
	for _, a := range r.arches {
		var we, nx int64
		for _, row := range r.sizes {
			if strings.HasPrefix(row.program, "wampedge") {
				we = row.bytes[a]
			}
			if strings.HasPrefix(row.program, "nexusd") {
				nx = row.bytes[a]
			}
		}
		if we > 0 && strings.HasPrefix(a, "linux/arm ") {
			met := "**no**"
			if we <= 8<<20 {
				met = "yes"
			}
			fmt.Fprintf(&b, "| binary size %s ≤ 8 MiB | %.2f MiB | %s |\n", a, float64(we)/(1<<20), met)
		}
		if we > 0 && nx > 0 {
			v := float64(we) / float64(nx)
			met := "**no**"
			if v <= 1 {
				met = "yes"
			}
			fmt.Fprintf(&b, "| leaner than nexus: binary size %s | %s | %s |\n", a, formatRatio(v), met)
		}
	}
	if b.Len() == 0 {
		return ""
	}
	return "\n## Goals (wampedge ÷ the other, median of the per-run ratios; wampedge's own values by the worst run)\n\n| goal | measured | met |\n|---|---|---|\n" + b.String()
}
