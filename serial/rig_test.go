package serial_test

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wampedge/wampedge/edge"
	"github.com/wampedge/wampedge/edge/client"
	"github.com/wampedge/wampedge/internal/testutil"
	"github.com/wampedge/wampedge/rawsocket"
	"github.com/wampedge/wampedge/serial"
)

// ioTimeout bounds every wait: a failure guard, never a measurement.
const ioTimeout = 10 * time.Second

func deadline(d time.Duration) time.Time { return time.Now().Add(d) }

// ---------------------------------------------------------------------
// The rig: a router with a serial listener on a pty (through a by-id
// symlink) and a TCP listener on loopback.
// ---------------------------------------------------------------------

type rigConfig struct {
	framing      serial.Framing
	frameTimeout time.Duration // the listener's; DefaultFrameTimeout when zero
	queueBytes   int
}

type rig struct {
	router *edge.Router
	sl     *serial.Listener
	tcpURL string
	pty    *pty
	link   string // the stable name the listener opens
	logs   *logRecorder
}

func newRig(t testing.TB, rc rigConfig) *rig {
	t.Helper()
	p := openPTY(t)
	link := byID(t, p.slave)
	logs := &logRecorder{}
	r := edge.New(&edge.Config{GoodbyeTimeout: 500 * time.Millisecond, QueueBytes: rc.queueBytes})
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), ioTimeout)
		defer cancel()
		if err := r.Close(ctx); err != nil {
			t.Errorf("closing the router: %v", err)
		}
		if t.Failed() {
			t.Logf("serial listener log:\n%s", logs)
		}
	})
	url := "serial://" + link
	if rc.framing == serial.COBS {
		url += "?framing=cobs"
	}
	sl, err := serial.Listen(url, serial.ListenConfig{
		Config: rawsocket.Config{FrameTimeout: rc.frameTimeout},
		Logger: slog.New(logs),
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.ServeListener(sl); err != nil {
		t.Fatal(err)
	}
	tl, err := r.Listen("tcp://127.0.0.1:0", rawsocket.ListenConfig{})
	if err != nil {
		t.Fatal(err)
	}
	return &rig{router: r, sl: sl, tcpURL: "tcp://" + tl.Addr().String(), pty: p, link: link, logs: logs}
}

// client joins realm1 over TCP with the project's Go client.
func (rg *rig) client(t testing.TB) *client.Client {
	t.Helper()
	c, err := client.Dial(opCtx(t), rg.tcpURL, client.Config{})
	if err != nil {
		t.Fatalf("TCP client: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// mcu is a microcontroller on the pty's master, writing through out
// when it is not nil.
func (rg *rig) mcu(out io.Writer, cobs bool) *mcu { return newMCU(rg.pty.master, out, cobs) }

// opCtx bounds one client operation.
func opCtx(t testing.TB) context.Context { return testutil.Ctx(t, ioTimeout) }

// waitFor polls cond, bounded in count and time.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	testutil.WaitFor(t, ioTimeout, what, cond)
}

// background runs f in a goroutine whose context ends with the test,
// and waits for it at cleanup.
func background(t testing.TB, f func(ctx context.Context)) {
	ctx, cancel := context.WithTimeout(context.Background(), ioTimeout)
	done := make(chan struct{})
	t.Cleanup(func() { <-done })
	t.Cleanup(cancel)
	go func() {
		defer close(done)
		f(ctx)
	}()
}

// logRecorder is a slog handler that keeps the messages.
type logRecorder struct {
	mu    sync.Mutex
	lines []string
}

func (l *logRecorder) Enabled(context.Context, slog.Level) bool { return true }
func (l *logRecorder) WithAttrs([]slog.Attr) slog.Handler       { return l }
func (l *logRecorder) WithGroup(string) slog.Handler            { return l }
func (l *logRecorder) Handle(_ context.Context, r slog.Record) error {
	var b strings.Builder
	b.WriteString(r.Level.String() + " " + r.Message)
	r.Attrs(func(a slog.Attr) bool {
		b.WriteString(" " + a.String())
		return true
	})
	l.mu.Lock()
	l.lines = append(l.lines, b.String())
	l.mu.Unlock()
	return nil
}

// count is how many messages were exactly msg.
func (l *logRecorder) count(msg string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, s := range l.lines {
		if _, m, _ := strings.Cut(s, " "); m == msg || strings.HasPrefix(m, msg+" ") {
			n++
		}
	}
	return n
}

func (l *logRecorder) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.lines, "\n")
}

// asInt reads an integer the Go client decoded: MessagePack's uint
// forms come back as uint64, its int forms as int64.
func asInt(v any) (int64, bool) {
	switch n := v.(type) {
	case int64:
		return n, true
	case uint64:
		return int64(n), n <= 1<<63-1
	}
	return 0, false
}
