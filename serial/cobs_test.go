package serial

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"
)

func TestCRC16(t *testing.T) {
	for _, v := range []struct {
		in   string
		want uint16
	}{
		{"123456789", 0x29b1}, // the catalogue's check value for CRC-16/CCITT-FALSE
		{"", 0xffff},          // the initial value, no final XOR
		{"\x7f\xf2\x00\x00", 0x9f69},
		{"\x7f\xb2\x00\x00", 0x82c4},
	} {
		if got := crc16([]byte(v.in)); got != v.want {
			t.Errorf("crc16(%q) = %#04x, want %#04x", v.in, got, v.want)
		}
	}
}

func hexBytes(t testing.TB, s string) []byte {
	t.Helper()
	var b []byte
	for _, f := range strings.Fields(s) {
		var v byte
		if _, err := fmt.Sscanf(f, "%02x", &v); err != nil {
			t.Fatalf("%q: %v", f, err)
		}
		b = append(b, v)
	}
	return b
}

// TestPacketVectors: appendPacket is COBS(data ‖ CRC) 0x00. Each case is
// an example of the COBS paper (Cheshire and Baker) with the data's CRC
// (from an independent implementation, Python's binascii.crc_hqx with
// initial value 0xFFFF) appended before stuffing, so the CRC's two bytes
// join the last block.
func TestPacketVectors(t *testing.T) {
	seq := func(n int) string { // 01 02 ... n
		var b strings.Builder
		for i := 1; i <= n; i++ {
			fmt.Fprintf(&b, "%02x ", i)
		}
		return b.String()
	}
	for _, v := range []struct {
		name, data, packet string
	}{
		// paper: 00 -> 01 01 00; the CRC of 00 is E1F0
		{"00", "00", "01 03 e1 f0 00"},
		// paper: 00 00 -> 01 01 01 00; CRC 1D0F
		{"00 00", "00 00", "01 01 03 1d 0f 00"},
		// paper: 00 11 00 -> 01 02 11 01 00; CRC FCDE
		{"00 11 00", "00 11 00", "01 02 11 03 fc de 00"},
		// paper: 11 22 00 33 -> 03 11 22 02 33 00; CRC 0745
		{"11 22 00 33", "11 22 00 33", "03 11 22 04 33 07 45 00"},
		// paper: 11 22 33 44 -> 05 11 22 33 44 00; CRC 59F3
		{"11 22 33 44", "11 22 33 44", "07 11 22 33 44 59 f3 00"},
		// paper: 11 00 00 00 -> 02 11 01 01 01 00; CRC E9D3
		{"11 00 00 00", "11 00 00 00", "02 11 01 01 03 e9 d3 00"},
		// nothing: the CRC alone, FFFF
		{"empty", "", "03 ff ff 00"},
		// the README's handshake and reply
		{"handshake", "7f f2 00 00", "03 7f f2 01 03 9f 69 00"},
		{"handshake reply", "7f b2 00 00", "03 7f b2 01 03 82 c4 00"},
		// 254 non-zero bytes: a full block (FF, no implied zero), then
		// the CRC 5C1D in a block of its own
		{"01..FE", seq(254), "ff " + seq(254) + "03 5c 1d 00"},
		// 253 and the CRC's high byte fill a block; its low byte follows
		{"01..FD", seq(253), "ff " + seq(253) + "48 02 9b 00"},
		// 252 and the CRC fill a block exactly: the paper's encoder then
		// ends with an empty block, 01
		{"01..FC", seq(252), "ff " + seq(252) + "09 e7 01 00"},
	} {
		data, want := hexBytes(t, v.data), hexBytes(t, v.packet)
		got := appendPacket([]byte{0xaa}, data) // appends to what is there
		if got[0] != 0xaa || !bytes.Equal(got[1:], want) {
			t.Errorf("%s: appendPacket =\n% x\nwant\n% x", v.name, got[1:], want)
			continue
		}
		dec, err := decodePacket(append([]byte(nil), want[:len(want)-1]...))
		if err != nil || !bytes.Equal(dec, data) {
			t.Errorf("%s: decodePacket = % x, %v; want % x", v.name, dec, err, data)
		}
	}
}

func TestDecodePacketErrors(t *testing.T) {
	good := appendPacket(nil, []byte("hello"))
	good = good[:len(good)-1]
	flip := append([]byte(nil), good...)
	flip[3] ^= 0x04
	for _, v := range []struct {
		name   string
		packet []byte
		want   error
	}{
		{"empty", nil, errCOBS},
		{"code 0", []byte{0x00, 0x01}, errCOBS},
		{"code past the end", []byte{0x05, 0x11, 0x22}, errCOBS},
		{"one byte: no room for a CRC", []byte{0x02, 0x11}, errCOBS},
		{"a data bit flipped", flip, errCRC},
		{"a byte lost", append(append([]byte(nil), good[:2]...), good[3:]...), errCOBS},
		{"a code byte changed", append([]byte{good[0] - 1}, good[1:]...), errCOBS},
	} {
		if _, err := decodePacket(append([]byte(nil), v.packet...)); !errors.Is(err, v.want) {
			t.Errorf("%s: decodePacket(% x) = %v, want %v", v.name, v.packet, err, v.want)
		}
	}
}

// TestLineCOBS feeds a line with COBS framing the way the pump does, in
// pieces: a damaged packet is dropped alone and counted, a lost 0x00
// costs the two packets it separated, lone delimiters are ignored, and
// what follows comes through.
func TestLineCOBS(t *testing.T) {
	var c Counts
	l := &line{framing: COBS, counts: &c}
	a, b, d := appendPacket(nil, []byte("first")), appendPacket(nil, []byte("second")), appendPacket(nil, []byte("third"))
	bad := append([]byte(nil), b...)
	bad[2] ^= 0x40
	var stream []byte
	stream = append(stream, 0x00, 0x00)      // lone delimiters
	stream = append(stream, a...)            // delivered
	stream = append(stream, bad...)          // dropped: 1
	stream = append(stream, a[:len(a)-1]...) // its 0x00 lost: it and the next one
	stream = append(stream, b...)            // are one packet, dropped: 2
	stream = append(stream, 0x13, 0x37)      // garbage, joined to the next packet:
	stream = append(stream, d...)            // dropped: 3
	stream = append(stream, 0x00)            // resync
	stream = append(stream, d...)            // delivered
	for i := 0; i < len(stream); i += 3 {    // in 3-byte reads
		l.feedLocked(stream[i:min(i+3, len(stream))])
	}
	if got := string(l.buf); got != "firstthird" {
		t.Errorf("line delivered %q, want %q", got, "firstthird")
	}
	if n := c.DroppedPackets.Load(); n != 3 {
		t.Errorf("%d packets dropped, want 3", n)
	}
}
