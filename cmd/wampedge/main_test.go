package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/wampedge/wampedge/codec"
	"github.com/wampedge/wampedge/edge/client"
	"github.com/wampedge/wampedge/internal/testutil"
	"github.com/wampedge/wampedge/rawsocket"
)

// The version TestMain links into the binary, as the Makefile does.
const (
	testVersion = "v0.0.0-test"
	testCommit  = "0123abc"
)

// Bounds of every wait; none is asserted as a duration.
const (
	readyTimeout = 5 * time.Second
	waitTimeout  = 10 * time.Second
)

// wampedgeBin is the binary TestMain builds.
var wampedgeBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "wampedge-bin")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	wampedgeBin = filepath.Join(dir, "wampedge")
	code := 1
	ldflags := fmt.Sprintf("-X main.version=%s -X main.commit=%s", testVersion, testCommit)
	if err := testutil.GoBuild(dir, ldflags, "."); err != nil {
		fmt.Fprintln(os.Stderr, err)
	} else {
		code = m.Run()
	}
	os.RemoveAll(dir)
	os.Exit(code)
}

// daemon is a wampedge process; the test's cleanup kills it.
type daemon struct {
	cmd            *exec.Cmd
	started        time.Time
	stdout, stderr testutil.SyncBuffer
	exited         chan struct{}
}

func startDaemon(t *testing.T, args ...string) *daemon {
	t.Helper()
	d := &daemon{cmd: exec.Command(wampedgeBin, args...), exited: make(chan struct{})}
	d.cmd.Stdout, d.cmd.Stderr = &d.stdout, &d.stderr
	if err := d.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	d.started = time.Now()
	go func() { d.cmd.Wait(); close(d.exited) }()
	t.Cleanup(func() {
		d.cmd.Process.Kill()
		<-d.exited
		if t.Failed() {
			t.Logf("wampedge %s: stderr:\n%s", strings.Join(args, " "), d.stderr.String())
		}
	})
	return d
}

// wait returns the exit status (-1 when killed by a signal).
func (d *daemon) wait(t *testing.T) int {
	t.Helper()
	select {
	case <-d.exited:
		return d.cmd.ProcessState.ExitCode()
	case <-time.After(waitTimeout):
		t.Fatalf("wampedge still running after %v", waitTimeout)
		return 0
	}
}

func (d *daemon) signal(t *testing.T, sig os.Signal) {
	t.Helper()
	if err := d.cmd.Process.Signal(sig); err != nil {
		t.Fatal(err)
	}
}

// waitReady polls each URL until a RawSocket handshake succeeds, and logs
// how long after started that was. exited says the router is gone.
func waitReady(t *testing.T, started time.Time, exited <-chan struct{}, urls ...string) {
	t.Helper()
	deadline := time.Now().Add(readyTimeout)
	for _, u := range urls {
		for {
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			c, err := rawsocket.Dial(ctx, u, codec.MsgPack, rawsocket.DialConfig{})
			cancel()
			if err == nil {
				c.Close()
				break
			}
			select {
			case <-exited:
				t.Fatalf("router exited before listening on %s", u)
			default:
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s not ready after %v: %v", u, readyTimeout, err)
			}
			time.Sleep(2 * time.Millisecond)
		}
	}
	t.Logf("ready on %s %v after the start", strings.Join(urls, " "), time.Since(started))
}

// endpoints returns a free loopback TCP URL and a Unix socket URL in a
// temp dir, with the socket's path.
func endpoints(t *testing.T) (tcpURL, unixURL, sock string) {
	t.Helper()
	sock = filepath.Join(t.TempDir(), "s.sock")
	if len(sock) > 100 {
		t.Fatalf("temp dir too long for a Unix socket: %s", sock)
	}
	return "tcp://" + freeAddr(t), "unix://" + sock, sock
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

func join(url, realm string, ser codec.Serializer) (*client.Client, error) {
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	return client.Dial(ctx, url, client.Config{Realm: realm, Serializer: ser, Agent: "wampedge-test"})
}

func mustJoin(t *testing.T, url, realm string, ser codec.Serializer) *client.Client {
	t.Helper()
	c, err := join(url, realm, ser)
	if err != nil {
		t.Fatalf("joining %s on %s (%v): %v", realm, url, ser, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	t.Cleanup(cancel)
	return ctx
}

func assertGone(t *testing.T, path string) {
	t.Helper()
	if _, err := os.Lstat(path); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("%s still there after shutdown (%v)", path, err)
	}
}

func TestCommandLine(t *testing.T) {
	dir := t.TempDir()
	good := writeFile(t, dir, "good.json", fullConfig)
	bad := writeFile(t, dir, "bad.json", `{"listeners": [{"url": "tcp://127.0.0.1:1"}, {"url": "unix:///tmp/x.sock", "socket_mode": "rw"}]}`)
	badType := writeFile(t, dir, "type.json", "{\n  \"limits\": {\n    \"queue_bytes\": \"1M\"\n  }\n}\n")
	missing := filepath.Join(dir, "missing.json")
	for _, tc := range []struct {
		name           string
		args           []string
		code           int
		stdout, stderr []string // substrings
	}{
		{"version", []string{"-version"}, 0, []string{"wampedge " + testVersion + " (commit " + testCommit + ", board none)\n"}, nil},
		{"help", []string{"-h"}, 0, nil, []string{"usage: wampedge", "tcp://0.0.0.0:8080", DefaultSocket, "-listen"}},
		{"check good", []string{"-check", "-config", good}, 0, []string{good + ": OK\n"}, nil},
		{"check bad field", []string{"-check", "-config", bad}, 1, nil, []string{bad, "listeners[1].socket_mode", `"rw"`}},
		{"check bad type", []string{"-check", "-config", badType}, 1, nil, []string{"line 3", "limits.queue_bytes: want a size in bytes"}},
		{"check missing file", []string{"-config", missing, "-check"}, 1, nil, []string{missing}},
		{"bad config without check", []string{"-config", bad}, 1, nil, []string{"listeners[1].socket_mode"}},
		{"check without config", []string{"-check"}, 2, nil, []string{"-check needs -config"}},
		{"unexpected argument", []string{"extra"}, 2, nil, []string{`unexpected argument "extra"`}},
		{"argument after flags", []string{"-check", "-config", good, "extra"}, 2, nil, []string{`unexpected argument "extra"`}},
		{"unknown flag", []string{"-bogus"}, 2, nil, []string{"-bogus"}},
		{"bad -listen", []string{"-listen", "http://127.0.0.1:1"}, 2, nil, []string{"wampedge: -listen http://127.0.0.1:1: want tcp://"}},
		{"second -listen bad", []string{"-listen", "tcp://127.0.0.1:1", "-listen", "unix://"}, 2, nil, []string{"wampedge: -listen unix://: "}},
		{"bad -realm", []string{"-realm", "a", "-realm", "bad realm"}, 2, nil, []string{`wampedge: -realm "bad realm": "bad realm" is not a valid URI`}},
		{"bad -log-level", []string{"-log-level", "loud"}, 2, nil, []string{`wampedge: -log-level: "loud"`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := startDaemon(t, tc.args...)
			if code := d.wait(t); code != tc.code {
				t.Errorf("exit status %d, want %d", code, tc.code)
			}
			for _, out := range []struct {
				name string
				got  string
				want []string
			}{{"stdout", d.stdout.String(), tc.stdout}, {"stderr", d.stderr.String(), tc.stderr}} {
				for _, w := range out.want {
					if !strings.Contains(out.got, w) {
						t.Errorf("%s %q does not contain %q", out.name, out.got, w)
					}
				}
			}
		})
	}
}

// TestServe: one router on TCP and a Unix socket; clients on both, with
// both serializers, reach each other; a signal shuts it down gracefully.
func TestServe(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT} {
		t.Run(sig.String(), func(t *testing.T) {
			tcpURL, unixURL, sock := endpoints(t)
			d := startDaemon(t, "-listen", tcpURL, "-listen", unixURL)
			waitReady(t, d.started, d.exited, tcpURL, unixURL)

			callee := mustJoin(t, tcpURL, "realm1", codec.MsgPack)
			if _, err := callee.Register(ctxT(t), "test.echo", func(_ context.Context, inv *client.Invocation) (client.Payload, error) {
				return inv.Payload, nil
			}); err != nil {
				t.Fatal(err)
			}
			events := make(chan *client.Event, 8)
			subscriber := mustJoin(t, unixURL, "realm1", codec.JSON)
			if _, err := subscriber.Subscribe(ctxT(t), "test.topic", func(e *client.Event) { events <- e }); err != nil {
				t.Fatal(err)
			}
			sessions := []*client.Client{callee, subscriber}
			for _, url := range []string{tcpURL, unixURL} {
				for _, ser := range []codec.Serializer{codec.MsgPack, codec.JSON} {
					c := mustJoin(t, url, "realm1", ser)
					sessions = append(sessions, c)
					res, err := c.Call(ctxT(t), "test.echo", client.Args("hi", 1, true))
					if err != nil || fmt.Sprint(res.Args) != "[hi 1 true]" {
						t.Errorf("call over %s (%v): %v, %v", url, ser, res, err)
					}
					if err := c.Publish(ctxT(t), "test.topic", client.Args(url, ser.String()), client.PublishOptions{Acknowledge: true}); err != nil {
						t.Fatalf("publish over %s (%v): %v", url, ser, err)
					}
					select {
					case e := <-events:
						if got, want := fmt.Sprint(e.Args), fmt.Sprint([]string{url, ser.String()}); got != want {
							t.Errorf("event %q, want %q", got, want)
						}
					case <-time.After(waitTimeout):
						t.Fatalf("no event published over %s (%v)", url, ser)
					}
				}
			}

			d.signal(t, sig)
			if code := d.wait(t); code != 0 {
				t.Errorf("exit status %d after %v, want 0", code, sig)
			}
			for i, c := range sessions {
				select {
				case <-c.Done():
				case <-time.After(waitTimeout):
					t.Fatalf("session %d still up after the router exited", i)
				}
				if err := c.Err(); err == nil || !strings.Contains(err.Error(), "wamp.close.system_shutdown") {
					t.Errorf("session %d ended with %v, want GOODBYE wamp.close.system_shutdown", i, err)
				}
			}
			assertGone(t, sock)
			if !strings.Contains(d.stderr.String(), "shutting down") {
				t.Errorf("no shutdown in the log:\n%s", d.stderr.String())
			}
		})
	}
}

// TestSignalAtStartup: SIGTERM as soon as the socket exists (a
// supervisor's readiness check) still shuts down gracefully.
func TestSignalAtStartup(t *testing.T) {
	_, unixURL, sock := endpoints(t)
	d := startDaemon(t, "-listen", unixURL)
	for deadline := time.Now().Add(readyTimeout); ; {
		if _, err := os.Lstat(sock); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s not created after %v", sock, readyTimeout)
		}
		select {
		case <-d.exited:
			t.Fatal("wampedge exited before listening")
		default:
		}
		time.Sleep(100 * time.Microsecond)
	}
	d.signal(t, syscall.SIGTERM)
	if code := d.wait(t); code != 0 {
		t.Errorf("exit status %d, want 0", code)
	}
	assertGone(t, sock)
}

func TestRealms(t *testing.T) {
	const noRealm = "wamp.error.no_such_realm"
	for _, tc := range []struct {
		name   string
		config string // "$URL" is the Unix socket's URL; none: -listen it
		args   []string
		joins  map[string]string // realm: the ABORT reason, "" to join
	}{
		{"realm flags", "", []string{"-realm", "a", "-realm", "b"},
			map[string]string{"a": "", "b": "", "realm1": noRealm}},
		{"default realm", "", nil,
			map[string]string{"realm1": "", "a": noRealm}},
		{"config realms", `{"realms": [{"name": "com.example.plant"}], "listeners": [{"url": "$URL"}]}`, nil,
			map[string]string{"com.example.plant": "", "realm1": noRealm}},
		{"realm flag replaces config realms", `{"realms": [{"name": "x"}], "listeners": [{"url": "$URL"}]}`, []string{"-realm", "y"},
			map[string]string{"y": "", "x": noRealm}},
		{"auto_realms", `{"auto_realms": true, "listeners": [{"url": "$URL"}]}`, nil,
			map[string]string{"realm1": "", "com.example.anything": "", "z": ""}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, unixURL, _ := endpoints(t)
			args := tc.args
			if tc.config != "" {
				cfg := writeFile(t, t.TempDir(), "c.json", strings.ReplaceAll(tc.config, "$URL", unixURL))
				args = append([]string{"-config", cfg}, args...)
			} else {
				args = append([]string{"-listen", unixURL}, args...)
			}
			d := startDaemon(t, args...)
			waitReady(t, d.started, d.exited, unixURL)
			for realm, reason := range tc.joins {
				c, err := join(unixURL, realm, codec.MsgPack)
				var abort *client.AbortError
				switch {
				case reason == "" && err != nil:
					t.Errorf("join %s: %v", realm, err)
				case reason == "":
					c.Close()
				case !errors.As(err, &abort) || abort.Reason != reason:
					t.Errorf("join %s: %v, want ABORT %s", realm, err, reason)
				}
			}
		})
	}
}

// TestListenErrors: a listener that cannot open stops the start with exit
// status 1, and the listeners already open are closed.
func TestListenErrors(t *testing.T) {
	held, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()
	taken := "tcp://" + held.Addr().String()

	dir := t.TempDir()
	live := filepath.Join(dir, "live.sock")
	ul, err := net.Listen("unix", live)
	if err != nil {
		t.Fatal(err)
	}
	defer ul.Close()
	file := writeFile(t, dir, "file", "not a socket")

	for _, tc := range []struct {
		name   string
		listen []string
		stderr string
	}{
		{"port taken", []string{taken}, "address already in use"},
		{"socket in use", []string{"unix://" + live}, "in use by another process"},
		{"not a socket", []string{"unix://" + file}, "not a socket"},
		{"second listener", []string{"unix://" + filepath.Join(dir, "first.sock"), taken}, "address already in use"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var args []string
			for _, l := range tc.listen {
				args = append(args, "-listen", l)
			}
			d := startDaemon(t, args...)
			if code := d.wait(t); code != 1 {
				t.Errorf("exit status %d, want 1", code)
			}
			if got := d.stderr.String(); !strings.Contains(got, "cannot listen") || !strings.Contains(got, tc.stderr) {
				t.Errorf("stderr %q does not say cannot listen: %s", got, tc.stderr)
			}
		})
	}
	assertGone(t, filepath.Join(dir, "first.sock"))
	if _, err := os.Lstat(live); err != nil {
		t.Errorf("the live socket of another process was touched: %v", err)
	}
}

// TestRunDefaultListeners runs run() with no arguments in the test
// process, with the default listeners pointed at a free loopback port and
// a temp socket (the real default, port 8080, may be taken).
func TestRunDefaultListeners(t *testing.T) {
	tcpURL, unixURL, sock := endpoints(t)
	saved := defaultListeners
	defaultListeners = []string{tcpURL, unixURL}
	t.Cleanup(func() { defaultListeners = saved })
	// While this is registered, SIGTERM cannot kill the test process.
	guard := make(chan os.Signal, 1)
	signal.Notify(guard, syscall.SIGTERM)
	t.Cleanup(func() { signal.Stop(guard) })

	var code int
	returned := make(chan struct{})
	started := time.Now()
	go func() { code = run(nil); close(returned) }()
	waitReady(t, started, returned, tcpURL, unixURL)
	for _, url := range defaultListeners {
		mustJoin(t, url, "realm1", codec.MsgPack)
	}
	if err := syscall.Kill(os.Getpid(), syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-returned:
	case <-time.After(waitTimeout):
		t.Fatalf("run still running %v after SIGTERM", waitTimeout)
	}
	if code != 0 {
		t.Errorf("run returned %d, want 0", code)
	}
	assertGone(t, sock)
}
