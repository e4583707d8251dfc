// Package testutil holds what several packages' tests share: a buffer a
// subprocess or goroutine may write while a test reads it, and building
// the commands into a temporary directory.
package testutil

import (
	"bytes"
	"fmt"
	"os/exec"
	"path/filepath"
	"sync"
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
// its own GOROOT/bin first), passing ldflags when not empty.
func GoBuild(dir, ldflags string, pkgs ...string) error {
	gotool, err := exec.LookPath("go")
	if err != nil {
		return fmt.Errorf("building %v: %w", pkgs, err)
	}
	args := []string{"build", "-o", dir + string(filepath.Separator)}
	if ldflags != "" {
		args = append(args, "-ldflags", ldflags)
	}
	if out, err := exec.Command(gotool, append(args, pkgs...)...).CombinedOutput(); err != nil {
		return fmt.Errorf("go build %v: %v\n%s", pkgs, err, out)
	}
	return nil
}
