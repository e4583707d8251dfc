package serial_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"
	"unsafe"

	"github.com/wampedge/wampedge/edge/client"
	"golang.org/x/sys/unix"
)

// TestUnplug unplugs the microcontroller's USB-serial adapter and plugs
// a new one in under the same stable name, with the router running
// throughout.
//
// The unplug is closing the pty master: the router's slave descriptor
// is hung up and its reads fail, as a ttyUSB's do when its adapter goes. (A socat pty
// pair would not do: socat keeps relaying and never passes a hangup on
// to the far end; closing an openpty master does.)
//
// While the board is away the stable name points at a node that is not
// a terminal, standing for the gap before udev has the new device
// ready: every open the listener tries is seen there (inotify IN_OPEN),
// which counts the attempts without measuring time. The replug makes a
// new pty (a new /dev/pts/N, as a replugged adapter may come back as
// another ttyUSB) and points the name at it with an atomic rename.
func TestUnplug(t *testing.T) {
	rg := newRig(t, rigConfig{})
	tcp := rg.client(t)
	m := rg.mcu(nil, false)
	until := deadline(ioTimeout)
	if err := m.join(until); err != nil {
		t.Fatalf("MCU joining: %v", err)
	}
	if _, err := m.subscribe(until, "com.example.mcu.topic"); err != nil {
		t.Fatal(err)
	}
	if _, err := m.register(until, "com.example.mcu.proc"); err != nil {
		t.Fatal(err)
	}
	noop := func(context.Context, *client.Invocation) (client.Payload, error) { return client.Payload{}, nil }
	_, err := tcp.Register(opCtx(t), "com.example.mcu.proc", noop)
	if we := (*client.Error)(nil); !errors.As(err, &we) || we.URI != "wamp.error.procedure_already_exists" {
		t.Fatalf("TCP client registering the MCU's procedure: %v, want procedure_already_exists", err)
	}

	// Unplug.
	absent := filepath.Join(t.TempDir(), "not-a-tty")
	if err := os.WriteFile(absent, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	opens := watchOpens(t, absent)
	repoint(t, rg.link, absent)
	rg.pty.unplug()

	// The router ends the session: the MCU's registration goes with it.
	var reg *client.Registration
	waitFor(t, "the MCU's registration to go", func() bool {
		reg, err = tcp.Register(opCtx(t), "com.example.mcu.proc", noop)
		return err == nil
	})
	if err := tcp.Unregister(opCtx(t), reg); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the MCU's session to leave", func() bool { return rg.router.Stats().Sessions == 1 })
	waitFor(t, `"serial device gone; reopening"`, func() bool { return rg.logs.count("serial device gone; reopening") == 1 })

	// A second away. Backoff from 0.1 s doubling: a handful of attempts.
	time.Sleep(time.Second)
	attempts := opens()

	// Replug: a new pty under the same name.
	p2 := openPTY(t)
	repoint(t, rg.link, p2.slave)
	attempts += opens() // one may have been under way
	t.Logf("%d open attempts while the device was away", attempts)
	if attempts < 1 || attempts > 8 {
		t.Errorf("%d open attempts during a 1 s absence; backoff should make it 1 to 8", attempts)
	}

	m2 := newMCU(p2.master, nil, false)
	if err := m2.joinRetrying(deadline(ioTimeout)); err != nil {
		t.Fatalf("MCU joining after the replug: %v", err)
	}
	sub, err := m2.subscribe(until, "com.example.mcu.topic")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m2.register(until, "com.example.mcu.proc"); err != nil {
		t.Fatalf("MCU registering its procedure again: %v", err)
	}
	if err := tcp.Publish(opCtx(t), "com.example.mcu.topic", client.Args("welcome back"), client.PublishOptions{Acknowledge: true}); err != nil {
		t.Fatal(err)
	}
	var got string
	m2.onEvent = func(x *wmsg) {
		if x.a == sub {
			got = string(x.s)
		}
	}
	if err := m2.serve(until, func() bool { return got != "" }); err != nil {
		t.Fatalf("MCU waiting for an event after the replug: %v", err)
	}
	if got != "welcome back" {
		t.Errorf("MCU got %q", got)
	}
	results := make(chan error, 1)
	background(t, func(ctx context.Context) {
		res, err := tcp.Call(ctx, "com.example.mcu.proc", client.Args(41))
		if err == nil {
			if n, _ := asInt(res.Args[0]); n != 42 {
				err = errors.New("wrong result")
			}
		}
		results <- err
	})
	if err := m2.serve(until, func() bool { return len(results) > 0 }); err != nil {
		t.Fatalf("MCU serving a call after the replug: %v", err)
	}
	if err := <-results; err != nil {
		t.Errorf("calling the MCU after the replug: %v", err)
	}

	c := rg.sl.Counts()
	if c.Reopens.Load() != 1 || c.Sessions.Load() != 2 {
		t.Errorf("listener counts: %d reopens, %d sessions; want 1 and 2", c.Reopens.Load(), c.Sessions.Load())
	}
	// One log line per change of state (README, "Unplug and replug").
	for msg, want := range map[string]int{
		"serial device open; waiting for a RawSocket handshake": 1,
		"serial device gone; reopening":                         1,
		"serial device not available; retrying":                 1,
		"serial device back":                                    1,
	} {
		if n := rg.logs.count(msg); n != want {
			t.Errorf("%d log lines %q, want %d", n, msg, want)
		}
	}
	if err := m2.leave(until); err != nil {
		t.Fatal(err)
	}
}

// watchOpens counts the opens of a file from now on, through inotify;
// the function returns the count since its last call. Opens and closes
// are both watched: inotify merges an event into an identical one still
// unread, and OPEN, CLOSE, OPEN never are.
func watchOpens(t testing.TB, path string) func() int {
	t.Helper()
	fd, err := unix.InotifyInit1(unix.IN_CLOEXEC | unix.IN_NONBLOCK)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(fd) })
	if _, err := unix.InotifyAddWatch(fd, path, unix.IN_OPEN|unix.IN_CLOSE); err != nil {
		t.Fatal(err)
	}
	return func() int {
		n := 0
		var buf [4096]byte
		for range 1000 {
			k, err := unix.Read(fd, buf[:])
			if k <= 0 || err != nil {
				return n
			}
			for i := 0; i+unix.SizeofInotifyEvent <= k; {
				ev := (*unix.InotifyEvent)(unsafe.Pointer(&buf[i]))
				if ev.Mask&unix.IN_OPEN != 0 {
					n++
				}
				i += unix.SizeofInotifyEvent + int(ev.Len)
			}
		}
		return n
	}
}

// TestReplugAnswersOneHandshake: a device that kept resending its
// handshake while its line was away (five of them queued in the line)
// gets no answer to any of those when the line comes back, since they
// were sent to a router that was not there; and of handshakes that reach
// the router back to back, only the last is answered. Either way the
// device gets one answer to read where it waits for one, and no stray
// one where it then expects a frame.
func TestReplugAnswersOneHandshake(t *testing.T) {
	rg := newRig(t, rigConfig{})
	waitFor(t, "the device to be open", func() bool {
		return rg.logs.count("serial device open; waiting for a RawSocket handshake") == 1
	})
	absent := filepath.Join(t.TempDir(), "not-a-tty")
	if err := os.WriteFile(absent, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	repoint(t, rg.link, absent)
	rg.pty.unplug()
	waitFor(t, `"serial device gone; reopening"`, func() bool { return rg.logs.count("serial device gone; reopening") == 1 })

	p2 := openPTY(t)
	m := newMCU(p2.master, nil, false)
	for range 5 { // the retries of a device whose answers did not come
		if err := m.sendHandshake(); err != nil {
			t.Fatal(err)
		}
	}
	repoint(t, rg.link, p2.slave)
	waitFor(t, `"serial device back"`, func() bool { return rg.logs.count("serial device back") == 1 })
	if n := handshakeReplies(t, p2.master, 500*time.Millisecond); n != 0 {
		t.Fatalf("%d handshake replies to the handshakes queued before the line came back, want none", n)
	}

	three := bytes.Repeat([]byte{0x7f, 0xf2, 0x00, 0x00}, 3)
	if _, err := p2.master.Write(three); err != nil {
		t.Fatal(err)
	}
	if n := handshakeReplies(t, p2.master, 500*time.Millisecond); n != 1 {
		t.Fatalf("%d replies to three handshakes back to back, want 1", n)
	}
	m.flush()
	if err := m.sendHello("realm1", "subscriber"); err != nil {
		t.Fatal(err)
	}
	var x wmsg
	if err := m.next(deadline(ioTimeout), &x); err != nil || x.typ != wWelcome {
		t.Fatalf("after the one reply: %v, message type %d, want WELCOME", err, x.typ)
	}
	if c := rg.sl.Counts(); c.Sessions.Load() != 1 {
		t.Errorf("%d sessions on the line, want 1", c.Sessions.Load())
	}
}

// handshakeReplies counts the RawSocket handshake replies (7F, a nibble
// pair, 00 00) that arrive on the master within d; it fails on any other
// byte.
func handshakeReplies(t *testing.T, master *os.File, d time.Duration) int {
	t.Helper()
	var got []byte
	buf := make([]byte, 256)
	master.SetReadDeadline(time.Now().Add(d))
	for range 1000 {
		n, err := master.Read(buf)
		got = append(got, buf[:n]...)
		if err != nil {
			break
		}
	}
	replies := 0
	for ; len(got) >= 4 && got[0] == 0x7f && got[2] == 0 && got[3] == 0; got = got[4:] {
		replies++
	}
	if len(got) > 0 {
		t.Fatalf("% x on the line after %d handshake replies", got, replies)
	}
	return replies
}
