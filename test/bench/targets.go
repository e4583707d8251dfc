package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/wampedge/wampedge/test/bench/loadgen"
)

// A target is one router the harness measures.
type target struct {
	name    string // the column's title
	key     string // for -targets
	mqtt    bool   // speaks MQTT, not WAMP: pub/sub patterns only
	rpc     bool   // routes calls
	start   func(h *harness) (*process, error)
	version string // for the report, when known
}

// process is a router running for the harness, in its own process.
type process struct {
	name     string
	cmd      *exec.Cmd // nil for a router the harness did not start
	pid      int
	addr     string // HOST:PORT clients connect to
	debug    string // HOST:PORT of /debug/vars, or ""
	mqtt     bool
	stderr   *tail
	exited   chan struct{}
	startup  time.Duration // from exec to the first accepted handshake
	external bool
}

// readyTimeout bounds the wait for a router's first accepted handshake.
const readyTimeout = 10 * time.Second

// spawn starts a router process and waits for its first accepted
// handshake, which it times from the exec.
func spawn(name, addr, debug string, mqtt bool, bin string, args []string, env []string) (*process, error) {
	warm(bin)
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), env...)
	p := &process{name: name, cmd: cmd, addr: addr, debug: debug, mqtt: mqtt, stderr: &tail{}, exited: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = p.stderr, p.stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL} // never outlive the harness
	started := time.Now()
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	p.pid = cmd.Process.Pid
	go func() { cmd.Wait(); close(p.exited) }()
	if err := p.awaitHandshake(started); err != nil {
		p.stop()
		return nil, fmt.Errorf("%s: %w\n%s", name, err, p.stderr)
	}
	return p, nil
}

// warm reads a router's binary so that it starts from the page cache,
// as the others do. On this VM the kernel pages out what has not been
// touched for a few seconds (a DAMON pageout scheme): the wampedge
// binary, idle while the other routers ran, started from the disk,
// while nexus and the relay run from the harness's own binary, which
// never cools. A cold start is a property of the disk, not the router.
func warm(bin string) {
	f, err := os.Open(bin)
	if err != nil {
		return // exec reports it
	}
	defer f.Close()
	io.Copy(io.Discard, f)
}

// awaitHandshake polls until the router accepts a handshake.
func (p *process) awaitHandshake(started time.Time) error {
	for deadline := started.Add(readyTimeout); ; {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		err := p.handshake(ctx)
		cancel()
		if err == nil {
			p.startup = time.Since(started)
			return nil
		}
		select {
		case <-p.exited:
			return fmt.Errorf("exited before accepting a connection (%v)", p.cmd.ProcessState)
		default:
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("no handshake accepted within %v: %w", readyTimeout, err)
		}
		time.Sleep(500 * time.Microsecond)
	}
}

func (p *process) handshake(ctx context.Context) error {
	if p.mqtt {
		return loadgen.HandshakeMQTT(ctx, p.addr)
	}
	return loadgen.HandshakeWAMP(ctx, p.addr)
}

// stop ends the process: SIGTERM, then SIGKILL after a grace period.
func (p *process) stop() {
	if p.cmd == nil {
		return
	}
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
	case <-time.After(5 * time.Second):
		p.cmd.Process.Kill()
		<-p.exited
	}
}

// alive reports whether the process still runs.
func (p *process) alive() bool {
	if p.cmd == nil {
		return true
	}
	select {
	case <-p.exited:
		return false
	default:
		return true
	}
}

// debugVars is what the harness reads from /debug/vars.
type debugVars struct {
	Memstats struct {
		Mallocs, TotalAlloc uint64
	} `json:"memstats"`
	Router *struct {
		SlowConsumerKills, DroppedEvents uint64
	} `json:"router"`
}

var debugClient = &http.Client{Timeout: 5 * time.Second}

// vars reads the process's /debug/vars; ok is false when it has none.
func (p *process) vars() (v debugVars, ok bool, err error) {
	if p.debug == "" {
		return v, false, nil
	}
	resp, err := debugClient.Get("http://" + p.debug + "/debug/vars")
	if err != nil {
		return v, false, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return v, false, fmt.Errorf("GET /debug/vars: %s", resp.Status)
	}
	if err := json.NewDecoder(resp.Body).Decode(&v); err != nil {
		return v, false, err
	}
	return v, true, nil
}

// freeAddr is a loopback address with a port nobody listened on a
// moment ago.
func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

func freeAddrs() (addr, debug string, err error) {
	if addr, err = freeAddr(); err != nil {
		return
	}
	debug, err = freeAddr()
	return
}

// The targets, in the report's column order.
func allTargets() []*target {
	return []*target{
		{name: "wampedge", key: "wampedge", rpc: true, start: startWampedge},
		{name: "nexus", key: "nexus", rpc: true, start: startNexus, version: "v3.3.0"},
		{name: "Mosquitto", key: "mosquitto", mqtt: true, start: startMosquitto},
		{name: "frame relay", key: "relay", rpc: true, start: startRelay},
	}
}

func startWampedge(h *harness) (*process, error) {
	if h.attach != "" {
		return h.attached()
	}
	addr, debug, err := freeAddrs()
	if err != nil {
		return nil, err
	}
	args := []string{"-listen", "tcp://" + addr, "-realm", loadgen.Realm, "-log-level", "warn", "-debug-addr", debug}
	if h.wampedgeHasMDNS {
		args = append(args, "-mdns=false") // loopback only: no multicast announcements
	}
	return spawn("wampedge", addr, debug, false, h.wampedgeBin, args, nil)
}

func startNexus(h *harness) (*process, error) {
	addr, debug, err := freeAddrs()
	if err != nil {
		return nil, err
	}
	return spawn("nexus", addr, debug, false, h.self, []string{"-addr", addr, "-debug-addr", debug}, []string{roleEnv + "=" + roleNexus})
}

func startRelay(h *harness) (*process, error) {
	addr, debug, err := freeAddrs()
	if err != nil {
		return nil, err
	}
	return spawn("frame relay", addr, debug, false, h.self, []string{"-addr", addr, "-debug-addr", debug}, []string{roleEnv + "=" + roleRelay})
}

func startMosquitto(h *harness) (*process, error) {
	if h.mosquittoBin == "" {
		return nil, errors.New("mosquitto is not installed (test/bench/install.sh installs it)")
	}
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	_, port, _ := net.SplitHostPort(addr)
	conf := filepath.Join(h.tmp, "mosquitto.conf")
	// Loopback only, anonymous, nothing on disk; the rest is Debian's default.
	text := strings.Join([]string{
		"listener " + port + " 127.0.0.1",
		"allow_anonymous true",
		"persistence false",
		"log_dest stderr",
		"log_type error",
		"log_type warning",
		"",
	}, "\n")
	if err := os.WriteFile(conf, []byte(text), 0o644); err != nil {
		return nil, err
	}
	return spawn("Mosquitto", addr, "", true, h.mosquittoBin, []string{"-c", conf}, nil)
}

// attached is the router -wampedge-addr names, which the harness did not
// start: no start-up time, CPU and memory only if -wampedge-pid names it.
func (h *harness) attached() (*process, error) {
	p := &process{name: "wampedge", addr: h.attach, debug: h.attachDebug, pid: h.attachPID, stderr: &tail{}, exited: make(chan struct{}), external: true}
	ctx, cancel := context.WithTimeout(context.Background(), readyTimeout)
	defer cancel()
	if err := p.handshake(ctx); err != nil {
		return nil, fmt.Errorf("wampedge at %s: %w", h.attach, err)
	}
	return p, nil
}

// tail keeps the last 16 KiB a process wrote, for error messages.
type tail struct {
	mu  sync.Mutex
	buf []byte
}

func (t *tail) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if over := len(t.buf) - 16<<10; over > 0 {
		t.buf = append(t.buf[:0], t.buf[over:]...)
	}
	return len(p), nil
}

func (t *tail) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.buf)
}
