// Package testutil holds what several packages' tests share: a buffer a
// subprocess or goroutine may write while a test reads it, and building
// the commands into a temporary directory.
package testutil

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

// SyncBuffer is a bytes.Buffer that is safe for concurrent use.
type SyncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *SyncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *SyncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// GoBuild builds packages into dir with the go tool on PATH (go test puts
// its own GOROOT/bin first), passing ldflags when not empty. It builds in
// the root module, so that a test in test/ gets the binaries users get,
// with the root module's dependencies.
func GoBuild(dir, ldflags string, pkgs ...string) error {
	gotool, err := exec.LookPath("go")
	if err != nil {
		return fmt.Errorf("building %v: %w", pkgs, err)
	}
	args := []string{"build", "-o", dir + string(filepath.Separator)}
	if ldflags != "" {
		args = append(args, "-ldflags", ldflags)
	}
	for i, p := range pkgs {
		if strings.HasPrefix(p, ".") { // relative to the test's directory
			if pkgs[i], err = filepath.Abs(p); err != nil {
				return err
			}
		}
	}
	cmd := exec.Command(gotool, append(args, pkgs...)...)
	cmd.Dir = moduleRoot()
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build %v: %v\n%s", pkgs, err, out)
	}
	return nil
}

// moduleRoot is the root module's directory: two up from this file.
func moduleRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}

// WaitFor polls cond every 5 ms until it holds, and fails the test after
// timeout: bounded in count and time.
func WaitFor(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	const step = 5 * time.Millisecond
	for range int(timeout / step) {
		if cond() {
			return
		}
		time.Sleep(step)
	}
	t.Fatalf("still waiting for %s after %v", what, timeout)
}

// Ctx is a context that ends after timeout or with the test.
func Ctx(t testing.TB, timeout time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	t.Cleanup(cancel)
	return ctx
}
