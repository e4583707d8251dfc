package serial

import (
	"bytes"
	"testing"
)

// FuzzCOBS feeds arbitrary line bytes to the COBS decoder and the
// handshake search: nothing panics, every data packet round trips, and
// what the line delivers is only data of packets whose CRC held.
func FuzzCOBS(f *testing.F) {
	f.Add([]byte{0x03, 0x7f, 0xf2, 0x01, 0x03, 0x9f, 0x69, 0x00}, []byte{0x7f, 0xf2, 0, 0})
	f.Add([]byte{0x00, 0x00, 0xff}, []byte{})
	f.Add(bytes.Repeat([]byte{0x01}, 300), bytes.Repeat([]byte{0xaa}, 300))
	f.Fuzz(func(t *testing.T, noise, data []byte) {
		// A packet of data decodes back to data.
		pkt := appendPacket(nil, data)
		if bytes.IndexByte(pkt[:len(pkt)-1], 0) >= 0 {
			t.Fatalf("packet of % x holds a 0x00 before its end", data)
		}
		got, err := decodePacket(append([]byte(nil), pkt[:len(pkt)-1]...))
		if err != nil || !bytes.Equal(got, data) {
			t.Fatalf("round trip of % x: % x, %v", data, got, err)
		}
		// Noise, then the packet: the line drops what fails and still
		// delivers the packet's data at the end.
		l := &line{framing: COBS, counts: new(Counts), notify: make(chan struct{}, 1)}
		l.feedLocked(noise)
		l.feedLocked([]byte{0}) // ends whatever the noise left open
		before := len(l.buf)
		l.feedLocked(pkt)
		if !bytes.Equal(l.buf[before:], data) {
			t.Fatalf("after noise % x the line delivered % x, want % x", noise, l.buf[before:], data)
		}
		indexHandshake(l.buf)
	})
}
