// Package mcu_test runs the C firmware client (serial/mcu) as a real
// process against the real router: bin/mcu-demo, built from the library
// and its POSIX example, on one pseudo-terminal, wampedge on another, the
// test relaying between the two so that it can add line noise or unplug
// the demo; Go clients on TCP loopback call it, publish to it and listen.
package mcu_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tinylib/msgp/msgp"
	"github.com/wampedge/wampedge/edge/client"
	"github.com/wampedge/wampedge/internal/testutil"
)

const repoRoot = "../.."

// The demo announces 2 KiB (a 4 KiB buffer): the largest message it takes.
const demoMax = 2048

var bins struct {
	dir            string
	wampedge, demo string
	err            error
}

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "wampedge-mcu-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	bins.dir = dir
	bins.err = build(dir)
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// build makes wampedge (go build) and mcu-demo (the C compiler, as
// `make mcu` does) in dir.
func build(dir string) error {
	if err := testutil.GoBuild(dir, "", "github.com/wampedge/wampedge/cmd/wampedge"); err != nil {
		return err
	}
	bins.wampedge = filepath.Join(dir, "wampedge")
	cc := ""
	for _, name := range []string{os.Getenv("CC"), "cc", "gcc", "clang"} {
		if name == "" {
			continue
		}
		if p, err := exec.LookPath(name); err == nil {
			cc = p
			break
		}
	}
	if cc == "" {
		return errors.New("no C compiler (cc, gcc or clang) to build mcu-demo: install Debian's gcc (make test does)")
	}
	mcu := filepath.Join(repoRoot, "serial", "mcu")
	bins.demo = filepath.Join(dir, "mcu-demo")
	args := []string{"-std=c99", "-Wall", "-Wextra", "-Werror", "-pedantic", "-O2", "-o", bins.demo,
		filepath.Join(mcu, "wampmcu.c"), filepath.Join(mcu, "wampmcu_pack.c"),
		filepath.Join(mcu, "examples", "sensor", "sensor.c"), filepath.Join(mcu, "examples", "posix", "main.c")}
	if out, err := exec.Command(cc, args...).CombinedOutput(); err != nil {
		return fmt.Errorf("building mcu-demo: %v\n%s", err, out)
	}
	return nil
}

// line is one test's setup: the router on its pty, the demo on its own,
// the relay between them.
type line struct {
	t       *testing.T
	cobs    bool
	addr    string // the router's TCP listener
	router  *process
	demo    *process
	relay   *relay
	link    string // what the demo opens: a symlink to its pty's slave
	routerP *pty
}

type process struct {
	name   string
	args   []string
	cmd    *exec.Cmd
	log    *testutil.SyncBuffer
	exited chan struct{}
}

func (p *process) start(t *testing.T) {
	t.Helper()
	p.cmd = exec.Command(p.args[0], p.args[1:]...)
	if p.log == nil {
		p.log = new(testutil.SyncBuffer)
	}
	p.cmd.Stdout, p.cmd.Stderr = p.log, p.log
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", p.name, err)
	}
	p.exited = make(chan struct{})
	go func(cmd *exec.Cmd, done chan struct{}) { cmd.Wait(); close(done) }(p.cmd, p.exited)
}

func (p *process) stop() {
	if p.cmd == nil {
		return
	}
	p.cmd.Process.Kill()
	<-p.exited
	p.cmd = nil
}

func freeAddr(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// newLine starts the router and the demo, connected, and a callee for
// mcu.clock (which the demo calls after each join) when clock is set.
func newLine(t *testing.T, cobs bool) *line {
	if bins.err != nil {
		t.Fatal(bins.err)
	}
	ln := &line{t: t, cobs: cobs, addr: freeAddr(t)}
	ln.routerP = openPTY(t)
	demoP := openPTY(t)
	ln.relay = newRelay(ln.routerP, demoP)
	ln.link = filepath.Join(t.TempDir(), "ttyMCU")
	if err := os.Symlink(demoP.slave, ln.link); err != nil {
		t.Fatal(err)
	}
	framing := "plain"
	if cobs {
		framing = "cobs"
	}
	ln.router = &process{name: "wampedge", args: []string{bins.wampedge, "-mdns=false", "-log-level", "debug",
		"-listen", "tcp://" + ln.addr, "-listen", "serial://" + ln.routerP.slave + "?framing=" + framing}}
	ln.router.start(t)
	args := []string{bins.demo}
	if cobs {
		args = append(args, "-cobs")
	}
	ln.demo = &process{name: "mcu-demo", args: append(args, ln.link)}
	t.Cleanup(func() {
		ln.demo.stop()
		ln.router.stop()
		if t.Failed() {
			t.Logf("mcu-demo:\n%s", ln.demo.log)
			t.Logf("wampedge:\n%s", ln.router.log)
		}
	})
	return ln
}

// dial connects a Go client, retrying while the router starts.
func (ln *line) dial(ctx context.Context) *client.Client {
	ln.t.Helper()
	for {
		c, err := client.Dial(ctx, "tcp://"+ln.addr, client.Config{Realm: "realm1"})
		if err == nil {
			ln.t.Cleanup(func() { c.Close() })
			return c
		}
		select {
		case <-ctx.Done():
			ln.t.Fatalf("dialing the router: %v", err)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// clock registers mcu.clock answering [12345, "clock"].
func clock(ctx context.Context, t *testing.T, c *client.Client) {
	t.Helper()
	_, err := c.Register(ctx, "mcu.clock", func(context.Context, *client.Invocation) (client.Payload, error) {
		return client.Args(int64(12345), "clock"), nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// events subscribes to topic and returns a channel of each event's args.
func events(ctx context.Context, t *testing.T, c *client.Client, topic string) <-chan []any {
	t.Helper()
	ch := make(chan []any, 1024)
	if _, err := c.Subscribe(ctx, topic, func(e *client.Event) {
		select {
		case ch <- e.Args:
		default:
		}
	}); err != nil {
		t.Fatal(err)
	}
	return ch
}

// waitAdd calls mcu.add until the demo answers it (it is registered),
// and returns how long that took.
func waitAdd(ctx context.Context, t *testing.T, c *client.Client) time.Duration {
	t.Helper()
	start := time.Now()
	for {
		cctx, cancel := context.WithTimeout(ctx, time.Second)
		res, err := c.Call(cctx, "mcu.add", client.Args(2, 3))
		cancel()
		if err == nil {
			if len(res.Args) != 1 || !isInt(res.Args[0], 5) {
				t.Fatalf("mcu.add(2, 3) = %v", res.Args)
			}
			return time.Since(start)
		}
		if ctx.Err() != nil {
			t.Fatalf("mcu.add never answered: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func isInt(v any, want int64) bool {
	switch n := v.(type) {
	case int64:
		return n == want
	case uint64:
		return want >= 0 && n == uint64(want)
	}
	return false
}

func recv(t *testing.T, ch <-chan []any, within time.Duration, what string) []any {
	t.Helper()
	select {
	case args := <-ch:
		return args
	case <-time.After(within):
		t.Fatalf("no %s within %v", what, within)
		return nil
	}
}

// everyKind is a positional payload holding every MessagePack kind,
// 64-bit integers at their limits, unicode and binary, pad bytes of
// binary at the end.
func everyKind(pad int) []byte {
	b := msgp.AppendArrayHeader(nil, 14)
	b = msgp.AppendNil(b)
	b = msgp.AppendBool(b, true)
	b = msgp.AppendBool(b, false)
	b = msgp.AppendInt64(b, math.MinInt64)
	b = msgp.AppendInt64(b, math.MaxInt64)
	b = msgp.AppendUint64(b, math.MaxUint64)
	b = msgp.AppendInt64(b, -33)
	b = msgp.AppendFloat32(b, 1.5)
	b = msgp.AppendFloat64(b, -1e-300)
	b = msgp.AppendString(b, "héllo, wörld ✓ 日本語 🙂")
	b = msgp.AppendBytes(b, []byte{0, 1, 0xfe, 0xff, 0})
	b = msgp.AppendArrayHeader(b, 2)
	b = msgp.AppendInt(b, 1)
	b = msgp.AppendMapHeader(b, 1)
	b = msgp.AppendString(b, "k")
	b = msgp.AppendArrayHeader(b, 0)
	b = msgp.AppendMapHeader(b, 2)
	b = msgp.AppendString(b, "a")
	b = msgp.AppendFloat64(b, math.Inf(1))
	b = msgp.AppendString(b, "ü")
	b = msgp.AppendNil(b)
	pad -= len(b) + 3
	if pad < 0 {
		pad = 0
	}
	return msgp.AppendBytes(b, bytes.Repeat([]byte{0xa5, 0}, pad/2+pad%2)[:pad])
}

func framings(t *testing.T, f func(t *testing.T, cobs bool)) {
	for _, cobs := range []bool{false, true} {
		name := "plain"
		if cobs {
			name = "cobs"
		}
		t.Run(name, func(t *testing.T) { f(t, cobs) })
	}
}

// The demo's contract: mcu.add, mcu.echo, mcu.led → mcu.button, mcu.booted.
func TestDemo(t *testing.T) {
	framings(t, func(t *testing.T, cobs bool) {
		ctx := testutil.Ctx(t, 60*time.Second)
		ln := newLine(t, cobs)
		c := ln.dial(ctx)
		clock(ctx, t, c)
		booted := events(ctx, t, c, "mcu.booted")
		buttons := events(ctx, t, c, "mcu.button")
		ln.demo.start(t)

		args := recv(t, booted, 10*time.Second, "mcu.booted")
		if len(args) != 2 || !isInt(args[0], 12345) || args[1] != "clock" {
			t.Fatalf("mcu.booted %v, want [12345 clock]", args)
		}
		waitAdd(ctx, t, c)
		for _, ab := range [][2]int64{{40, 2}, {-7, 3}, {1 << 40, 1 << 41}, {math.MaxInt64 - 1, 1}} {
			res, err := c.Call(ctx, "mcu.add", client.Args(ab[0], ab[1]))
			if err != nil || len(res.Args) != 1 || !isInt(res.Args[0], ab[0]+ab[1]) {
				t.Fatalf("mcu.add(%d, %d) = %v, %v", ab[0], ab[1], res, err)
			}
		}
		if _, err := c.Call(ctx, "mcu.add", client.Args("x")); err == nil {
			t.Fatal("mcu.add(\"x\") answered; want an error")
		}

		// mcu.echo: every kind, then a payload close to the demo's maximum
		// (the INVOCATION around it takes a few dozen bytes more).
		for _, size := range []int{0, 200, demoMax - 64} {
			in := everyKind(size)
			res, err := c.Call(ctx, "mcu.echo", client.Payload{Args: in})
			if err != nil {
				t.Fatalf("mcu.echo of %d bytes: %v", len(in), err)
			}
			if !bytes.Equal(res.Payload.Args, in) {
				t.Fatalf("mcu.echo of %d bytes came back different:\n in  %x\n out %x", len(in), in, res.Payload.Args)
			}
		}
		// Over the maximum: the router refuses it for the demo, which stays.
		if _, err := c.Call(ctx, "mcu.echo", client.Payload{Args: everyKind(demoMax + 100)}); err == nil {
			t.Fatal("mcu.echo over the demo's maximum answered")
		}
		waitAdd(ctx, t, c)

		for i := 1; i <= 20; i++ {
			if err := c.Publish(ctx, "mcu.led", client.Args(i), client.PublishOptions{}); err != nil {
				t.Fatal(err)
			}
		}
		for i := 1; i <= 20; i++ {
			args := recv(t, buttons, 5*time.Second, fmt.Sprintf("mcu.button #%d", i))
			if len(args) != 2 || !isInt(args[0], int64(i)) || !isInt(args[1], int64(i)) {
				t.Fatalf("mcu.button #%d: %v, want [%d %d]", i, args, i, i)
			}
		}
		if n := strings.Count(ln.demo.log.String(), "mcu-demo: ready"); n != 1 {
			t.Fatalf("the demo joined %d times; want once", n)
		}
	})
}

// Line noise. COBS: the session survives, only damaged frames are lost.
// Plain: the line resyncs, and the demo's registrations and subscription
// come back in a new session.
func TestNoise(t *testing.T) {
	framings(t, func(t *testing.T, cobs bool) {
		ctx := testutil.Ctx(t, 90*time.Second)
		ln := newLine(t, cobs)
		c := ln.dial(ctx)
		clock(ctx, t, c)
		booted := events(ctx, t, c, "mcu.booted")
		buttons := events(ctx, t, c, "mcu.button")
		ln.demo.start(t)
		recv(t, booted, 10*time.Second, "mcu.booted")
		waitAdd(ctx, t, c)

		const sent = 300
		ln.relay.setNoise(&noise{flip: 0.002, drop: 0.001, insert: 0.001})
		var got [][]any
		var mu sync.Mutex
		done := make(chan struct{})
		go func() {
			defer close(done)
			for {
				select {
				case args := <-buttons:
					mu.Lock()
					got = append(got, args)
					mu.Unlock()
				case <-time.After(3 * time.Second):
					return
				}
			}
		}()
		for i := 1; i <= sent; i++ {
			c.Publish(ctx, "mcu.led", client.Args(i), client.PublishOptions{})
			time.Sleep(5 * time.Millisecond)
		}
		time.Sleep(500 * time.Millisecond)
		ln.relay.setNoise(nil)
		<-done
		mu.Lock()
		defer mu.Unlock()
		t.Logf("%d of %d mcu.led answered through the noise; %d bytes damaged", len(got), sent, ln.relay.damaged.Load())
		if ln.relay.damaged.Load() == 0 {
			t.Fatal("the noise damaged nothing")
		}

		if cobs {
			// Same session all along: COUNT only grows, and the demo never
			// joined again.
			last := int64(0)
			for _, args := range got {
				if len(args) != 2 {
					t.Fatalf("mcu.button %v", args)
				}
				n, _ := args[1].(int64)
				if u, ok := args[1].(uint64); ok {
					n = int64(u)
				}
				if n <= last {
					t.Fatalf("mcu.button COUNT went from %d to %d: a new session", last, n)
				}
				last = n
			}
			if len(got) == 0 || len(got) == sent {
				t.Fatalf("%d of %d answered: want some lost, most through", len(got), sent)
			}
			if n := strings.Count(ln.demo.log.String(), "mcu-demo: ready"); n != 1 {
				t.Fatalf("the demo joined %d times; want once", n)
			}
			waitAdd(ctx, t, c)
			return
		}

		// Plain: garbage on the line resyncs it; once it is clean the demo
		// is back in a new session with all it declared.
		ln.relay.router.master.Write(bytes.Repeat([]byte{0x5a, 0x00, 0xff, 0x13}, 16))
		ln.relay.mu.Lock()
		ln.relay.demo.master.Write(bytes.Repeat([]byte{0x01, 0x7e, 0x00, 0x99}, 16))
		ln.relay.mu.Unlock()
		deadline := time.Now().Add(15 * time.Second)
		for strings.Count(ln.demo.log.String(), "mcu-demo: ready") < 2 {
			if time.Now().After(deadline) {
				t.Fatal("the demo did not join again after line garbage")
			}
			time.Sleep(50 * time.Millisecond)
		}
		waitAdd(ctx, t, c)
		for len(buttons) > 0 {
			<-buttons
		}
		// COUNT starts again at 1 in the new session: the subscription is back.
		var first []any
		for tries := 0; first == nil && tries < 50; tries++ {
			c.Publish(ctx, "mcu.led", client.Args(1000+tries), client.PublishOptions{})
			select {
			case first = <-buttons:
			case <-time.After(200 * time.Millisecond):
			}
		}
		if first == nil || len(first) != 2 {
			t.Fatalf("no mcu.button after the resync: %v", first)
		}
	})
}

// The router stops and starts again: the demo is back within 5 s.
func TestRouterRestart(t *testing.T) {
	framings(t, func(t *testing.T, cobs bool) {
		ctx := testutil.Ctx(t, 60*time.Second)
		ln := newLine(t, cobs)
		c := ln.dial(ctx)
		ln.demo.start(t)
		waitAdd(ctx, t, c)

		ln.router.stop()
		c.Close()
		time.Sleep(300 * time.Millisecond)
		ln.router.start(t)
		restarted := time.Now()
		c = ln.dial(ctx)
		waitAdd(ctx, t, c)
		back := time.Since(restarted)
		t.Logf("the demo was back %v after the router started again", back.Round(time.Millisecond))
		if back > 5*time.Second {
			t.Fatalf("the demo took %v to come back; want at most 5s", back)
		}
	})
}

// The demo's line goes away (its device hangs up) and comes back as a
// new device behind the same name: the demo reopens it by itself.
func TestUnplug(t *testing.T) {
	framings(t, func(t *testing.T, cobs bool) {
		ctx := testutil.Ctx(t, 60*time.Second)
		ln := newLine(t, cobs)
		c := ln.dial(ctx)
		ln.demo.start(t)
		waitAdd(ctx, t, c)

		ln.relay.unplug()
		time.Sleep(700 * time.Millisecond)
		p := openPTY(t)
		tmp := ln.link + ".new"
		if err := os.Symlink(p.slave, tmp); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, ln.link); err != nil {
			t.Fatal(err)
		}
		ln.relay.plug(p)
		replugged := time.Now()
		waitAdd(ctx, t, c)
		t.Logf("the demo was back %v after the replug", time.Since(replugged).Round(time.Millisecond))
		log := ln.demo.log.String()
		if !strings.Contains(log, "gone; reopening") || strings.Count(log, "opened ") < 2 {
			t.Fatalf("the demo did not reopen its device:\n%s", log)
		}
	})
}
