package interop

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"github.com/wampedge/wampedge/internal/testutil"
)

const (
	// routerMaxLen is the largest message the router accepts in these
	// tests: large enough for the 1 MiB string of the mixed payload.
	routerMaxLen = 2 << 20
	// peerMaxLen is what peers announce they accept, where they can.
	peerMaxLen = 16 << 20
)

// target is a router under test: where a transport's connections go.
type target interface {
	target(transport string) string
	// lacks names what the router cannot do, with the reason.
	lacks() map[string]string
}

// router is the real wampedge binary, listening on a loopback port and a
// Unix socket.
type router struct {
	cmd     *exec.Cmd
	tcpAddr string // HOST:PORT
	unix    string // socket path
	stderr  *testutil.SyncBuffer
}

// startRouter builds wampedge into dir and starts it.
func startRouter(dir string) (*router, error) {
	if err := testutil.GoBuild(dir, "", "github.com/wampedge/wampedge/cmd/wampedge"); err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0") // a port free a moment ago
	if err != nil {
		return nil, err
	}
	r := &router{tcpAddr: ln.Addr().String(), unix: filepath.Join(dir, "wampedge.sock"), stderr: new(testutil.SyncBuffer)}
	ln.Close()
	config := filepath.Join(dir, "wampedge.json")
	if err := os.WriteFile(config, []byte(fmt.Sprintf(`{
		"listeners": [{"url": "tcp://%s"}, {"url": "unix://%s"}],
		"limits": {"max_length": %d}
	}`, r.tcpAddr, r.unix, routerMaxLen)), 0o644); err != nil {
		return nil, err
	}
	r.cmd = exec.Command(filepath.Join(dir, "wampedge"), "-config", config, "-log-level", "info")
	r.cmd.Stderr = r.stderr
	if err := r.cmd.Start(); err != nil {
		return nil, err
	}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		c, err := net.Dial("unix", r.unix)
		if err == nil {
			c.Close()
			return r, nil
		}
		if time.Now().After(deadline) {
			r.stop()
			return nil, fmt.Errorf("wampedge did not start: %s", r.stderr.String())
		}
	}
}

// target is the router's address for a transport ("tcp" or "unix").
func (r *router) target(transport string) string {
	if transport == "unix" {
		return r.unix
	}
	return r.tcpAddr
}

func (r *router) lacks() map[string]string { return nil }

func (r *router) stop() {
	r.cmd.Process.Signal(os.Interrupt)
	done := make(chan struct{})
	go func() { r.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		r.cmd.Process.Kill()
		<-done
	}
}
