package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/wampedge/wampedge/internal/testutil"
)

// testRouter is a wampedge of a test's own, on a Unix socket of its own
// (url) and what else args say; the test may stop it and start it again
// on the same listeners.
type testRouter struct {
	t    *testing.T
	url  string
	args []string
	cmd  *exec.Cmd
	log  testutil.SyncBuffer
}

// newRouter starts a router with a config (nil: none) and arguments;
// the Unix listener comes first in the config's listeners, or in -listen.
func newRouter(t *testing.T, config map[string]any, args ...string) *testRouter {
	t.Helper()
	r := &testRouter{t: t, url: "unix://" + filepath.Join(t.TempDir(), "r.sock")}
	r.args = []string{"-log-level", "warn", "-mdns=false"}
	if config == nil {
		r.args = append(r.args, "-listen", r.url)
	} else {
		listeners, _ := config["listeners"].([]any)
		config["listeners"] = append([]any{map[string]any{"url": r.url}}, listeners...)
		r.args = append(r.args, "-config", writeJSON(t, "wampedge.json", config))
	}
	r.args = append(r.args, args...)
	r.start()
	t.Cleanup(func() {
		r.stop()
		if t.Failed() {
			t.Logf("wampedge %q:\n%s", r.args, r.log.String())
		}
	})
	return r
}

func (r *testRouter) start() {
	r.t.Helper()
	cmd, err := launchRouter(r.args, &r.log, r.url)
	if err != nil {
		r.t.Fatalf("%v\n%s", err, r.log.String())
	}
	r.cmd = cmd
}

// stop shuts the router down as an operator does, with SIGTERM.
func (r *testRouter) stop() {
	if r.cmd == nil {
		return
	}
	r.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { r.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(runTimeout):
		r.cmd.Process.Kill()
		<-done
		r.t.Errorf("wampedge did not stop on SIGTERM within %v", runTimeout)
	}
	r.cmd = nil
}

// writeJSON writes v as a JSON file in the test's directory.
func writeJSON(t *testing.T, name string, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return writeFile(t, name, string(b))
}

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}
