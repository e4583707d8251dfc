package rawsocket

import (
	"io"
	"slices"
	"testing"
)

// replay is an endless stream: buf over and over, as much per Read as fits.
type replay struct {
	buf []byte
	off int
}

func (r *replay) Read(p []byte) (int, error) {
	n := copy(p, r.buf[r.off:])
	r.off = (r.off + n) % len(r.buf)
	return n, nil
}

const (
	benchMsgSize = 64
	benchBatch   = 32
)

// replayConn reads the frames of 1024 messages of benchMsgSize bytes over
// and over, each preceded by a PING if pings is set, and writes to
// io.Discard.
func replayConn(pings bool) *Conn {
	var buf []byte
	for i := range 1024 {
		if pings {
			buf = append(buf, frame(framePing, []byte("ping"))...)
		}
		buf = append(buf, frame(frameMessage, pattern(benchMsgSize, byte(i)))...)
	}
	return testConn(readWriter{&replay{buf: buf}, io.Discard}, 1<<16, 1<<16)
}

// discardConn writes to io.Discard.
func discardConn() *Conn { return testConn(readWriter{nil, io.Discard}, 1<<16, 1<<16) }

func benchBatchMsgs() [][]byte {
	return slices.Repeat([][]byte{pattern(benchMsgSize, 1)}, benchBatch)
}

func BenchmarkReadMsg(b *testing.B) {
	c := replayConn(false)
	b.SetBytes(benchMsgSize)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.ReadMsg(); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkWriteMsg(b *testing.B) {
	c, msg := discardConn(), pattern(benchMsgSize, 1)
	b.SetBytes(benchMsgSize)
	b.ReportAllocs()
	for b.Loop() {
		if err := c.WriteMsg(msg); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkWriteMsgs(b *testing.B) {
	c, batch := discardConn(), benchBatchMsgs()
	b.SetBytes(benchBatch * benchMsgSize)
	b.ReportAllocs()
	for b.Loop() {
		if err := c.WriteMsgs(batch); err != nil {
			b.Fatal(err)
		}
	}
}

// Once its buffers are warm, a connection frames without allocating.
func TestFramingZeroAllocs(t *testing.T) {
	reading, pinged := replayConn(false), replayConn(true)
	writing, msg, batch := discardConn(), pattern(benchMsgSize, 1), benchBatchMsgs()
	for name, op := range map[string]func() error{
		"ReadMsg":           func() error { _, err := reading.ReadMsg(); return err },
		"ReadMsg with PING": func() error { _, err := pinged.ReadMsg(); return err },
		"WriteMsg":          func() error { return writing.WriteMsg(msg) },
		"WriteMsgs":         func() error { return writing.WriteMsgs(batch) },
		"Ping":              func() error { return writing.Ping(msg) },
	} {
		var err error
		for range 2048 { // warm: every buffer at its steady size
			err = op()
		}
		allocs := testing.AllocsPerRun(1000, func() { err = op() })
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if allocs != 0 {
			t.Errorf("%s: %v allocations per call, want 0", name, allocs)
		}
	}
}
