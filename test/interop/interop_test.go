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
		notes map[string]string
	}{cells: map[string]map[string]string{}, notes: map[string]string{}}
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
		switch {
		case t.Skipped():
			outcome = "n/a"
		case t.Failed():
			outcome = "FAIL"
			t.Logf("frame log of %s / %s:\n%s", row, sc.name, e.log.String())
		}
		record(row, sc.name, outcome)
	}()
	sc.run(e)
}

func record(row, scenario, outcome string) {
	results.Lock()
	defer results.Unlock()
	if results.cells[row] == nil {
		results.cells[row] = map[string]string{}
	}
	results.cells[row][scenario] = outcome
}

// printMatrix prints peer × transport × serializer × scenario.
func printMatrix() {
	results.Lock()
	defer results.Unlock()
	rows := make([]string, 0, len(results.cells))
	for r := range results.cells {
		rows = append(rows, r)
	}
	sort.Strings(rows)
	var b strings.Builder
	fmt.Fprintf(&b, "\ninterop matrix (wampedge router; pass / FAIL / n/a):\n\n| peer | transport | serializer |")
	for _, sc := range scenarios {
		fmt.Fprintf(&b, " %s |", sc.name)
	}
	b.WriteString("\n|---|---|---|" + strings.Repeat("---|", len(scenarios)) + "\n")
	passed, failed := 0, 0
	for _, r := range rows {
		parts := strings.Split(r, "/")
		fmt.Fprintf(&b, "| %s | %s | %s |", parts[0], parts[1], parts[2])
		for _, sc := range scenarios {
			cell := results.cells[r][sc.name]
			if cell == "" {
				cell = "-"
			}
			switch cell {
			case "pass":
				passed++
			case "FAIL":
				failed++
			}
			fmt.Fprintf(&b, " %s |", cell)
		}
		b.WriteString("\n")
	}
	b.WriteString("\nn/a and reduced cases are the libraries' own limits:\n")
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
	fmt.Fprintf(&b, "\ninterop: %d passed, %d failed\n", passed, failed)
	fmt.Print(b.String())
	// go test shows a passing package's output only with -v: the
	// Makefile prints this file.
	if path := os.Getenv("INTEROP_MATRIX"); path != "" {
		os.WriteFile(path, []byte(b.String()), 0o644)
	}
}
