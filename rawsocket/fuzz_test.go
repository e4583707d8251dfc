package rawsocket

import (
	"bytes"
	"errors"
	"io"
	"slices"
	"testing"

	"github.com/wampedge/wampedge/codec"
)

// errTruncated stands for the io.EOF or io.ErrUnexpectedEOF of a
// handshake cut short.
var errTruncated = errors.New("truncated handshake")

func isTruncated(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF)
}

// fuzzServer is the Config the fuzzed Accept runs with: it announces
// L = 7 and wants clients to accept at least 4 KiB (L = 3).
var fuzzServer = Config{MaxLength: 1 << 16, MinPeerLength: 1 << 12}

// acceptRule is what WAMP.md §6.1 makes of a client's handshake octets:
// the reply and the error (nil: accepted).
func acceptRule(req []byte) ([]byte, error) {
	switch {
	case len(req) < 4:
		return nil, errTruncated
	case req[0] != Magic:
		return nil, ErrNotRawSocket
	case req[2] != 0 || req[3] != 0:
		return []byte{Magic, 0x30, 0, 0}, ErrReservedBits
	case req[1]&0x0f == 0:
		return nil, ErrIllegalSerializer
	case !codec.Supported(codec.Serializer(req[1] & 0x0f)):
		return []byte{Magic, 0x10, 0, 0}, ErrSerializerUnsupported
	case lengthOf(req[1]>>4) < fuzzServer.MinPeerLength:
		return []byte{Magic, 0x20, 0, 0}, ErrLengthUnacceptable
	}
	return []byte{Magic, exponent(fuzzServer.MaxLength)<<4 | req[1]&0x0f, 0, 0}, nil
}

// connectRule is what a client asking for serializer s makes of the
// router's reply octets: the error (nil: connected).
func connectRule(reply []byte, s codec.Serializer) error {
	switch {
	case len(reply) < 4:
		return errTruncated
	case reply[0] != Magic || reply[2] != 0 || reply[3] != 0 || reply[1] == 0:
		return ErrBadReply
	case reply[1]&0x0f == 0:
		return &HandshakeError{reply[1] >> 4}
	case codec.Serializer(reply[1]&0x0f) != s:
		return ErrBadReply
	}
	return nil
}

// matches reports whether err is what a rule predicted.
func matches(err, want error) bool {
	if want == errTruncated {
		return isTruncated(err)
	}
	return errors.Is(err, want)
}

func FuzzHandshake(f *testing.F) {
	for _, req := range [][]byte{
		{Magic, 0xf2, 0, 0}, {Magic, 0x01, 0, 0}, {Magic, 0x71, 0, 0}, {Magic, 0xb2, 0, 0, 0, 0, 0, 4},
		{Magic, 0x22, 0, 0}, {Magic, 0x32, 0, 0}, {Magic, 0xf0, 0, 0}, {Magic, 0xf3, 0, 0}, {Magic, 0x0f, 0, 0},
		{Magic, 0xf2, 1, 0}, {Magic, 0xf2, 0, 0x80}, {0, 0xf2, 0, 0}, []byte("GET / HTTP/1.1"), {Magic, 0xf2}, {Magic}, {},
	} {
		for _, reply := range [][]byte{
			{Magic, 0x72, 0, 0}, {Magic, 0xf1, 0, 0}, {Magic, 0x10, 0, 0}, {Magic, 0x20, 0, 0},
			{Magic, 0x30, 0, 0}, {Magic, 0x40, 0, 0}, {Magic, 0xf0, 0, 0}, {Magic, 0, 0, 0},
			{Magic, 0x73, 0, 0}, {Magic, 0x72, 0, 1}, {0x7e, 0x72, 0, 0}, []byte("HTTP/1.1 400"), {Magic, 0x72},
		} {
			f.Add(req, reply, false)
		}
	}
	f.Fuzz(func(t *testing.T, req, reply []byte, json bool) {
		// Accept reads the client's octets and answers by the rules.
		rw := chunked(req)
		c, acceptErr := Accept(rw, fuzzServer)
		accepted := rw.out.Bytes()
		wantReply, wantErr := acceptRule(req)
		if !matches(acceptErr, wantErr) || (acceptErr == nil) != (c != nil) || !bytes.Equal(accepted, wantReply) {
			t.Fatalf("Accept(% x) = %v, replied % x; want %v, % x", req, acceptErr, accepted, wantErr, wantReply)
		}
		if c != nil && (c.MaxSend() != lengthOf(req[1]>>4) || c.MaxRecv() != fuzzServer.MaxLength ||
			c.Serializer() != codec.Serializer(req[1]&0x0f)) {
			t.Fatalf("Accept(% x): MaxSend %d, MaxRecv %d, serializer %v", req, c.MaxSend(), c.MaxRecv(), c.Serializer())
		}

		// Connect sends its octets and reads the router's by the rules.
		s := codec.MsgPack
		if json {
			s = codec.JSON
		}
		rw = chunked(reply)
		c, err := Connect(rw, s, Config{})
		if want := connectRule(reply, s); !matches(err, want) || (err == nil) != (c != nil) {
			t.Fatalf("Connect(%v) with reply % x: %v, want %v", s, reply, err, want)
		}
		if req := []byte{Magic, exponent(DefaultMaxLength)<<4 | byte(s), 0, 0}; !bytes.Equal(rw.out.Bytes(), req) {
			t.Fatalf("Connect(%v) sent % x, want % x", s, rw.out.Bytes(), req)
		}
		if c != nil && (c.MaxSend() != lengthOf(reply[1]>>4) || c.MaxRecv() != DefaultMaxLength) {
			t.Fatalf("Connect with reply % x: MaxSend %d, MaxRecv %d", reply, c.MaxSend(), c.MaxRecv())
		}

		// Whatever Accept answered, the client that sent req reads it as
		// the same outcome (for requests Connect sends: serializer 1-15).
		if len(accepted) == 4 && req[1]&0x0f != 0 {
			c, err := Connect(chunked(accepted), codec.Serializer(req[1]&0x0f), Config{})
			if acceptErr == nil && (err != nil || c.MaxSend() != fuzzServer.MaxLength) ||
				acceptErr != nil && !errors.Is(err, acceptErr) {
				t.Fatalf("Connect reading Accept's reply % x to % x: %v, Accept said %v", accepted, req, err, acceptErr)
			}
		}
	})
}

// errClass names the kind of error a stream ended with.
func errClass(err error) string {
	for _, e := range []error{ErrBadFrame, ErrFrameTooLarge, ErrMsgTooLarge, io.EOF} {
		if errors.Is(err, e) {
			return e.Error()
		}
	}
	return ""
}

// FuzzFrameReader reads a fuzzed stream of frames, the base bytes
// repeated 1 + reps%64 times: the repetition lets short inputs, which the
// fuzzer can minimize, still reach frames past the 4 KiB start buffer.
func FuzzFrameReader(f *testing.F) {
	type seed struct {
		base []byte
		reps uint8
	}
	long := func(typ byte, n int) seed { // a frame of n bytes, its body the repeated header and filler
		return seed{slices.Concat([]byte{typ, byte(n >> 16), byte(n >> 8), byte(n)}, pattern(60, typ)), uint8(n / 64)}
	}
	seeds := []seed{
		{nil, 0},
		{frames([]byte(`[1,"realm1",{}]`)), 0},
		{frames(nil, []byte("a"), nil), 3},
		long(frameMessage, 5000),
		long(framePing, 600), // a PONG over a small peer limit
		{slices.Concat(frame(framePing, []byte("beat")), frames([]byte("x")), frame(framePong, []byte("beat"))), 1},
		{slices.Concat(frames([]byte("ok")), []byte{0x08, 0, 0, 0}), 0},
		{slices.Concat(frames([]byte("ok")), []byte{0x08, 0, 0, 1}), 0},
		{slices.Concat(frames([]byte("ok")), []byte{0x13, 0, 0, 0}), 0},
		{slices.Concat(frames([]byte("ok")), []byte{0x07, 0, 0, 0}), 0},
		{slices.Concat(frames([]byte("ok")), []byte{0, 0, 0x02, 0x01}), 0},
		{slices.Concat(frames([]byte("ok")), []byte{0, 0, 0x10}), 0},
		{slices.Concat(frames([]byte("ok")), []byte{0, 0, 0, 9, 'c', 'u', 't'}), 0},
	}
	for i, s := range seeds {
		for _, limits := range []byte{0x00, 0x77, 0x07, 0x70, 0x44} {
			f.Add(s.base, s.reps, uint16(i*7), limits)
		}
	}
	f.Fuzz(func(t *testing.T, base []byte, reps uint8, split uint16, limits byte) {
		stream := bytes.Repeat(base, 1+int(reps%64))
		// Limits from 512 B to 64 KiB: a fuzzed header may reserve this much.
		recvMax, sendMax := lengthOf(limits&7), lengthOf(limits>>4&7)
		// read reads every message, checking that Buffered foretells
		// whether ReadMsg has to read.
		read := func(rw *streamRW) (msgs [][]byte, written []byte, err error) {
			c := testConn(rw, recvMax, sendMax)
			for range len(stream)/4 + 1 {
				buffered, reads := c.Buffered(), rw.reads
				m, err := c.ReadMsg()
				if read := rw.reads > reads; buffered && read || !buffered && !read && !errors.Is(err, ErrMsgTooLarge) {
					t.Fatalf("Buffered() = %v, and ReadMsg read: %v", buffered, read)
				}
				if err != nil {
					return msgs, rw.out.Bytes(), err
				}
				msgs = append(msgs, bytes.Clone(m))
			}
			t.Fatal("more messages than the stream holds")
			return
		}
		msgs, pongs, err := read(chunked(stream))
		cut := int(split) % (len(stream) + 1)
		msgs2, pongs2, err2 := read(chunked(stream, cut))

		class := errClass(err)
		if class == "" {
			t.Fatalf("stream ended with %v", err)
		}
		if !equalMsgs(msgs, msgs2) || class != errClass(err2) || !bytes.Equal(pongs, pongs2) {
			t.Fatalf("whole: %d messages, %v, %d bytes written; cut at %d: %d messages, %v, %d bytes written",
				len(msgs), err, len(pongs), cut, len(msgs2), err2, len(pongs2))
		}
		// Buffered, which remembers the frame it found for ReadMsg,
		// changes nothing that ReadMsg alone reads.
		plain, errPlain := readAll(testConn(chunked(stream, cut), recvMax, sendMax), len(stream)/4+1)
		if !equalMsgs(plain, msgs) || errClass(errPlain) != class {
			t.Fatalf("without Buffered: %d messages, %v; with it: %d messages, %v", len(plain), errPlain, len(msgs), err)
		}
		for _, m := range msgs {
			if len(m) > recvMax {
				t.Fatalf("message of %d bytes over the limit %d", len(m), recvMax)
			}
		}

		// What was read, written again, reads back the same.
		w := &streamRW{}
		if err := testConn(w, MaxLength, recvMax).WriteMsgs(msgs); err != nil {
			t.Fatal(err)
		}
		again, err := readAll(testConn(chunked(w.out.Bytes()), recvMax, MaxLength), len(msgs))
		if err != io.EOF || !equalMsgs(again, msgs) {
			t.Fatalf("rewritten: %d messages, %v; want %d, EOF", len(again), err, len(msgs))
		}
	})
}
