package board

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/wampedge/wampedge/board"
	"github.com/wampedge/wampedge/codec"
	"github.com/wampedge/wampedge/edge/client"
	"github.com/wampedge/wampedge/internal/testutil"
)

// repoRoot is the router's module, built from there so that the build
// shares the go build cache with `make cross`.
const repoRoot = "../.."

// Under emulation everything is slower: bounds, not expectations.
const (
	startTimeout = 60 * time.Second
	opTimeout    = 30 * time.Second
)

// qemuFor names the qemu-user emulator of each GOARCH a profile uses.
var qemuFor = map[string]string{
	"arm":     "qemu-arm",
	"arm64":   "qemu-aarch64",
	"mipsle":  "qemu-mipsel",
	"mips":    "qemu-mips",
	"riscv64": "qemu-riscv64",
}

// TestRoutesOnBoards runs one router per distinct target of the board
// profiles, under qemu-user unless the host runs it natively, and routes a
// call and an event through it.
func TestRoutesOnBoards(t *testing.T) {
	seen := map[string]bool{}
	for _, p := range board.All() {
		if seen[p.Target()] {
			continue
		}
		seen[p.Target()] = true
		t.Run(p.Name, func(t *testing.T) { testBoard(t, p) })
	}
}

func testBoard(t *testing.T, p board.Profile) {
	var emulator []string // the command line prefix that runs the binary
	if p.GOOS != runtime.GOOS || p.GOARCH != runtime.GOARCH {
		name, ok := qemuFor[p.GOARCH]
		if !ok || p.GOOS != "linux" {
			t.Fatalf("%s: no emulator known for %s; add one to qemuFor", p.Name, p.Target())
		}
		path, err := exec.LookPath(name)
		if err != nil {
			t.Fatalf("%s: %s is not installed, so the %s build cannot be tested: install Debian's qemu-user (`make qemu-deps`, or apt-get install qemu-user)", p.Name, name, p.Target())
		}
		emulator = []string{path}
	}

	dir := t.TempDir()
	bin := filepath.Join(dir, "wampedge")
	build := exec.Command("go", "build", "-trimpath", "-o", bin,
		"-ldflags", "-s -w -X main.version=v0.0.0-board -X main.board="+p.Name, "./cmd/wampedge")
	build.Dir = repoRoot
	build.Env = append(append(os.Environ(), "CGO_ENABLED=0"), p.Env()...)
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building wampedge for %s (%s): %v\n%s", p.Name, p.Target(), err, out)
	}
	command := func(args ...string) *exec.Cmd {
		argv := append(append(emulator, bin), args...)
		return exec.Command(argv[0], argv[1:]...)
	}

	out, err := command("-version").Output()
	if want := "board " + p.Name; err != nil || !strings.Contains(string(out), want) {
		t.Fatalf("wampedge -version: %q, %v; want it to name %q", out, err, want)
	}

	// mDNS would advertise on the LAN interfaces: tests stay on loopback.
	url := "tcp://" + freeAddr(t)
	args := []string{"-listen", url, "-log-level", "debug"}
	if help, _ := command("-h").CombinedOutput(); strings.Contains(string(help), "-mdns") {
		args = append(args, "-mdns=false")
	}
	router := command(args...)
	log := new(testutil.SyncBuffer)
	router.Stdout, router.Stderr = log, log
	if err := router.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { router.Wait(); close(exited) }()
	t.Cleanup(func() {
		router.Process.Kill()
		<-exited
		if t.Failed() {
			t.Logf("wampedge (%s) log:\n%s", p.Target(), log.String())
		}
	})

	started := time.Now()
	callee := join(t, url, codec.MsgPack, exited)
	t.Logf("%s: router up after %v", p.Target(), time.Since(started).Round(time.Millisecond))
	subscriber := join(t, url, codec.JSON, exited)
	caller := join(t, url, codec.JSON, exited)
	ctx := testutil.Ctx(t, opTimeout)

	// A call: JSON caller, MessagePack callee, through the board's router.
	if _, err := callee.Register(ctx, "com.example.board.add", func(_ context.Context, inv *client.Invocation) (client.Payload, error) {
		var sum int64
		for _, a := range inv.Args {
			n, ok := toInt(a)
			if !ok {
				return client.Payload{}, &client.Error{URI: "wamp.error.invalid_argument"}
			}
			sum += n
		}
		return client.ArgsKw([]any{sum}, map[string]any{"from": p.Name}), nil
	}); err != nil {
		t.Fatal("register:", err)
	}
	res, err := caller.Call(ctx, "com.example.board.add", client.Args(2, 3, int64(1)<<40))
	if err != nil {
		t.Fatal("call:", err)
	}
	if got, want := fmt.Sprint(res.Args, res.Kwargs), fmt.Sprint([]any{int64(1)<<40 + 5}, map[string]any{"from": p.Name}); got != want {
		t.Errorf("call result %s, want %s", got, want)
	}

	// An event: MessagePack publisher, JSON subscriber. 2^53+1 and 2^62+1
	// need all 64 bits on the 32-bit boards; binary travels as base64 in
	// JSON.
	events := make(chan *client.Event, 1)
	if _, err := subscriber.Subscribe(ctx, "com.example.board.temp", func(e *client.Event) { events <- e }); err != nil {
		t.Fatal("subscribe:", err)
	}
	args2 := []any{21.5, int64(1)<<53 + 1, int64(1)<<62 + 1, int64(-7), "kitchen", []byte{0, 1, 2, 0xff}}
	kwargs := map[string]any{"room": "kitchen", "ok": true}
	if err := callee.Publish(ctx, "com.example.board.temp", client.ArgsKw(args2, kwargs), client.PublishOptions{Acknowledge: true}); err != nil {
		t.Fatal("publish:", err)
	}
	select {
	case e := <-events:
		if got, want := fmt.Sprint(e.Args, e.Kwargs), fmt.Sprint(args2, kwargs); got != want {
			t.Errorf("event %s, want %s", got, want)
		}
	case <-ctx.Done():
		t.Fatal("no event within", opTimeout)
	}

	if want := "board=" + p.Name; !strings.Contains(log.String(), want) {
		t.Errorf("the log does not say %s", want)
	}

	// SIGTERM reaches the emulated router, which shuts down gracefully.
	for _, c := range []*client.Client{callee, subscriber, caller} {
		c.Close()
	}
	if err := router.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-exited:
		if code := router.ProcessState.ExitCode(); code != 0 {
			t.Errorf("exit status %d after SIGTERM, want 0", code)
		}
	case <-time.After(opTimeout):
		t.Errorf("still running %v after SIGTERM", opTimeout)
	}
}

// join connects to the router, retrying while it starts.
func join(t *testing.T, url string, ser codec.Serializer, exited <-chan struct{}) *client.Client {
	t.Helper()
	deadline := time.Now().Add(startTimeout)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
		c, err := client.Dial(ctx, url, client.Config{Realm: "realm1", Serializer: ser, Agent: "board-test"})
		cancel()
		if err == nil {
			t.Cleanup(func() { c.Close() })
			return c
		}
		select {
		case <-exited:
			t.Fatalf("the router exited before serving %s", url)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("joining %s: %v after %v", url, err, startTimeout)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// freeAddr is a loopback address with a port nobody listened on a moment ago.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func toInt(v any) (int64, bool) {
	switch n := v.(type) {
	case int64:
		return n, true
	case uint64:
		return int64(n), true
	}
	return 0, false
}
