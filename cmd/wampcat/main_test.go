package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/wampedge/wampedge/codec"
	"github.com/wampedge/wampedge/internal/testutil"
	"github.com/wampedge/wampedge/rawsocket"
)

// Bounds of every wait; none is asserted as a duration.
const (
	readyTimeout = 5 * time.Second
	runTimeout   = 20 * time.Second
)

// Set by TestMain: the binaries, and where the shared router listens.
var (
	wampcatBin, wampedgeBin string
	tcpURL, unixURL         string
)

// transports are the router's URLs, by name.
func transports() map[string]string { return map[string]string{"tcp": tcpURL, "unix": unixURL} }

func TestMain(m *testing.M) { os.Exit(testMain(m)) }

func testMain(m *testing.M) int {
	dir, err := os.MkdirTemp("", "wampcat-test")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	if err := testutil.GoBuild(dir, "", "../wampedge", "."); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	wampcatBin, wampedgeBin = filepath.Join(dir, "wampcat"), filepath.Join(dir, "wampedge")
	ln, err := net.Listen("tcp", "127.0.0.1:0") // a port free a moment ago
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	ln.Close()
	tcpURL, unixURL = "tcp://"+ln.Addr().String(), "unix://"+filepath.Join(dir, "s.sock")
	router, err := launchRouter([]string{"-listen", tcpURL, "-listen", unixURL, "-log-level", "warn"}, os.Stderr, tcpURL, unixURL)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer func() { router.Process.Kill(); router.Wait() }()
	return m.Run()
}

// launchRouter starts wampedge with args and waits until it takes
// RawSocket connections on each of the ready URLs.
func launchRouter(args []string, log io.Writer, ready ...string) (*exec.Cmd, error) {
	cmd := exec.Command(wampedgeBin, args...)
	cmd.Stderr = log
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	deadline := time.Now().Add(readyTimeout)
	for _, u := range ready {
		for {
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			c, err := rawsocket.Dial(ctx, u, codec.MsgPack, rawsocket.DialConfig{})
			cancel()
			if err == nil {
				c.Close()
				break
			}
			if time.Now().After(deadline) {
				cmd.Process.Kill()
				cmd.Wait()
				return nil, fmt.Errorf("wampedge not ready on %s after %v: %v", u, readyTimeout, err)
			}
			time.Sleep(2 * time.Millisecond)
		}
	}
	return cmd, nil
}

// uriSeq makes every test's topics and procedures its own.
var uriSeq atomic.Int64

func uniqueURI(prefix string) string { return fmt.Sprintf("test.%s.%d", prefix, uriSeq.Add(1)) }

type result struct {
	stdout, stderr string
	code           int
}

// wampcat runs wampcat to the end.
func wampcat(t *testing.T, args ...string) result {
	t.Helper()
	return runProgram(t, wampcatBin, args...)
}

// runProgram runs a program to the end.
func runProgram(t *testing.T, bin string, args ...string) result {
	t.Helper()
	return runCmd(t, exec.Command(bin, args...))
}

// runCmd runs a command to the end, or fails the test after runTimeout.
func runCmd(t *testing.T, cmd *exec.Cmd) result {
	t.Helper()
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	timer := time.AfterFunc(runTimeout, func() { cmd.Process.Kill() })
	err := cmd.Wait()
	if !timer.Stop() {
		t.Fatalf("%q still running after %v", cmd.Args, runTimeout)
	}
	if _, exited := err.(*exec.ExitError); err != nil && !exited {
		t.Fatal(err)
	}
	return result{stdout.String(), stderr.String(), cmd.ProcessState.ExitCode()}
}

// check compares a result's exit status and output.
func (r result) check(t *testing.T, code int, stdout string, stderr ...string) {
	t.Helper()
	if r.code != code {
		t.Errorf("exit status %d, want %d (stderr %q)", r.code, code, r.stderr)
	}
	if r.stdout != stdout {
		t.Errorf("stdout %q, want %q", r.stdout, stdout)
	}
	for _, s := range stderr {
		if !strings.Contains(r.stderr, s) {
			t.Errorf("stderr %q does not contain %q", r.stderr, s)
		}
	}
}

// background is a wampcat that runs while the test does; the test's
// cleanup kills it.
type background struct {
	cmd    *exec.Cmd
	lines  chan string // stdout, closed at EOF
	stderr testutil.SyncBuffer
	exited chan struct{}
}

func start(t *testing.T, args ...string) *background {
	t.Helper()
	b := &background{cmd: exec.Command(wampcatBin, args...), lines: make(chan string, 64), exited: make(chan struct{})}
	b.cmd.Stderr = &b.stderr
	out, err := b.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := b.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		for s := bufio.NewScanner(out); s.Scan(); {
			b.lines <- s.Text()
		}
		close(b.lines)
		b.cmd.Wait()
		close(b.exited)
	}()
	t.Cleanup(func() {
		b.cmd.Process.Kill()
		<-b.exited
		if t.Failed() {
			t.Logf("wampcat %q: stderr:\n%s", args, b.stderr.String())
		}
	})
	return b
}

// line returns the next line of stdout, or "" and false after d.
func (b *background) line(d time.Duration) (string, bool) {
	select {
	case l, ok := <-b.lines:
		return l, ok
	case <-time.After(d):
		return "", false
	}
}

// wait returns the exit status.
func (b *background) wait(t *testing.T) int {
	t.Helper()
	select {
	case <-b.exited:
		return b.cmd.ProcessState.ExitCode()
	case <-time.After(runTimeout):
		t.Fatalf("wampcat still running after %v", runTimeout)
		return 0
	}
}

// callRegistered runs `call` until the procedure is registered.
func callRegistered(t *testing.T, callee *background, args ...string) result {
	t.Helper()
	for deadline := time.Now().Add(readyTimeout); ; {
		r := wampcat(t, args...)
		if !strings.Contains(r.stderr, "wampcat: wamp.error.no_such_procedure") {
			return r
		}
		select {
		case <-callee.exited:
			t.Fatalf("the callee exited: %s", callee.stderr.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("not registered after %v: %q", readyTimeout, args)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// forEachClient runs f for both serializers over both transports, with
// the flags that pick them.
func forEachClient(t *testing.T, f func(t *testing.T, flags []string)) {
	for _, ser := range []string{"msgpack", "json"} {
		for name, url := range transports() {
			t.Run(ser+"/"+name, func(t *testing.T) {
				t.Parallel()
				f(t, []string{"-ser", ser, "-url", url})
			})
		}
	}
}

// otherClient is the other serializer over the other transport, so that
// two processes of a test talk across both.
func otherClient(flags []string) []string {
	ser, url := "json", tcpURL
	if flags[1] == "json" {
		ser = "msgpack"
	}
	if flags[3] == tcpURL {
		url = unixURL
	}
	return []string{"-ser", ser, "-url", url}
}

func cat(lists ...[]string) []string {
	var all []string
	for _, l := range lists {
		all = append(all, l...)
	}
	return all
}

func TestEcho(t *testing.T) {
	forEachClient(t, func(t *testing.T, flags []string) {
		proc := uniqueURI("echo")
		callee := start(t, cat([]string{"register", proc}, otherClient(flags))...)
		callRegistered(t, callee, cat(flags, []string{"call", proc, "1", `"x"`, `{"k":[true,null]}`, "-2"})...).
			check(t, 0, `{"args":[1,"x",{"k":[true,null]},-2],"kwargs":{}}`+"\n")
		for _, tc := range []struct {
			name string
			args []string // after call PROC
			want string   // the args printed
		}{
			{"no arguments", nil, `[]`},
			{"bare words", []string{"hello", "two words", "tru", "-"}, `["hello","two words","tru","-"]`},
			{"-str", []string{"-str", "1", "[1,", "null", `{"a":1}`}, `["1","[1,","null","{\"a\":1}"]`},
			{"JSON values", []string{`"1"`, "1.5", "null", "[]", `{"a":{"b":[]}}`}, `["1",1.5,null,[],{"a":{"b":[]}}]`},
			{"flag after the command", []string{"-timeout", "2s", "5"}, `[5]`},
			{"negative number after a flag", []string{"-timeout", "2s", "-2"}, `[-2]`},
			{"negative number before a flag", []string{"-2", "-timeout", "2s", "3"}, `[-2,3]`},
			{"negative float", []string{"-1.5"}, `[-1.5]`},
			{"flag=value", []string{"-timeout=2s", "-3"}, `[-3]`},
			{"double dash", []string{"--", "-x", "-timeout"}, `["-x","-timeout"]`},
		} {
			t.Run(tc.name, func(t *testing.T) {
				wampcat(t, cat(flags, []string{"call", proc}, tc.args)...).
					check(t, 0, `{"args":`+tc.want+`,"kwargs":{}}`+"\n")
			})
		}
	})
}

func TestExec(t *testing.T) {
	forEachClient(t, func(t *testing.T, flags []string) {
		for _, tc := range []struct {
			name, exec string
			code       int
			stdout     string // for the arguments 1 "x"
			stderr     string
		}{
			{"stdin", "cat", 0, `{"args":[[1,"x"]],"kwargs":{}}`, ""},
			{"environment", `printf '{"args":%s,"kwargs":%s}' "$WAMP_ARGS" "$WAMP_KWARGS"`, 0, `{"args":[{"args":[1,"x"],"kwargs":{}}],"kwargs":{}}`, ""},
			{"text", "echo hello world", 0, `{"args":["hello world"],"kwargs":{}}`, ""},
			{"no output", "true", 0, `{"args":[""],"kwargs":{}}`, ""},
			{"failure", "echo boom >&2; exit 3", 1, "", "wampcat: wamp.error.runtime_error: boom"},
			{"failure without stderr", "exit 4", 1, "", "wampcat: wamp.error.runtime_error: exit status 4"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				proc := uniqueURI("exec")
				callee := start(t, cat([]string{"register", proc, "-exec", tc.exec}, otherClient(flags))...)
				stdout := ""
				if tc.stdout != "" {
					stdout = tc.stdout + "\n"
				}
				callRegistered(t, callee, cat(flags, []string{"call", proc, "1", "x"})...).check(t, tc.code, stdout, tc.stderr)
			})
		}
	})
}

// TestErrors: WAMP errors exit 1 with the error URI on stderr.
func TestErrors(t *testing.T) {
	forEachClient(t, func(t *testing.T, flags []string) {
		for _, tc := range []struct {
			name   string
			args   []string
			code   int
			stderr string
		}{
			{"unknown procedure", []string{"call", uniqueURI("nothing"), "1"}, 1, "wampcat: wamp.error.no_such_procedure"},
			{"invalid URI", []string{"publish", "test..topic", "-ack", "1"}, 1, "wampcat: wamp.error.invalid_uri"},
			{"invalid URI not acknowledged", []string{"publish", "test..topic", "1"}, 0, ""},
			{"publish acknowledged", []string{"-ack", "publish", uniqueURI("topic"), "1"}, 0, ""},
			{"bool flag before a negative number", []string{"publish", uniqueURI("topic"), "-ack", "-1"}, 0, ""},
			{"no such realm", []string{"-realm", "test.nosuchrealm", "call", uniqueURI("p")}, 1, "wampcat: wamp.error.no_such_realm"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				wampcat(t, cat(flags, tc.args)...).check(t, tc.code, "", tc.stderr)
			})
		}
	})
}

// event is a line that subscribe prints.
type event struct {
	Topic       string
	Publication uint64
	Args        []any
	Kwargs      map[string]any
}

func parseEvent(t *testing.T, line string) event {
	t.Helper()
	var fields map[string]json.RawMessage
	if err := json.Unmarshal([]byte(line), &fields); err != nil {
		t.Fatalf("event line %q: %v", line, err)
	}
	var keys []string
	for k := range fields {
		keys = append(keys, k)
	}
	if len(keys) != 4 || fields["topic"] == nil || fields["publication"] == nil || fields["args"] == nil || fields["kwargs"] == nil {
		t.Errorf("event line %q: fields %q, want topic, publication, args, kwargs", line, keys)
	}
	var e event
	if err := json.Unmarshal([]byte(line), &e); err != nil {
		t.Fatalf("event line %q: %v", line, err)
	}
	return e
}

// TestSubscribe: subscribe -count 2 prints two events and exits 0. Events
// published before the subscription is up are lost, so the test publishes
// 1, 2, ... until the first line comes, then once more: the second line is
// the event after the first, whichever publish it came from.
func TestSubscribe(t *testing.T) {
	forEachClient(t, func(t *testing.T, flags []string) {
		topic := uniqueURI("topic")
		sub := start(t, cat([]string{"subscribe", topic, "-count", "2"}, flags)...)
		publish := func(n int) {
			wampcat(t, cat(otherClient(flags), []string{"publish", topic, fmt.Sprint(n), "x", `{"k":true}`})...).check(t, 0, "")
		}
		var first string
		n := 0
		for deadline := time.Now().Add(readyTimeout); first == ""; {
			if time.Now().After(deadline) {
				t.Fatalf("no event after %v", readyTimeout)
			}
			n++
			publish(n)
			first, _ = sub.line(20 * time.Millisecond)
		}
		publish(n + 1)
		second, ok := sub.line(runTimeout)
		if !ok {
			t.Fatal("no second event")
		}
		e1, e2 := parseEvent(t, first), parseEvent(t, second)
		if code := sub.wait(t); code != 0 {
			t.Errorf("exit status %d after 2 events, want 0", code)
		}
		if extra, ok := <-sub.lines; ok {
			t.Errorf("a third line: %q", extra)
		}
		var k float64
		if len(e1.Args) > 0 {
			k, ok = e1.Args[0].(float64)
		}
		if !ok {
			t.Fatalf("first event %q: no sequence number", first)
		}
		for i, e := range []event{e1, e2} {
			want := event{Topic: topic, Publication: e.Publication, Args: []any{k + float64(i), "x", map[string]any{"k": true}}, Kwargs: map[string]any{}}
			if !reflect.DeepEqual(e, want) {
				t.Errorf("event %d: %+v, want %+v", i+1, e, want)
			}
		}
		if e1.Publication == 0 || e1.Publication == e2.Publication {
			t.Errorf("publications %d and %d", e1.Publication, e2.Publication)
		}
	})
}

// TestSignals: register and subscribe run until interrupted, then leave
// and exit 0.
func TestSignals(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM} {
		t.Run(sig.String(), func(t *testing.T) {
			flags := []string{"-url", unixURL}
			proc, topic := uniqueURI("sig"), uniqueURI("sig")
			callee := start(t, cat(flags, []string{"register", proc})...)
			sub := start(t, cat(flags, []string{"subscribe", topic})...)
			callRegistered(t, callee, cat(flags, []string{"call", proc})...).check(t, 0, `{"args":[],"kwargs":{}}`+"\n")
			for deadline := time.Now().Add(readyTimeout); ; {
				wampcat(t, cat(flags, []string{"publish", topic})...).check(t, 0, "")
				if _, ok := sub.line(20 * time.Millisecond); ok {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("no event after %v", readyTimeout)
				}
			}
			for _, b := range []*background{callee, sub} {
				if err := b.cmd.Process.Signal(sig); err != nil {
					t.Fatal(err)
				}
				if code := b.wait(t); code != 0 {
					t.Errorf("%q: exit status %d after %v, want 0", b.cmd.Args[1:], code, sig)
				}
			}
			wampcat(t, cat(flags, []string{"call", proc})...).check(t, 1, "", "wampcat: wamp.error.no_such_procedure")
		})
	}
}

// TestUsage: a mistake in the command line is one line naming it, then
// the short usage, and exit status 2, before connecting: nothing listens
// on the URL these are given.
func TestUsage(t *testing.T) {
	nowhere := "unix://" + filepath.Join(t.TempDir(), "nobody.sock")
	for _, tc := range []struct {
		name string
		args []string
		want string // the first line of stderr
	}{
		{"unknown command", []string{"invoke", "p"}, `wampcat: unknown command "invoke"`},
		{"publish without topic", []string{"publish"}, "wampcat: publish: missing TOPIC"},
		{"subscribe without topic", []string{"subscribe", "-count", "1"}, "wampcat: subscribe: missing TOPIC"},
		{"call without procedure", []string{"call"}, "wampcat: call: missing PROC"},
		{"register without procedure", []string{"register"}, "wampcat: register: missing PROC"},
		{"subscribe with two topics", []string{"subscribe", "a", "b"}, `wampcat: subscribe takes one TOPIC; unexpected argument "b"`},
		{"register with an argument", []string{"register", "p", "1"}, `wampcat: register takes one PROC; unexpected argument "1"`},
		{"discover with an argument", []string{"discover", "now"}, `wampcat: discover: unexpected argument "now"`},
		{"unknown flag", []string{"call", "p", "-retries", "3"}, "wampcat: unknown flag -retries"},
		{"unknown flag before the command", []string{"--verbose", "call", "p"}, "wampcat: unknown flag -verbose"},
		{"flag without value", []string{"call", "p", "-timeout"}, "wampcat: -timeout needs a value"},
		{"bad flag value", []string{"subscribe", "t", "-count", "two"}, `wampcat: invalid value "two" for flag -count: parse error`},
		{"bad duration", []string{"-timeout", "soon", "call", "p"}, `wampcat: invalid value "soon" for flag -timeout: parse error`},
		{"flag for another command", []string{"call", "p", "-count", "2"}, "wampcat: -count is for subscribe, not call"},
		{"-kw on subscribe", []string{"subscribe", "t", "-kw", "{}"}, "wampcat: -kw is for publish and call, not subscribe"},
		{"-retain on call", []string{"call", "p", "-retain"}, "wampcat: -retain is for publish, not call"},
		{"bad -ser", []string{"-ser", "cbor", "call", "p"}, `wampcat: -ser "cbor": want msgpack or json`},
		{"bad -ser after the command", []string{"call", "p", "-ser", "xml"}, `wampcat: -ser "xml": want msgpack or json`},
		{"bad -match", []string{"subscribe", "t", "-match", "regex"}, `wampcat: -match "regex": want exact, prefix or wildcard`},
		{"bad JSON object", []string{"call", "p", "1", "{bad json"}, `wampcat: argument 2 "{bad json" is not valid JSON (json syntax error at byte 1: dict key must be a string); quote it as a JSON string or use -str`},
		{"number out of range", []string{"publish", "t", "1e400"}, `wampcat: argument 1 "1e400" is not valid JSON (json syntax error at byte 5: number out of the range of a float64); quote it as a JSON string or use -str`},
		{"unfinished list", []string{"call", "p", "[1,"}, `wampcat: argument 1 "[1," is not valid JSON`},
		{"version number", []string{"call", "p", "1.2.3"}, `wampcat: argument 1 "1.2.3" is not valid JSON`},
		{"unterminated string", []string{"call", "p", `"abc`}, `wampcat: argument 1 "\"abc" is not valid JSON`},
		{"-kw not an object", []string{"call", "p", "-kw", "[1]"}, `wampcat: -kw "[1]": want a JSON object`},
		{"-kw bad JSON", []string{"publish", "t", "-kw", `{"a":}`}, `wampcat: -kw "{\"a\":}" is not a valid JSON object`},
		{"ticket without authid", []string{"call", "p", "-ticket", "t"}, "wampcat: -ticket and -secret need -authid"},
		{"secret twice", []string{"call", "p", "-authid", "a", "-secret", "s", "-secret-file", "f"}, "wampcat: -secret and -secret-file: give one"},
		{"missing secret file", []string{"call", "p", "-authid", "a", "-secret-file", "/nonexistent/secret"}, "wampcat: -secret-file: open /nonexistent/secret: no such file or directory"},
		{"missing key file", []string{"call", "p", "-key", "/nonexistent/key"}, "wampcat: -key: private key: open /nonexistent/key: no such file or directory"},
		{"certificate without key", []string{"call", "p", "-tls-cert", "c.pem"}, "wampcat: -tls-cert and -tls-key go together"},
		{"bad serial URL", []string{"-url", "serial://", "call", "p"}, "wampcat: -url: serial:"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := wampcat(t, cat([]string{"-url", nowhere, "-timeout", "2s"}, tc.args)...)
			lines := strings.Split(r.stderr, "\n")
			if r.code != 2 || r.stdout != "" || !strings.HasPrefix(lines[0], tc.want) || len(lines) != 4 || !strings.HasPrefix(lines[1], "usage: wampcat") {
				t.Errorf("exit status %d, stdout %q, stderr:\n%s\nwant status 2, nothing on stdout, and on stderr %q and the short usage", r.code, r.stdout, r.stderr, tc.want)
			}
		})
	}
	for _, tc := range []struct {
		name   string
		args   []string
		code   int
		stderr string
	}{
		{"no arguments", nil, 2, "usage: wampcat"},
		{"help", []string{"-h"}, 0, "usage: wampcat"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := wampcat(t, cat([]string{"-url", nowhere}, tc.args)...)
			r.check(t, tc.code, "", tc.stderr, "-keepalive", "-tls-ca")
		})
	}
	t.Run("no router", func(t *testing.T) {
		r := wampcat(t, "-url", nowhere, "call", "p")
		if r.code != 1 || !strings.HasPrefix(r.stderr, "wampcat: ") || strings.Count(r.stderr, "\n") != 1 {
			t.Errorf("exit status %d, stderr %q; want 1 and one line", r.code, r.stderr)
		}
	})
	t.Run("unknown command with a router", func(t *testing.T) {
		wampcat(t, "-url", unixURL, "invoke", "p").check(t, 2, "", `unknown command "invoke"`)
	})
}
