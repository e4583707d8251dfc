package codec

import (
	"encoding/binary"
	"strconv"

	"github.com/tinylib/msgp/msgp"
)

// elements reads the elements of one encoded message in order, checking
// each one's MessagePack type as the spec's layout demands. The first
// failure sticks; later reads return zero values, so a decoder is a
// straight list of reads followed by done. Decoders assign the fields
// one by one: a composite literal (*m = Publish{...}) builds the message
// aside and copies it, which cost a PUBLISH a tenth of its routing.
type elements struct {
	t    Type
	b    []byte // not yet read
	size int    // length of the whole message, for error offsets
	i    int    // index of the next element
	n    int    // element count of the message
	err  error
}

// open reads the list header and the type code, and checks the count.
// It fills e in place: returning the struct by value copied it for
// every message, a tenth of a PUBLISH's decoding.
func (e *elements) open(b []byte, t Type) {
	*e = elements{t: t, size: len(b)}
	n, rest, err := msgp.ReadArrayHeaderBytes(b)
	if err != nil {
		e.err = &SyntaxError{Serializer: "msgpack", Err: err}
		if len(b) > 0 && !isArray(b) {
			e.err = &ElementError{Type: t, Name: "message", Want: "list", Got: kindOf(b)}
		}
		return
	}
	code, rest, ok := readUint(rest)
	if !ok || n == 0 {
		e.err = badTypeCode(b, rest, n > 0)
		return
	}
	if Type(code) != t {
		e.err = &ElementError{Type: t, Name: "MessageType", Want: strconv.Itoa(int(t)), Got: strconv.FormatUint(code, 10)}
		return
	}
	info := types[t]
	if int(n) < info.min || int(n) > info.max {
		e.err = &CountError{Type: t, Got: int(n), Min: info.min, Max: info.max}
		return
	}
	e.b, e.i, e.n = rest, 1, int(n)
}

// readCommon reads, in one pass, the shape in which PUBLISH and CALL
// come at rate: [t, Request, {}, URI] or [t, Request, {}, URI,
// Arguments list]. It reports false for any other shape, and for
// anything wrong, which the general decoder then reads and words the
// error for: this path only spares the common case its bookkeeping.
func readCommon(b []byte, t Type) (id uint64, options, uri, args []byte, ok bool) {
	if len(b) < 4 || (b[0] != 0x94 && b[0] != 0x95) || b[1] != byte(t) {
		return 0, nil, nil, nil, false
	}
	id, rest, ok := readUint(b[2:])
	if !ok || id == 0 || id > MaxID || len(rest) == 0 || rest[0] != 0x80 {
		return 0, nil, nil, nil, false
	}
	options = rest[:1:1]
	if uri, rest, ok = readStr(rest[1:]); !ok {
		return 0, nil, nil, nil, false
	}
	if b[0] == 0x94 {
		return id, options, uri, nil, len(rest) == 0
	}
	if !isArray(rest) {
		return 0, nil, nil, nil, false
	}
	if n, err := skip(rest); err != nil || n != len(rest) {
		return 0, nil, nil, nil, false
	}
	return id, options, uri, rest[:len(rest):len(rest)], true
}

// more reports whether another element follows.
func (e *elements) more() bool { return e.err == nil && e.i < e.n }

func (e *elements) fail(name, want string) {
	if e.err != nil {
		return
	}
	if _, _, err := header(e.b); err != nil { // cut short, or byte 0xc1
		e.syntax(err)
		return
	}
	e.err = &ElementError{Type: e.t, Index: e.i, Name: name, Want: want, Got: kindOf(e.b)}
}

// syntax records a SyntaxError at the first byte not yet read.
func (e *elements) syntax(err error) {
	e.err = &SyntaxError{Serializer: "msgpack", Offset: e.size - len(e.b), Err: err}
}

// badTypeCode is the error for an element 0 that is not a non-negative
// integer; rest starts where it should be in msg, a list that is empty
// unless listed.
func badTypeCode(msg, rest []byte, listed bool) error {
	if _, _, err := header(rest); err != nil && listed {
		return &SyntaxError{Serializer: "msgpack", Offset: len(msg) - len(rest), Err: err}
	}
	return &UnknownTypeError{Got: kindOf(rest)}
}

// integer reads a non-negative integer (a count or a type code).
func (e *elements) integer(name string) uint64 {
	if e.err != nil {
		return 0
	}
	v, rest, ok := readUint(e.b)
	if !ok {
		if _, _, err := header(e.b); err == nil && kindOf(e.b) == "int" { // a whole int: negative
			e.err = &ElementError{Type: e.t, Index: e.i, Name: name, Want: "non-negative int", Got: "negative int"}
			return 0
		}
		e.fail(name, "int")
		return 0
	}
	e.b = rest
	e.i++
	return v
}

// id reads an ID, which must lie in [1, 2^53] (WAMP.md §3).
func (e *elements) id(name string) uint64 {
	v := e.integer(name)
	if e.err == nil && (v == 0 || v > MaxID) {
		e.err = &ElementError{Type: e.t, Index: e.i - 1, Name: name, Want: "id in [1, 2^53]", Got: strconv.FormatUint(v, 10)}
	}
	return v
}

// str reads a string (a URI or a plain string), aliasing the input.
func (e *elements) str(name string) []byte {
	if e.err != nil {
		return nil
	}
	s, rest, ok := readStr(e.b)
	if !ok {
		e.fail(name, "string")
		return nil
	}
	e.b = rest
	e.i++
	return s
}

// object reads one whole object whose lead byte passes is, and returns
// its encoded bytes, aliasing the input.
func (e *elements) object(name, want string, is func([]byte) bool) []byte {
	if e.err != nil {
		return nil
	}
	if !is(e.b) {
		e.fail(name, want)
		return nil
	}
	n, err := skip(e.b)
	if err == errUTF8 {
		e.err = &ElementError{Type: e.t, Index: e.i, Name: name, Want: "UTF-8 in every str",
			Got: "a str that is not valid UTF-8 at byte " + strconv.Itoa(e.size-len(e.b)+n)}
		return nil
	}
	if err == errTooDeep {
		e.err = &ElementError{Type: e.t, Index: e.i, Name: name, Want: want, Got: err.Error()}
		return nil
	}
	if err != nil {
		e.syntax(err)
		return nil
	}
	v := e.b[:n:n]
	e.b = e.b[n:]
	e.i++
	return v
}

func (e *elements) dict(name string) []byte { return e.object(name, "dict", isMap) }

// payload reads the optional trailing Arguments and ArgumentsKw. Arguments
// is a list, or, for payload passthru, a single bin or str (WAMP.md §8.5).
// A nil in either place is read as absent: some clients (nexus) send
// [16, 1, {}, "topic", nil, {"k": 1}] for keyword arguments alone.
func (e *elements) payload() (args, kwargs []byte) {
	if e.more() && !e.nilElement() {
		args = e.object("Arguments", "list", isPayload)
	}
	if e.more() && !e.nilElement() {
		kwargs = e.dict("ArgumentsKw")
	}
	return args, kwargs
}

// nilElement skips a nil element and reports whether there was one.
func (e *elements) nilElement() bool {
	if len(e.b) == 0 || e.b[0] != 0xc0 {
		return false
	}
	e.b = e.b[1:]
	e.i++
	return true
}

func isPayload(b []byte) bool { return isArray(b) || isBin(b) || isStr(b) }

// done checks that the whole input was one message and returns the error
// of the first bad element, if any.
func (e *elements) done() error {
	if e.err == nil && len(e.b) != 0 {
		e.syntax(errTrailing)
	}
	return e.err
}

// appendHead starts a message of n elements, type code included: a
// fixarray and a fixint, since a message has at most 7 elements and
// every type code is below 128.
func appendHead(b []byte, t Type, n int) []byte {
	return append(b, 0x90|byte(n), byte(t))
}

// appendDict appends an encoded dict; an absent one is written as {},
// never as nil.
func appendDict(b, d []byte) []byte {
	if len(d) == 0 {
		return append(b, 0x80)
	}
	return append(b, d...)
}

// payloadLen is how many payload elements a message carries: trailing
// empty ones are dropped (WAMP.md §1.1).
func payloadLen(args, kwargs []byte) int {
	switch {
	case !isEmpty(kwargs):
		return 2
	case !isEmpty(args):
		return 1
	}
	return 0
}

// appendPayload appends the payload elements payloadLen counted, with
// [] standing in for absent Arguments before a non-empty ArgumentsKw.
func appendPayload(b, args, kwargs []byte) []byte {
	switch payloadLen(args, kwargs) {
	case 2:
		if len(args) == 0 {
			b = append(b, 0x90)
		} else {
			b = append(b, args...)
		}
		return append(b, kwargs...)
	case 1:
		return append(b, args...)
	}
	return b
}

// appendUint appends v in its shortest MessagePack form, as
// msgp.AppendUint64 does, in fewer steps: IDs are most of what the
// router encodes.
func appendUint(b []byte, v uint64) []byte {
	switch {
	case v <= 0x7f:
		return append(b, byte(v))
	case v <= 0xff:
		return append(b, 0xcc, byte(v))
	case v <= 0xffff:
		return binary.BigEndian.AppendUint16(append(b, 0xcd), uint16(v))
	case v <= 0xffffffff:
		return binary.BigEndian.AppendUint32(append(b, 0xce), uint32(v))
	}
	return binary.BigEndian.AppendUint64(append(b, 0xcf), v)
}

// appendStr appends s as a MessagePack str.
func appendStr(b, s []byte) []byte { return msgp.AppendStringFromBytes(b, s) }
