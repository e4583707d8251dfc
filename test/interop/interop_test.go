package interop

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/wampedge/wampedge/internal/testutil"
)

var (
	theRouter *router
	binDir    string
	results   = struct {
		sync.Mutex
		cells map[string]map[string]string // row -> scenario -> outcome
		// why maps a peer (the row's first part) and a scenario to why
		// it was n/a or reduced there, each reason once.
		why map[[2]string][]string
	}{cells: map[string]map[string]string{}, why: map[[2]string][]string{}}
)

func TestMain(m *testing.M) { os.Exit(testMain(m)) }

func testMain(m *testing.M) int {
	dir, err := os.MkdirTemp("", "wampedge-interop")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	binDir = dir
	// Every peer must be here: `make test` installs them. A missing one
	// is a failure, never a skip.
	if err := checkPeers(dir); err != nil {
		fmt.Fprintln(os.Stderr, "interop peers are not installed (run `make test`, which installs them):", err)
		return 1
	}
	if theRouter, err = startRouter(dir); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	code := m.Run()
	theRouter.stop()
	printMatrix()
	return code
}

// selected reports whether a peer kind is to run: all of them, unless
// INTEROP_PEERS names some (for a developer's quicker run).
func selected(name string) bool {
	only := os.Getenv("INTEROP_PEERS")
	return only == "" || contains(strings.Split(only, ","), name)
}

func checkPeers(dir string) error {
	if selected("autobahn-js") {
		if _, err := exec.LookPath("node"); err != nil {
			return err
		}
		if _, err := os.Stat(filepath.Join("peers", "js", "node_modules", "autobahn")); err != nil {
			return fmt.Errorf("autobahn-js: %w", err)
		}
	}
	if selected("autobahn-python") {
		if out, err := exec.Command("/usr/bin/python3", "-c", "import autobahn, msgpack").CombinedOutput(); err != nil {
			return fmt.Errorf("autobahn-python: %v: %s", err, out)
		}
	}
	if selected("autobahn-cpp") {
		return buildCppPeer(dir)
	}
	return nil
}

// TestInterop runs every scenario for every peer × transport ×
// serializer the peer supports, against the real wampedge binary.
func TestInterop(t *testing.T) {
	for _, kind := range peerKinds(binDir) {
		if !selected(kind.name) {
			continue
		}
		for _, transport := range []string{"tcp", "unix"} {
			for _, ser := range kind.serializers {
				row := fmt.Sprintf("%s/%s/%s", kind.name, transport, ser)
				t.Run(row, func(t *testing.T) {
					t.Parallel()
					for _, sc := range scenarios {
						t.Run(sc.name, func(t *testing.T) { runScenario(t, theRouter, kind, transport, ser, row, sc) })
					}
				})
			}
		}
	}
}

func runScenario(t *testing.T, to target, kind peerKind, transport, ser, row string, sc scenario) {
	e := &env{
		t: t, kind: kind, transport: transport, ser: ser, router: to, dir: binDir,
		prefix: "com.interop." + strings.NewReplacer("/", "_", "-", "_").Replace(row) + "." + sc.name,
		log:    new(testutil.SyncBuffer),
	}
	defer func() {
		e.cleanup()
		outcome := "pass"
		var why []string
		switch {
		case t.Failed():
			outcome = "FAIL"
			t.Logf("frame log of %s / %s:\n%s", row, sc.name, e.log.String())
		case t.Skipped():
			outcome = "n/a"
			if e.naWhy != "" { // else a lack the kind declares, listed anyway
				why = []string{"n/a: " + e.naWhy}
			}
		default:
			for _, r := range e.reducedWhy {
				outcome = "pass*"
				why = append(why, "reduced: "+r)
			}
		}
		if os.Getenv("INTEROP_FRAMES") != "" && !t.Failed() {
			t.Logf("frame log of %s / %s:\n%s", row, sc.name, e.log.String())
		}
		record(row, sc.name, outcome, why)
	}()
	sc.run(e)
}

func record(row, scenario, outcome string, why []string) {
	results.Lock()
	defer results.Unlock()
	if results.cells[row] == nil {
		results.cells[row] = map[string]string{}
	}
	results.cells[row][scenario] = outcome
	key := [2]string{strings.Split(row, "/")[0], scenario}
	for _, w := range why {
		if !contains(results.why[key], w) {
			results.why[key] = append(results.why[key], w)
		}
	}
}

// printMatrix prints peer × transport × serializer × scenario, the
// Basic Profile scenarios and the Advanced Profile ones in a table each,
// then the count of each outcome per scenario and why cells are n/a.
func printMatrix() {
	results.Lock()
	defer results.Unlock()
	rows := make([]string, 0, len(results.cells))
	for r := range results.cells {
		rows = append(rows, r)
	}
	sort.Strings(rows)
	var b strings.Builder
	count := map[string]map[string]int{} // scenario -> outcome -> cells
	for _, table := range []struct {
		title     string
		scenarios []scenario
	}{{"Basic Profile", basicScenarios}, {"Advanced Profile", advancedScenarios}} {
		fmt.Fprintf(&b, "\ninterop matrix, %s (wampedge router; pass / pass* / FAIL / n/a):\n\n| peer | transport | serializer |", table.title)
		for _, sc := range table.scenarios {
			fmt.Fprintf(&b, " %s |", sc.name)
		}
		b.WriteString("\n|---|---|---|" + strings.Repeat("---|", len(table.scenarios)) + "\n")
		for _, r := range rows {
			parts := strings.Split(r, "/")
			fmt.Fprintf(&b, "| %s | %s | %s |", parts[0], parts[1], parts[2])
			for _, sc := range table.scenarios {
				cell := results.cells[r][sc.name]
				if cell == "" {
					cell = "-"
				}
				if count[sc.name] == nil {
					count[sc.name] = map[string]int{}
				}
				count[sc.name][cell]++
				fmt.Fprintf(&b, " %s |", cell)
			}
			b.WriteString("\n")
		}
	}
	passed, failed, na := 0, 0, 0
	b.WriteString("\n| scenario | pass | FAIL | n/a |\n|---|---|---|---|\n")
	for _, sc := range scenarios {
		c := count[sc.name]
		fmt.Fprintf(&b, "| %s | %d | %d | %d |\n", sc.name, c["pass"]+c["pass*"], c["FAIL"], c["n/a"])
		passed, failed, na = passed+c["pass"]+c["pass*"], failed+c["FAIL"], na+c["n/a"]
	}
	b.WriteString("\npass*: passed, without what the library lacks (\"reduced\" below).\n" +
		"n/a and reduced cases are the libraries' own limits:\n")
	for _, k := range append(peerKinds(binDir), peerKind{name: "nexus-router (as the router)", lacks: (&nexusRouter{}).lacks()}) {
		keys := make([]string, 0, len(k.lacks))
		for key := range k.lacks {
			keys = append(keys, key)
		}
		sort.Strings(keys)
		for _, key := range keys {
			fmt.Fprintf(&b, "- %s: %s (%s)\n", k.name, k.lacks[key], key)
		}
		if k.maxLen > 0 {
			fmt.Fprintf(&b, "- %s: announces a %d-byte limit in its handshake; larger messages are not delivered to it\n", k.name, k.maxLen)
		}
	}
	keys := make([][2]string, 0, len(results.why))
	for k := range results.why {
		keys = append(keys, k)
	}
	order := map[string]int{}
	for i, sc := range scenarios {
		order[sc.name] = i
	}
	sort.Slice(keys, func(i, j int) bool {
		if keys[i][0] != keys[j][0] {
			return keys[i][0] < keys[j][0]
		}
		return order[keys[i][1]] < order[keys[j][1]]
	})
	for _, k := range keys {
		for _, w := range results.why[k] {
			fmt.Fprintf(&b, "- %s, %s: %s\n", k[0], k[1], w)
		}
	}
	fmt.Fprintf(&b, "\ninterop: %d passed, %d failed, %d n/a\n", passed, failed, na)
	fmt.Print(b.String())
	// go test shows a passing package's output only with -v: the
	// Makefile prints this file.
	if path := os.Getenv("INTEROP_MATRIX"); path != "" {
		os.WriteFile(path, []byte(b.String()), 0o644)
	}
}
