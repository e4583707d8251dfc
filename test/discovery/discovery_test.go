package discovery

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/wampedge/wampedge/internal/testutil"
)

// The test's network, all inside namespaces that the test makes:
//
//	B (10.211.0.2) --- vethAB --- A: wampedge --- vethAC --- C (10.211.1.2)
//
// wampedge advertises on vethAB only (-mdns-iface), so B finds it and C
// must not, even with another mDNS responder in A joined on both links
// (the way avahi is on a real board).
const (
	ifaceAB = "wdAB"
	ifaceAC = "wdAC"
	addrA   = "10.211.0.1"
	addrB   = "10.211.0.2"
	addrAC  = "10.211.1.1"
	addrC   = "10.211.1.2"
	port    = "8080"
	lport   = "8081" // on 127.0.0.1 in A: never advertised
)

var bins string // wampedge and wampcat, built once

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "discovery")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	bins = dir
	if err := testutil.GoBuild(dir, "", "github.com/wampedge/wampedge/cmd/wampedge", "github.com/wampedge/wampedge/cmd/wampcat"); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// netns is a network namespace the test made.
type netns string

func (n netns) command(ctx context.Context, name string, args ...string) *exec.Cmd {
	return exec.CommandContext(ctx, "ip", append([]string{"netns", "exec", string(n), name}, args...)...)
}

// makeNetwork makes namespaces A, B and C joined as drawn above, and
// removes them (and whatever still runs in them) when the test ends,
// failed or not.
func makeNetwork(t *testing.T) (a, b, c netns) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Fatal("this test makes network namespaces (ip netns add), which needs root; CI runs as root, run it with sudo")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		t.Fatal("the ip command (Debian iproute2) is missing; make test installs it: ", err)
	}
	suffix := fmt.Sprint(os.Getpid())
	a, b, c = netns("wd-a-"+suffix), netns("wd-b-"+suffix), netns("wd-c-"+suffix)
	for _, n := range []netns{a, b, c} {
		t.Cleanup(func() { removeNetns(n) })
	}
	steps := [][]string{
		{"netns", "add", string(a)}, {"netns", "add", string(b)}, {"netns", "add", string(c)},
		{"link", "add", ifaceAB, "netns", string(a), "type", "veth", "peer", "name", "wdB", "netns", string(b)},
		{"link", "add", ifaceAC, "netns", string(a), "type", "veth", "peer", "name", "wdC", "netns", string(c)},
		{"-n", string(a), "addr", "add", addrA + "/24", "dev", ifaceAB},
		{"-n", string(a), "addr", "add", addrAC + "/24", "dev", ifaceAC},
		{"-n", string(b), "addr", "add", addrB + "/24", "dev", "wdB"},
		{"-n", string(c), "addr", "add", addrC + "/24", "dev", "wdC"},
		{"-n", string(a), "link", "set", ifaceAB, "up"}, {"-n", string(a), "link", "set", ifaceAC, "up"},
		{"-n", string(b), "link", "set", "wdB", "up"}, {"-n", string(c), "link", "set", "wdC", "up"},
		{"-n", string(a), "link", "set", "lo", "up"}, {"-n", string(b), "link", "set", "lo", "up"},
		{"-n", string(c), "link", "set", "lo", "up"},
	}
	for _, s := range steps {
		if out, err := exec.Command("ip", s...).CombinedOutput(); err != nil {
			t.Fatalf("cannot make the test network: ip %s: %v\n%s", strings.Join(s, " "), err, out)
		}
	}
	return a, b, c
}

// removeNetns kills what runs in a namespace, then deletes it (with its
// end of the veth pairs).
func removeNetns(n netns) {
	out, _ := exec.Command("ip", "netns", "pids", string(n)).Output()
	for _, f := range strings.Fields(string(out)) {
		var pid int
		if _, err := fmt.Sscan(f, &pid); err == nil && pid > 1 {
			syscall.Kill(pid, syscall.SIGKILL)
		}
	}
	exec.Command("ip", "netns", "del", string(n)).Run()
}

// browser is browse.py running in a namespace: an mDNS browser that is
// not ours, reporting what it sees as JSON lines.
type browser struct {
	cmd    *exec.Cmd
	events chan map[string]any
	stdin  io.WriteCloser
	stderr *testutil.SyncBuffer
}

func startBrowser(t *testing.T, ctx context.Context, n netns) *browser {
	t.Helper()
	if err := exec.Command("/usr/bin/python3", "-c", "import zeroconf").Run(); err != nil {
		t.Fatal("python3-zeroconf is missing (Debian package): make test installs it through test/interop/install.sh")
	}
	script, _ := filepath.Abs("browse.py")
	br := &browser{cmd: n.command(ctx, "/usr/bin/python3", script, "60"), events: make(chan map[string]any, 16), stderr: new(testutil.SyncBuffer)}
	br.cmd.Stderr = br.stderr
	out, _ := br.cmd.StdoutPipe()
	br.stdin, _ = br.cmd.StdinPipe()
	if err := br.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { br.stdin.Close(); br.cmd.Process.Kill(); br.cmd.Wait() })
	go func() {
		defer close(br.events)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			var ev map[string]any
			if json.Unmarshal(sc.Bytes(), &ev) == nil {
				br.events <- ev
			}
		}
	}()
	if ev := br.next(t, 20*time.Second); ev["event"] != "browsing" {
		t.Fatalf("browse.py did not start: %v\n%s", ev, br.stderr)
	}
	return br
}

// next returns the browser's next event, failing after timeout.
func (br *browser) next(t *testing.T, timeout time.Duration) map[string]any {
	t.Helper()
	select {
	case ev, ok := <-br.events:
		if !ok {
			t.Fatalf("browse.py ended: %s", br.stderr)
		}
		return ev
	case <-time.After(timeout):
		t.Fatalf("browse.py reported nothing in %v; stderr: %s", timeout, br.stderr)
	}
	return nil
}

// router is wampedge running in a namespace.
type router struct {
	cmd *exec.Cmd
	log *testutil.SyncBuffer
}

func startRouter(t *testing.T, ctx context.Context, n netns, args ...string) *router {
	t.Helper()
	r := &router{cmd: n.command(ctx, filepath.Join(bins, "wampedge"), args...), log: new(testutil.SyncBuffer)}
	r.cmd.Stdout, r.cmd.Stderr = r.log, r.log
	if err := r.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.cmd.Process.Kill(); r.cmd.Wait() })
	testutil.WaitFor(t, 10*time.Second, "wampedge to be ready", func() bool { return strings.Contains(r.log.String(), "wampedge ready") })
	return r
}

// stop ends the router with SIGTERM, as a service manager does.
func (r *router) stop(t *testing.T) {
	t.Helper()
	r.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- r.cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("wampedge exited with %v\n%s", err, r.log)
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("wampedge did not stop on SIGTERM\n%s", r.log)
	}
}

// found is one router in `wampcat discover -json`.
type found struct {
	Instance    string            `json:"instance"`
	Addresses   []string          `json:"addresses"`
	Port        int               `json:"port"`
	URLs        []string          `json:"urls"`
	Realms      []string          `json:"realms"`
	Serializers []string          `json:"serializers"`
	Auth        []string          `json:"auth"`
	TXT         map[string]string `json:"txt"`
}

func discover(t *testing.T, ctx context.Context, n netns) []found {
	t.Helper()
	out, err := n.command(ctx, filepath.Join(bins, "wampcat"), "discover", "-timeout", "2s", "-json").Output()
	var list []found
	if jerr := json.Unmarshal(out, &list); jerr != nil {
		t.Fatalf("wampcat discover -json printed %q: %v (%v)\n%s", out, jerr, err, exitStderr(err))
	}
	// Finding nothing is exit status 1, like the table form.
	if code := exitCode(err); (len(list) == 0) != (code == 1) || code > 1 {
		t.Fatalf("wampcat discover in %s found %d routers, exit status %d (%v)\n%s", n, len(list), code, err, exitStderr(err))
	}
	return list
}

// exitCode is a command's exit status: 0, an *exec.ExitError's code, or
// -1 for a command that did not run to the end.
func exitCode(err error) int {
	var ee *exec.ExitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ee):
		return ee.ExitCode()
	}
	return -1
}

func exitStderr(err error) string {
	if ee, ok := err.(*exec.ExitError); ok {
		return string(ee.Stderr)
	}
	return ""
}

func wampcat(t *testing.T, ctx context.Context, n netns, args ...string) string {
	t.Helper()
	out, err := n.command(ctx, filepath.Join(bins, "wampcat"), args...).Output()
	if err != nil {
		t.Fatalf("wampcat %s in %s: %v\n%s", strings.Join(args, " "), n, err, exitStderr(err))
	}
	return strings.TrimSpace(string(out))
}

// wantTXT are the TXT keys every advertisement carries, and the values
// this router's must have.
var wantTXT = map[string]string{"v": "2", "realm": "realm1,site", "ser": "msgpack,json", "maxlen": "20", "auth": "anonymous", "tls": "0", "ver": "", "id": ""}

func checkTXT(t *testing.T, who string, txt map[string]string) {
	t.Helper()
	for k, want := range wantTXT {
		got, ok := txt[k]
		if !ok || (want != "" && got != want) || got == "" && k != "ver" {
			t.Errorf("%s: TXT %s=%q (present %v), want %q; all: %v", who, k, got, ok, want, txt)
		}
	}
}

func TestDiscoveryAcrossNamespaces(t *testing.T) {
	ctx := testutil.Ctx(t, 2*time.Minute)
	a, b, c := makeNetwork(t)

	// Another mDNS responder in A, joined on both links.
	avahiLike := startBrowser(t, ctx, a)
	_ = avahiLike
	lan := startBrowser(t, ctx, b)

	r := startRouter(t, ctx, a,
		"-listen", "tcp://0.0.0.0:"+port, "-listen", "tcp://127.0.0.1:"+lport,
		"-realm", "realm1", "-realm", "site",
		"-mdns-name", "discovery test", "-mdns-iface", ifaceAB)

	// The independent browser in B sees it with every TXT key.
	ev := lan.next(t, 15*time.Second)
	if ev["event"] != "added" || ev["name"] != "discovery test._wamp._tcp.local." {
		t.Fatalf("browse.py in B: %v, want the router added", ev)
	}
	txt := map[string]string{}
	for k, v := range ev["txt"].(map[string]any) {
		txt[k] = v.(string)
	}
	checkTXT(t, "browse.py", txt)
	if ev["port"] != float64(8080) || !slices.Contains(toStrings(ev["addresses"]), addrA) {
		t.Errorf("browse.py: port %v addresses %v, want 8080 at %s", ev["port"], ev["addresses"], addrA)
	}

	// wampcat discover in B finds it, once: the loopback listener is
	// not on the LAN, and only vethAB's address is announced.
	list := discover(t, ctx, b)
	if len(list) != 1 {
		t.Fatalf("wampcat discover in B found %d routers, want 1: %+v", len(list), list)
	}
	f := list[0]
	if f.Instance != "discovery test" || f.Port != 8080 || !slices.Equal(f.Realms, []string{"realm1", "site"}) ||
		!slices.Contains(f.URLs, "tcp://"+addrA+":"+port) || slices.Contains(f.Addresses, addrAC) {
		t.Errorf("wampcat discover in B: %+v", f)
	}
	checkTXT(t, "wampcat discover", f.TXT)

	// C is on a link wampedge was told not to advertise on.
	if list := discover(t, ctx, c); len(list) != 0 {
		t.Errorf("wampcat discover in C found %+v; -mdns-iface %s should keep it off that link", list, ifaceAB)
	}

	// Connect by mDNS alone: a callee and a caller in B, realm by name.
	callee := b.command(ctx, filepath.Join(bins, "wampcat"), "-url", "mdns://?realm=site", "register", "com.example.echo")
	calleeLog := new(testutil.SyncBuffer)
	callee.Stderr = calleeLog
	if err := callee.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { callee.Process.Kill(); callee.Wait() })
	var result string
	testutil.WaitFor(t, 15*time.Second, "a call through mdns:// to succeed", func() bool {
		out, err := b.command(ctx, filepath.Join(bins, "wampcat"), "-url", "mdns://?realm=site", "-timeout", "3s",
			"call", "com.example.echo", "hello", "42").Output()
		result = strings.TrimSpace(string(out))
		return err == nil
	})
	if result != `{"args":["hello",42],"kwargs":{}}` {
		t.Errorf("call through mdns://: %s", result)
	}
	if out, err := b.command(ctx, filepath.Join(bins, "wampcat"), "-url", "mdns://?realm=elsewhere", "-timeout", "3s",
		"call", "com.example.echo").CombinedOutput(); err == nil || !strings.Contains(string(out), `no router found serving realm "elsewhere"`) {
		t.Errorf("mdns:// for a realm nobody serves: %v %s", err, out)
	}

	// Stopped, it says goodbye: the browser drops it, discover is empty.
	callee.Process.Kill()
	r.stop(t)
	ev = lan.next(t, 10*time.Second)
	if ev["event"] != "removed" || ev["name"] != "discovery test._wamp._tcp.local." {
		t.Errorf("browse.py after SIGTERM: %v, want the router removed", ev)
	}
	if list := discover(t, ctx, b); len(list) != 0 {
		t.Errorf("wampcat discover after the router stopped: %+v", list)
	}
	if !strings.Contains(r.log.String(), "not advertised: it listens on loopback only") {
		t.Errorf("the loopback listener's log line is missing:\n%s", r.log)
	}
}

func TestMDNSOff(t *testing.T) {
	ctx := testutil.Ctx(t, time.Minute)
	a, b, _ := makeNetwork(t)
	r := startRouter(t, ctx, a, "-listen", "tcp://0.0.0.0:"+port, "-mdns=false")
	if list := discover(t, ctx, b); len(list) != 0 {
		t.Errorf("-mdns=false, yet wampcat discover found %+v", list)
	}
	// It still routes: reach it by address.
	if out := wampcat(t, ctx, b, "-url", "tcp://"+addrA+":"+port, "publish", "com.example.t", "1"); out != "" {
		t.Errorf("publish printed %q", out)
	}
	r.stop(t)
}

func toStrings(v any) []string {
	var out []string
	if l, ok := v.([]any); ok {
		for _, x := range l {
			if s, ok := x.(string); ok {
				out = append(out, s)
			}
		}
	}
	return out
}
