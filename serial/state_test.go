package serial_test

import (
	"testing"

	"github.com/wampedge/wampedge/codec"
	"github.com/wampedge/wampedge/edge/client"
	"github.com/wampedge/wampedge/internal/testutil"
	"github.com/wampedge/wampedge/rawsocket"
	"github.com/wampedge/wampedge/serial"
)

// TestLineState: a line is waiting once open, in a session while a
// device speaks on it, and absent once unplugged.
func TestLineState(t *testing.T) {
	rg := newRig(t, rigConfig{})
	state := func(want serial.LineState) {
		t.Helper()
		testutil.WaitFor(t, ioTimeout, "line "+want.String(), func() bool { return rg.sl.State() == want })
	}
	state(serial.LineWaiting)
	conn, err := rawsocket.Connect(rg.pty.master, codec.MsgPack, rawsocket.Config{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := testutil.Ctx(t, ioTimeout)
	c, err := client.Join(ctx, conn, client.Config{})
	if err != nil {
		t.Fatal(err)
	}
	state(serial.LineSession)
	c.Close() // and the master with it: an unplug
	state(serial.LineAbsent)
	if rg.sl.Device() != rg.link {
		t.Errorf("Device() = %q, want %q", rg.sl.Device(), rg.link)
	}
}
