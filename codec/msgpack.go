package codec

import "encoding/binary"

// MaxDepth bounds how deeply lists and dicts may nest in a message,
// payloads included, so that no input can make a decoder recurse or
// allocate without bound.
const MaxDepth = 64

// kindOf names the MessagePack family of the object that starts b, for
// error messages: "int", "str", "bin", "list", "dict", ...
func kindOf(b []byte) string {
	if len(b) == 0 {
		return "nothing"
	}
	c := b[0]
	switch {
	case c <= 0x7f || c >= 0xe0 || (c >= 0xcc && c <= 0xd3):
		return "int"
	case c >= 0x80 && c <= 0x8f, c == 0xde, c == 0xdf:
		return "dict"
	case c >= 0x90 && c <= 0x9f, c == 0xdc, c == 0xdd:
		return "list"
	case c >= 0xa0 && c <= 0xbf, c >= 0xd9 && c <= 0xdb:
		return "str"
	case c >= 0xc4 && c <= 0xc6:
		return "bin"
	case c == 0xc0:
		return "nil"
	case c == 0xc2, c == 0xc3:
		return "bool"
	case c == 0xca, c == 0xcb:
		return "float"
	case c == 0xc1:
		return "invalid byte 0xc1"
	default:
		return "ext"
	}
}

func isMap(b []byte) bool {
	return len(b) > 0 && (b[0]&0xf0 == 0x80 || b[0] == 0xde || b[0] == 0xdf)
}

func isArray(b []byte) bool {
	return len(b) > 0 && (b[0]&0xf0 == 0x90 || b[0] == 0xdc || b[0] == 0xdd)
}

func isStr(b []byte) bool {
	return len(b) > 0 && (b[0]&0xe0 == 0xa0 || (b[0] >= 0xd9 && b[0] <= 0xdb))
}

func isBin(b []byte) bool { return len(b) > 0 && b[0] >= 0xc4 && b[0] <= 0xc6 }

// isEmpty reports whether b is an encoded empty list or dict, in any of
// its header widths. A nil b (absent element) is empty too.
func isEmpty(b []byte) bool {
	switch len(b) {
	case 0:
		return true
	case 1:
		return b[0] == 0x80 || b[0] == 0x90
	case 3:
		return (b[0] == 0xdc || b[0] == 0xde) && b[1] == 0 && b[2] == 0
	case 5:
		return (b[0] == 0xdd || b[0] == 0xdf) && binary.BigEndian.Uint32(b[1:]) == 0
	}
	return false
}

// header decodes the lead of one MessagePack object: hdr is the length
// of its header and fixed-size body bytes (for str, bin and ext the body
// is included), n the number of child objects that follow it (list
// items, or keys plus values).
func header(b []byte) (hdr int, n uint64, err error) {
	if len(b) == 0 {
		return 0, 0, errShort
	}
	c := b[0]
	size := func(w int) (uint64, bool) {
		if len(b) < 1+w {
			return 0, false
		}
		switch w {
		case 1:
			return uint64(b[1]), true
		case 2:
			return uint64(binary.BigEndian.Uint16(b[1:])), true
		default:
			return uint64(binary.BigEndian.Uint32(b[1:])), true
		}
	}
	switch {
	case c <= 0x7f, c >= 0xe0, c == 0xc0, c == 0xc2, c == 0xc3:
		return 1, 0, nil
	case c <= 0x8f:
		return 1, 2 * uint64(c&0x0f), nil
	case c <= 0x9f:
		return 1, uint64(c & 0x0f), nil
	case c <= 0xbf:
		return fixed(b, 1+int(c&0x1f))
	}
	var body uint64
	var w int
	switch c {
	case 0xcc, 0xd0:
		return fixed(b, 2)
	case 0xcd, 0xd1:
		return fixed(b, 3)
	case 0xca, 0xce, 0xd2:
		return fixed(b, 5)
	case 0xcb, 0xcf, 0xd3:
		return fixed(b, 9)
	case 0xd4, 0xd5, 0xd6, 0xd7, 0xd8: // fixext 1, 2, 4, 8, 16
		return fixed(b, 2+1<<(c-0xd4))
	case 0xc4, 0xd9:
		w = 1
	case 0xc5, 0xda:
		w = 2
	case 0xc6, 0xdb:
		w = 4
	case 0xc7, 0xc8, 0xc9: // ext 8, 16, 32: length, then a type byte
		w = 1 << (c - 0xc7)
		body = 1
	case 0xdc, 0xdd, 0xde, 0xdf:
		w = 2
		if c == 0xdd || c == 0xdf {
			w = 4
		}
		n, ok := size(w)
		if !ok {
			return 0, 0, errShort
		}
		if c >= 0xde {
			n *= 2
		}
		return 1 + w, n, nil
	default: // 0xc1 is never used
		return 0, 0, errInvalidByte
	}
	l, ok := size(w)
	if !ok {
		return 0, 0, errShort
	}
	total := uint64(1+w) + body + l
	if total > uint64(len(b)) {
		return 0, 0, errShort
	}
	return int(total), 0, nil
}

// fixed is header's result for an object of a known total size: an
// error if b does not hold all of it.
func fixed(b []byte, total int) (int, uint64, error) {
	if total > len(b) {
		return 0, 0, errShort
	}
	return total, 0, nil
}

// skip returns the length of the one complete MessagePack object at the
// start of b, an element of a message. It walks without recursion, checks
// that every header fits in b before trusting its counts, refuses
// nesting deeper than MaxDepth (counting the message's list as the first
// level and empty lists and dicts as levels too, as the JSON codec does),
// and checks that every str, dict keys included, is UTF-8: a str that is
// not would be forwarded to subscribers whose decoders refuse it. On
// errUTF8 the length returned is the offset of that str in b.
//
// Most elements are a scalar or a list or dict of scalars (options, the
// arguments of an event); those take one pass with no bookkeeping, and
// only nested ones the general walk.
func skip(b []byte) (int, error) {
	hdr, n, err := leaf(b)
	if err != nil || n == 0 {
		return hdr, err
	}
	if n > uint64(len(b)-hdr) { // every child takes at least one byte
		return 0, errShort
	}
	off := hdr
	for range n {
		h, m, err := leaf(b[off:])
		if err != nil {
			return errAt(off, err)
		}
		if m > 0 {
			return skipNested(b)
		}
		off += h
	}
	return off, nil
}

// errAt is skip's failure at offset off: the offset is kept for errUTF8,
// whose message says where the str is, and 0 for the rest.
func errAt(off int, err error) (int, error) {
	if err == errUTF8 {
		return off, err
	}
	return 0, err
}

// skipNested is skip for any nesting.
func skipNested(b []byte) (int, error) {
	var pending [MaxDepth + 1]uint64 // children still to read, per level
	depth, off := 0, 0
	pending[0] = 1
	for {
		for pending[depth] == 0 {
			if depth == 0 {
				return off, nil
			}
			depth--
		}
		pending[depth]--
		hdr, n, err := leaf(b[off:])
		if err != nil {
			return errAt(off, err)
		}
		if depth+2 > MaxDepth && (isArray(b[off:]) || isMap(b[off:])) {
			return 0, errTooDeep // this list or dict would be level depth+2
		}
		off += hdr
		if n > 0 {
			// Every child takes at least one byte: a count the rest of
			// b cannot hold is a lie, caught before anything trusts it.
			if n > uint64(len(b)-off) {
				return 0, errShort
			}
			depth++
			pending[depth] = n
		}
	}
}

// leaf is header for the walk: the objects payloads are mostly made of
// (small integers, fixstrs, float64s) read without header's switch, and
// every str's bytes checked for UTF-8.
func leaf(b []byte) (hdr int, n uint64, err error) {
	if len(b) == 0 {
		return 0, 0, errShort
	}
	switch c := b[0]; {
	case c <= 0x7f, c >= 0xe0:
		return 1, 0, nil
	case c&0xe0 == 0xa0:
		end := 1 + int(c&0x1f)
		if end > len(b) {
			return 0, 0, errShort
		}
		if !validUTF8(b[1:end]) {
			return 0, 0, errUTF8
		}
		return end, 0, nil
	case c == 0xcb:
		return fixed(b, 9)
	}
	hdr, n, err = header(b)
	if err == nil && isStr(b) && !validUTF8(b[strHeaderLen(b[0]):hdr]) {
		return 0, 0, errUTF8
	}
	return hdr, n, err
}

// strHeaderLen is the length of the header of a str object that starts
// with the byte c.
func strHeaderLen(c byte) int {
	switch c {
	case 0xd9:
		return 2
	case 0xda:
		return 3
	case 0xdb:
		return 5
	}
	return 1
}

// readUint reads a non-negative integer of any MessagePack width.
func readUint(b []byte) (v uint64, rest []byte, ok bool) {
	if len(b) == 0 {
		return 0, b, false
	}
	c := b[0]
	if c <= 0x7f {
		return uint64(c), b[1:], true
	}
	w := 0
	signed := false
	switch c {
	case 0xcc:
		w = 1
	case 0xcd:
		w = 2
	case 0xce:
		w = 4
	case 0xcf:
		w = 8
	case 0xd0:
		w, signed = 1, true
	case 0xd1:
		w, signed = 2, true
	case 0xd2:
		w, signed = 4, true
	case 0xd3:
		w, signed = 8, true
	default:
		return 0, b, false
	}
	if len(b) < 1+w {
		return 0, b, false
	}
	switch w {
	case 1:
		v = uint64(b[1])
		if signed {
			v = uint64(int64(int8(b[1])))
		}
	case 2:
		v = uint64(binary.BigEndian.Uint16(b[1:]))
		if signed {
			v = uint64(int64(int16(v)))
		}
	case 4:
		v = uint64(binary.BigEndian.Uint32(b[1:]))
		if signed {
			v = uint64(int64(int32(v)))
		}
	case 8:
		v = binary.BigEndian.Uint64(b[1:])
	}
	if signed && int64(v) < 0 {
		return 0, b, false
	}
	return v, b[1+w:], true
}

// readStr reads a str object and returns its bytes, aliasing b.
func readStr(b []byte) (s, rest []byte, ok bool) {
	if !isStr(b) {
		return nil, b, false
	}
	hdr, _, err := header(b)
	if err != nil {
		return nil, b, false
	}
	return b[strHeaderLen(b[0]):hdr:hdr], b[hdr:], true
}
