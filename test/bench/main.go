package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

func main() {
	if role := os.Getenv(roleEnv); role != "" {
		os.Exit(runRole(role, os.Args[1:]))
	}
	if len(os.Args) > 1 && (os.Args[1] == roleRelay || os.Args[1] == roleNexus) {
		os.Exit(runRole(os.Args[1], os.Args[2:]))
	}
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// plan is what one invocation measures, and for how long.
type plan struct {
	runs               int
	streamFor          time.Duration // each pub/sub pattern
	callsFor           time.Duration // each RPC pattern
	warmup             time.Duration
	maxSequential      int
	settle, drainMax   time.Duration
	window             int // lossless pub/sub: events in flight
	outstanding        int // pipelined RPC
	idle               []int
	quiet              quietness
	foreignMax         float64 // cores others may use during a measurement before it counts as disturbed
	sizes              []arch
	awakeForRoundTrips bool // keep the cores from halting during the patterns bound by round trips
}

func fullPlan() plan {
	return plan{
		runs: 5, streamFor: 2 * time.Second, callsFor: 2 * time.Second, warmup: 300 * time.Millisecond,
		maxSequential: 200_000, settle: 500 * time.Millisecond, drainMax: 10 * time.Second,
		window: 32, outstanding: 16, idle: []int{1000, 5000},
		quiet:      quietness{maxBusy: 0.15, maxWait: 30 * time.Second, budget: 3 * time.Minute},
		foreignMax: 0.2, sizes: sizeArches, awakeForRoundTrips: true,
	}
}

func quickPlan() plan {
	p := fullPlan()
	p.runs = 3
	p.streamFor, p.callsFor, p.warmup = 250*time.Millisecond, 250*time.Millisecond, 100*time.Millisecond
	p.settle, p.drainMax = 300*time.Millisecond, 3*time.Second
	p.idle = []int{200, 1000}
	p.quiet.maxWait, p.quiet.budget = 5*time.Second, 20*time.Second
	p.sizes = nil
	return p
}

// harness is one invocation.
type harness struct {
	plan    plan
	self    string // this binary, run again as the relay and the nexus router
	tmp     string
	root    string // the router's module
	testDir string

	wampedgeBin      string
	wampedgeHasMDNS  bool
	mosquittoBin     string
	mosquittoVersion string
	attach           string // a running wampedge to measure instead of starting one
	attachDebug      string
	attachPID        int
	awake            *awake // the keep-awake process, or nil

	res *results
	log io.Writer
}

func (h *harness) logf(format string, args ...any) {
	fmt.Fprintf(h.log, format+"\n", args...)
}

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	quick := fs.Bool("quick", false, "short runs, fewer idle sessions, no cross-compiled sizes (under 2 minutes)")
	runs := fs.Int("runs", 0, "runs per figure (default 5; 3 with -quick)")
	only := fs.String("targets", "wampedge,nexus,mosquitto,relay", "comma-separated `list` of routers to measure")
	out := fs.String("out", "", "write the Markdown to `FILE` (default: test/bench/RESULTS.md for a full run, none for -quick)")
	wampedgeBin := fs.String("wampedge", "", "run this wampedge `binary` instead of building the release build")
	attach := fs.String("wampedge-addr", "", "measure the wampedge already listening on `HOST:PORT` instead of starting one")
	attachPID := fs.Int("wampedge-pid", 0, "with -wampedge-addr: its process `ID`, for CPU and memory")
	attachDebug := fs.String("wampedge-debug", "", "with -wampedge-addr: its -debug-addr `HOST:PORT`, for allocations")
	sizes := fs.String("sizes", "", "binary sizes: all, host or none (default all; none with -quick)")
	streamFor := fs.Duration("stream-for", 0, "publish for this long in each pub/sub pattern")
	callsFor := fs.Duration("calls-for", 0, "call for this long in each RPC pattern")
	idle := fs.String("idle", "", "comma-separated idle-session `counts` (default 1000,5000; 200,1000 with -quick)")
	keepAwake := fs.Bool("keep-awake", true, "keep the cores from halting (a SCHED_IDLE spinner) during the patterns bound by round trips: the lossless streams and the calls")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	p := fullPlan()
	if *quick {
		p = quickPlan()
	}
	if *runs > 0 {
		p.runs = *runs
	}
	if *streamFor > 0 {
		p.streamFor = *streamFor
	}
	if *callsFor > 0 {
		p.callsFor = *callsFor
	}
	p.awakeForRoundTrips = *keepAwake
	if *idle != "" {
		p.idle = nil
		for _, s := range strings.Split(*idle, ",") {
			n, err := strconv.Atoi(strings.TrimSpace(s))
			if err != nil || n <= 0 || len(p.idle) > 0 && n <= p.idle[len(p.idle)-1] {
				fmt.Fprintf(stderr, "bench: -idle wants increasing positive counts, got %q\n", *idle)
				return 2
			}
			p.idle = append(p.idle, n)
		}
	}
	switch *sizes {
	case "":
	case "all":
		p.sizes = sizeArches
	case "host":
		p.sizes = nil
		for _, a := range sizeArches {
			if a.name == hostArch() {
				p.sizes = []arch{a}
			}
		}
	case "none":
		p.sizes = nil
	default:
		fmt.Fprintf(stderr, "bench: -sizes is all, host or none, not %q\n", *sizes)
		return 2
	}
	var targets []*target
	for _, t := range allTargets() {
		if strings.Contains(","+*only+",", ","+t.key+",") {
			targets = append(targets, t)
		}
	}
	if len(targets) == 0 {
		fmt.Fprintf(stderr, "bench: -targets names none of wampedge, nexus, mosquitto, relay\n")
		return 2
	}
	h := &harness{plan: p, log: stderr, attach: *attach, attachPID: *attachPID, attachDebug: *attachDebug, wampedgeBin: *wampedgeBin}
	began := time.Now()
	err := h.setUp(*out == "")
	defer h.cleanUp()
	if err != nil {
		fmt.Fprintln(stderr, "bench:", err)
		return 1
	}
	if *out == "" && !*quick && h.testDir != "" {
		*out = filepath.Join(h.testDir, "bench", "RESULTS.md")
	}
	h.res = newResults(p.runs, targets)
	h.defineFigures()
	if len(p.sizes) > 0 {
		h.logf("binary sizes")
		rows, err := h.sizes(p.sizes)
		if err != nil {
			h.res.note("binary sizes not measured: %v", firstLine(err))
		}
		h.res.sizes = rows
		for _, a := range p.sizes {
			h.res.arches = append(h.res.arches, a.name)
		}
	}
	for r := range p.runs {
		for i := range targets {
			t := targets[(i+r)%len(targets)] // a different order each run, so that drift is spread
			h.measureTarget(r, t)
		}
	}
	took := time.Since(began).Round(time.Second)
	md := h.res.markdown(h.header(*quick, took))
	fmt.Fprint(stdout, md)
	if *out != "" {
		if err := os.WriteFile(*out, []byte(md), 0o644); err != nil {
			fmt.Fprintln(stderr, "bench:", err)
			return 1
		}
		h.logf("wrote %s", *out)
	}
	return 0
}

// setUp finds or builds what the invocation runs.
func (h *harness) setUp(needTestDir bool) error {
	var err error
	if h.self, err = os.Executable(); err != nil {
		return err
	}
	if h.tmp, err = os.MkdirTemp("", "wampedge-bench"); err != nil {
		return err
	}
	limit, err := raiseFileLimit()
	if err != nil {
		return err
	}
	if need := uint64(h.plan.idle[len(h.plan.idle)-1]) + 256; limit < need {
		return fmt.Errorf("the open-file limit is %d; %d idle sessions need %d (raise the hard limit, or use -idle)", limit, h.plan.idle[len(h.plan.idle)-1], need)
	}
	if err := h.locate(); err != nil {
		if h.wampedgeBin == "" && h.attach == "" || len(h.plan.sizes) > 0 {
			return err
		}
		h.logf("no Go module here (%v): using -wampedge or -wampedge-addr", err)
	}
	if h.wampedgeBin == "" && h.attach == "" {
		h.logf("building the wampedge release build")
		if h.wampedgeBin, err = h.buildWampedge(); err != nil {
			return err
		}
	}
	if h.wampedgeBin != "" {
		help, _ := exec.Command(h.wampedgeBin, "-h").CombinedOutput()
		h.wampedgeHasMDNS = strings.Contains(string(help), "-mdns")
		if !strings.Contains(string(help), "-debug-addr") {
			return fmt.Errorf("%s has no -debug-addr flag: build it from this tree", h.wampedgeBin)
		}
	}
	h.mosquittoBin, _ = exec.LookPath("mosquitto")
	if h.mosquittoBin == "" {
		if _, err := os.Stat("/usr/sbin/mosquitto"); err == nil {
			h.mosquittoBin = "/usr/sbin/mosquitto"
		}
	}
	if h.mosquittoBin != "" {
		out, _ := exec.Command(h.mosquittoBin, "-h").CombinedOutput()
		line, _, _ := strings.Cut(string(out), "\n")
		h.mosquittoVersion = strings.TrimPrefix(strings.TrimSpace(line), "mosquitto version ")
	}
	if h.plan.awakeForRoundTrips {
		if h.awake, err = startAwake(h.self); err != nil {
			return err
		}
	}
	return nil
}

// cleanUp stops the helper and removes the temporary directory.
func (h *harness) cleanUp() {
	h.awake.stop()
	if h.tmp != "" {
		os.RemoveAll(h.tmp)
	}
}

// defineFigures lays out the report's rows.
func (h *harness) defineFigures() {
	r, p := h.res, h.plan
	const flow = "Throughput and latency (40-byte payload, TCP loopback)"
	r.define(flow, "pub1.rate", "pub/sub 1→1, full rate: events/s delivered", perSecond, false)
	r.define(flow, "pub1.lost", "pub/sub 1→1, full rate: events lost", percent, true)
	r.define(flow, "pub10.rate", "pub/sub 1→10, full rate: events/s delivered", perSecond, false)
	r.define(flow, "pub10.lost", "pub/sub 1→10, full rate: events lost", percent, true)
	lossless := fmt.Sprintf("lossless (≤ %d in flight)", p.window)
	r.define(flow, "pub1w.rate", "pub/sub 1→1, "+lossless+": events/s", perSecond, false)
	r.define(flow, "pub1w.lost", "pub/sub 1→1, "+lossless+": events lost", percent, true)
	r.define(flow, "pub10w.rate", "pub/sub 1→10, "+lossless+": events/s delivered", perSecond, false)
	r.define(flow, "pub10w.lost", "pub/sub 1→10, "+lossless+": events lost", percent, true)
	r.define(flow, "rpc.p50", "RPC, one call at a time: round trip p50", micros, false)
	r.define(flow, "rpc.p99", "RPC, one call at a time: round trip p99", micros, false)
	r.define(flow, "rpc16.rate", fmt.Sprintf("RPC, %d outstanding: calls/s", p.outstanding), perSecond, false)
	const work = "Router process cost (full-rate streams: per event delivered; RPC: per call, 16 outstanding)"
	r.define(work, "cpu.pub1", "CPU per event, 1→1", micros, false)
	r.define(work, "cpu.pub10", "CPU per event, 1→10", micros, false)
	r.define(work, "cpu.rpc16", "CPU per call", micros, false)
	r.define(work, "allocs.pub1", "heap allocations per event, 1→1", perMessage, false)
	r.define(work, "allocs.pub10", "heap allocations per event, 1→10", perMessage, false)
	r.define(work, "allocs.rpc16", "heap allocations per call", perMessage, false)
	r.define(work, "bytes.pub1", "heap bytes per event, 1→1", byteCount, false)
	r.define(work, "bytes.pub10", "heap bytes per event, 1→10", byteCount, false)
	r.define(work, "bytes.rpc16", "heap bytes per call", byteCount, false)
	const mem = "Memory and start-up"
	r.define(mem, "rss.idle", "RSS, no session", mebibytes, false)
	for i, n := range p.idle {
		r.define(mem, fmt.Sprintf("rss.%d", i), fmt.Sprintf("RSS, %d idle sessions with a subscription each", n), mebibytes, false)
	}
	r.define(mem, "startup", "start-up to the first accepted handshake", millis, false)
}

// measureTarget runs every pattern on one router, on fresh processes.
func (h *harness) measureTarget(run int, t *target) {
	h.logf("run %d/%d: %s", run+1, h.plan.runs, t.name)
	// Memory and start-up on a process that has carried no traffic.
	quiet, _ := h.plan.quiet.wait()
	p, err := t.start(h)
	if err != nil {
		h.res.note("%s did not start: %v", t.name, firstLine(err))
		return
	}
	if !p.external {
		h.res.add("startup", t.key, run, float64(p.startup)/1e6, !quiet)
		h.logf("  start-up %v", p.startup.Round(10*time.Microsecond))
	}
	if p.pid > 0 {
		idle, with, err := h.idleRSS(p)
		if err != nil {
			h.res.note("%s: idle sessions: %v", t.name, firstLine(err))
		}
		if idle > 0 {
			h.res.add("rss.idle", t.key, run, float64(idle), false)
		}
		for i, rss := range with {
			h.res.add(fmt.Sprintf("rss.%d", i), t.key, run, float64(rss), false)
		}
		h.logf("  RSS idle %.1f MiB, with %v sessions %v MiB", float64(idle)/(1<<20), h.plan.idle[:len(with)], mib(with))
	}
	p.stop()

	if p, err = t.start(h); err != nil {
		h.res.note("%s did not start: %v", t.name, firstLine(err))
		return
	}
	defer func() { p.stop() }()
	h.pubsub(p, 1, h.plan.window, h.plan.warmup) // warm-up: the runtime's heap and the kernel's buffers grow here
	for _, ps := range []struct {
		key, name    string
		subs, window int
	}{
		{"pub1", "1→1 full rate", 1, 0},
		{"pub10", "1→10 full rate", 10, 0},
		{"pub1w", "1→1 lossless", 1, h.plan.window},
		{"pub10w", "1→10 lossless", 10, h.plan.window},
	} {
		res, c, err := h.pubsub(p, ps.subs, ps.window, h.plan.streamFor)
		if err != nil {
			h.res.note("%s, pub/sub %s (run %d): %v", t.name, ps.name, run+1, firstLine(err))
			p = h.restartIfDead(p, t)
			continue
		}
		h.res.add(ps.key+".rate", t.key, run, res.Rate(), c.disturbed)
		h.res.add(ps.key+".lost", t.key, run, res.Lost(), c.disturbed)
		if ps.window == 0 {
			h.addCost(ps.key, t.key, run, c)
		}
		h.logf("  pub/sub %-14s %9.0f events/s, sent %d, delivered %d, lost %.2f%%, %.2f µs CPU/event, %.2f allocs/event",
			ps.name, res.Rate(), res.Sent, res.Delivered, 100*res.Lost(), c.cpuMicros, c.allocs)
		if res.Disconnected > 0 {
			h.res.note("%s, pub/sub %s (run %d): the router closed %d of %d subscribers' connections; %.1f%% of the events due were delivered",
				t.name, ps.name, run+1, res.Disconnected, res.Subscribers, 100*(1-res.Lost()))
		}
		if c.slowKills > 0 || c.drop > 0 {
			h.res.note("%s, pub/sub %s (run %d): its counters say %d slow-consumer disconnections, %d events dropped",
				t.name, ps.name, run+1, c.slowKills, c.drop)
		}
		if res.Stalled {
			h.res.note("%s, pub/sub %s (run %d): events stopped arriving with %d in flight; the stream ended there",
				t.name, ps.name, run+1, h.plan.window)
		}
		if res.DrainCut {
			h.res.note("%s, pub/sub %s (run %d): events still arrived %v after publishing ended; the rest counts as lost",
				t.name, ps.name, run+1, h.plan.drainMax)
		}
		p = h.restartIfDead(p, t)
	}
	if !t.rpc {
		return
	}
	rtts, c, err := h.rpcSequential(p)
	if err != nil {
		h.res.note("%s, RPC one at a time (run %d): %v", t.name, run+1, firstLine(err))
		p = h.restartIfDead(p, t)
	} else {
		s := sortedCopy(rtts)
		h.res.add("rpc.p50", t.key, run, float64(percentile(s, 0.50))/1e3, c.disturbed)
		h.res.add("rpc.p99", t.key, run, float64(percentile(s, 0.99))/1e3, c.disturbed)
		h.logf("  RPC one at a time: %d calls, p50 %v, p99 %v", len(s), percentile(s, 0.5), percentile(s, 0.99))
	}
	rate, c, err := h.rpcPipelined(p)
	if err != nil {
		h.res.note("%s, RPC %d outstanding (run %d): %v", t.name, h.plan.outstanding, run+1, firstLine(err))
		return
	}
	h.res.add("rpc16.rate", t.key, run, rate, c.disturbed)
	h.addCost("rpc16", t.key, run, c)
	h.logf("  RPC %d outstanding: %.0f calls/s, %.2f µs CPU/call, %.2f allocs/call", h.plan.outstanding, rate, c.cpuMicros, c.allocs)
}

func (h *harness) addCost(pattern, target string, run int, c cost) {
	if c.cpuMicros > 0 {
		h.res.add("cpu."+pattern, target, run, c.cpuMicros, c.disturbed)
	}
	if c.hasAllocs {
		h.res.add("allocs."+pattern, target, run, c.allocs, c.disturbed)
		h.res.add("bytes."+pattern, target, run, c.bytes, c.disturbed)
	}
}

// restartIfDead starts the router again when a pattern killed it.
func (h *harness) restartIfDead(p *process, t *target) *process {
	if p.alive() {
		return p
	}
	h.res.note("%s exited during a pattern: %s", t.name, lastLines(p.stderr.String(), 3))
	q, err := t.start(h)
	if err != nil {
		h.res.note("%s did not start again: %v", t.name, firstLine(err))
		return p
	}
	return q
}

// header is the report's preamble.
func (h *harness) header(quick bool, took time.Duration) string {
	mode := "`make bench`"
	if quick {
		mode = "`make bench-quick`"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "# wampedge benchmark results\n\n")
	fmt.Fprintf(&b, "- date: %s\n", time.Now().UTC().Format("2006-01-02 15:04 MST"))
	fmt.Fprintf(&b, "- machine: %s\n", machine())
	if h.root != "" {
		fmt.Fprintf(&b, "- commit: %s\n", commit(h.root))
	}
	fmt.Fprintf(&b, "- routers: wampedge release build (as `make build`: -trimpath, -s -w, nethttpomithttp2; default config, realm1, anonymous); nexus %s (RawSocket server, defaults); Mosquitto %s (Debian, defaults, MQTT 3.1.1 QoS 0); the frame relay (test/bench/relay)\n", nexusVersion, orUnknown(h.mosquittoVersion))
	fmt.Fprintf(&b, "- harness: %s, %d runs per figure, %v per pub/sub pattern and %v per RPC pattern; the harness took %v\n", mode, h.plan.runs, h.plan.streamFor, h.plan.callsFor, took)
	if !h.plan.awakeForRoundTrips {
		b.WriteString("- -keep-awake=false: the cores could halt during the lossless streams and the calls\n")
	}
	b.WriteString(`
Each cell is the median over the runs, with the lowest and highest in parentheses. A ratio
is wampedge's figure divided by the other router's, taken run by run within this invocation;
below 1 is better for times, CPU, allocations and memory. Full rate: the publisher writes
as fast as the router reads; events that never arrive count as lost. Lossless: the publisher
keeps at most the given number of events in flight to the slowest subscriber (counted by the
subscribers, so the same for WAMP and MQTT). The relay copies frames without decoding them;
its RPC figures are its 2-hop mode (caller → relay → responder and back). During the
patterns bound by round trips (the lossless streams and both RPC patterns) a SCHED_IDLE
spinner keeps the cores from halting: on a VM, waking a halted core costs more than a
router's hop, and the figure would measure the hypervisor. The full-rate streams keep the
cores busy and run without it.
† marks a figure with a run that was disturbed: the machine was not quiet before it, or
other processes used more than a fifth of a core while it ran.
`)
	return b.String()
}

func orUnknown(s string) string {
	if s == "" {
		return "(not installed)"
	}
	return s
}

// firstLine is an error on one line, for a note: its first line, and
// the last when there are more (the compiler's complaint after go build).
func firstLine(err error) string {
	lines := strings.Split(strings.TrimSpace(err.Error()), "\n")
	if len(lines) > 1 {
		return lines[0] + ": " + lines[len(lines)-1]
	}
	return lines[0]
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, " / ")
}

func mib(v []int64) []string {
	var s []string
	for _, x := range v {
		s = append(s, strconv.FormatFloat(float64(x)/(1<<20), 'f', 1, 64))
	}
	return s
}
