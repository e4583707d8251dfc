package codec

import (
	"encoding/base64"
	"encoding/binary"
	"errors"
	"math"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
	"unsafe"

	"github.com/tinylib/msgp/msgp"
)

// The JSON serializer is a transcoder: a JSON frame becomes the same
// message in MessagePack, and back (WAMP.md §7.2). Strings that start
// with U+0000 carry base64 binary and become bin; integers keep all 64
// bits (beyond them, a float); other numbers become float64, and those
// beyond its range are rejected. Nothing is lost on the way JSON ->
// MessagePack -> JSON, nor MessagePack -> JSON -> MessagePack for the
// types JSON can carry (not ext, NaN or Inf, nor dict keys that are not
// strings).

var (
	errJSONEnd      = errors.New("unexpected end of JSON")
	errJSONTrailing = errors.New("data after the JSON value")
	errJSONUTF8     = errors.New("invalid UTF-8 in a JSON string")
	errJSONBase64   = errors.New(`invalid base64 after \u0000 in a JSON string`)
	errJSONRange    = errors.New("number out of the range of a float64")
	errNotJSONable  = errors.New("value has no JSON form")
	errJSONKey      = errors.New("dict key is not a string")
)

// jsonReader turns JSON text into MessagePack in two passes over the
// text: the first checks the syntax and counts the children of every
// list and dict (MessagePack writes counts first), the second writes.
type jsonReader struct {
	src    []byte
	pos    int
	counts []uint32 // children per container, in order of opening
	next   int      // the next container's index into counts (pass 2)
	out    []byte   // nil in pass 1
	emit   bool
}

// toMsgpack appends the MessagePack form of the JSON text src to dst.
func (r *jsonReader) toMsgpack(dst, src []byte) ([]byte, error) {
	*r = jsonReader{src: src, counts: r.counts[:0]}
	if err := r.document(); err != nil {
		return dst, &SyntaxError{Serializer: "json", Offset: r.pos, Err: err}
	}
	r.pos, r.next, r.out, r.emit = 0, 0, dst, true
	if err := r.document(); err != nil { // only base64 and number ranges can fail here
		return dst, &SyntaxError{Serializer: "json", Offset: r.pos, Err: err}
	}
	return r.out, nil
}

func (r *jsonReader) document() error {
	if err := r.value(0); err != nil {
		return err
	}
	r.space()
	if r.pos != len(r.src) {
		return errJSONTrailing
	}
	return nil
}

func (r *jsonReader) space() {
	for r.pos < len(r.src) {
		switch r.src[r.pos] {
		case ' ', '\t', '\n', '\r':
			r.pos++
		default:
			return
		}
	}
}

func (r *jsonReader) value(depth int) error {
	r.space()
	if r.pos >= len(r.src) {
		return errJSONEnd
	}
	switch c := r.src[r.pos]; {
	case c == '[' || c == '{':
		if depth >= MaxDepth {
			return errTooDeep
		}
		return r.container(c, depth+1)
	case c == '"':
		return r.str(false)
	case c == 't':
		return r.literal("true", 0xc3)
	case c == 'f':
		return r.literal("false", 0xc2)
	case c == 'n':
		return r.literal("null", 0xc0)
	case c == '-' || (c >= '0' && c <= '9'):
		return r.number()
	}
	return errors.New("invalid character " + strconv.QuoteRune(rune(r.src[r.pos])))
}

func (r *jsonReader) literal(word string, code byte) error {
	if len(r.src)-r.pos < len(word) || string(r.src[r.pos:r.pos+len(word)]) != word {
		return errors.New("invalid literal")
	}
	r.pos += len(word)
	if r.emit {
		r.out = append(r.out, code)
	}
	return nil
}

// container reads a list ([) or a dict ({).
func (r *jsonReader) container(open byte, depth int) error {
	closing, isDict := byte(']'), open == '{'
	if isDict {
		closing = '}'
	}
	index := r.next
	r.next++
	if r.emit {
		n := r.counts[index]
		if isDict {
			r.out = msgp.AppendMapHeader(r.out, n)
		} else {
			r.out = msgp.AppendArrayHeader(r.out, n)
		}
	} else {
		r.counts = append(r.counts, 0)
	}
	r.pos++ // the opening bracket
	r.space()
	if r.pos < len(r.src) && r.src[r.pos] == closing {
		r.pos++
		return nil
	}
	for {
		if isDict {
			r.space()
			if r.pos >= len(r.src) || r.src[r.pos] != '"' {
				return errors.New("dict key must be a string")
			}
			if err := r.str(true); err != nil {
				return err
			}
			r.space()
			if r.pos >= len(r.src) || r.src[r.pos] != ':' {
				return errors.New("missing ':' after dict key")
			}
			r.pos++
		}
		if err := r.value(depth); err != nil {
			return err
		}
		if !r.emit {
			r.counts[index]++
		}
		r.space()
		if r.pos >= len(r.src) {
			return errJSONEnd
		}
		switch r.src[r.pos] {
		case ',':
			r.pos++
		case closing:
			r.pos++
			return nil
		default:
			return errors.New("missing ',' or closing bracket")
		}
	}
}

// str reads a JSON string. A value (not a key) that starts with U+0000
// is binary: the rest is base64.
func (r *jsonReader) str(key bool) error {
	r.pos++ // opening quote
	start := r.pos
	escaped := false
	for {
		if r.pos >= len(r.src) {
			return errJSONEnd
		}
		c := r.src[r.pos]
		if c == '"' {
			break
		}
		if c < 0x20 {
			return errors.New("control character in a JSON string")
		}
		if c == '\\' {
			escaped = true
			r.pos++
			if r.pos >= len(r.src) {
				return errJSONEnd
			}
			switch r.src[r.pos] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
			case 'u':
				if _, ok := hex4(r.src[r.pos+1:]); !ok {
					return errors.New(`invalid \u escape`)
				}
				r.pos += 4
			default:
				return errors.New("invalid escape in a JSON string")
			}
		}
		r.pos++
	}
	raw := r.src[start:r.pos]
	r.pos++ // closing quote
	if !r.emit {
		if !utf8.Valid(raw) {
			return errJSONUTF8
		}
		return nil
	}
	if !escaped {
		r.out = msgp.AppendStringFromBytes(r.out, raw)
		return nil
	}
	// Unescape behind room for the largest header, then move it into place.
	at := len(r.out)
	r.out = append(r.out, 0, 0, 0, 0, 0)
	r.out = unescape(r.out, raw)
	body := r.out[at+5:]
	if !key && len(body) > 0 && body[0] == 0 {
		// Decode behind the text, then move the bytes into place.
		end := len(r.out)
		var err error
		if r.out, err = base64.StdEncoding.AppendDecode(r.out, body[1:]); err != nil {
			return errJSONBase64
		}
		body = r.out[end:]
		hdr := msgp.AppendBytesHeader(r.out[at:at], uint32(len(body)))
		r.out = r.out[:at+len(hdr)+copy(r.out[at+len(hdr):], body)]
		return nil
	}
	hdr := appendStrHeader(r.out[at:at], len(body))
	r.out = r.out[:at+len(hdr)+copy(r.out[at+len(hdr):], body)]
	return nil
}

// appendStrHeader appends a MessagePack str header for n bytes.
func appendStrHeader(b []byte, n int) []byte {
	switch {
	case n < 32:
		return append(b, 0xa0|byte(n))
	case n < 256:
		return append(b, 0xd9, byte(n))
	case n < 65536:
		return binary.BigEndian.AppendUint16(append(b, 0xda), uint16(n))
	}
	return binary.BigEndian.AppendUint32(append(b, 0xdb), uint32(n))
}

func hex4(b []byte) (rune, bool) {
	if len(b) < 4 {
		return 0, false
	}
	var v rune
	for _, c := range b[:4] {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c -= 'a' - 10
		case c >= 'A' && c <= 'F':
			c -= 'A' - 10
		default:
			return 0, false
		}
		v = v<<4 | rune(c)
	}
	return v, true
}

// unescape appends the characters of a syntax-checked JSON string body.
func unescape(out, raw []byte) []byte {
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		if c != '\\' {
			out = append(out, c)
			continue
		}
		i++
		switch raw[i] {
		case 'b':
			out = append(out, '\b')
		case 'f':
			out = append(out, '\f')
		case 'n':
			out = append(out, '\n')
		case 'r':
			out = append(out, '\r')
		case 't':
			out = append(out, '\t')
		case 'u':
			r, _ := hex4(raw[i+1:])
			i += 4
			if utf16.IsSurrogate(r) {
				r2 := rune(utf8.RuneError)
				if i+6 < len(raw) && raw[i+1] == '\\' && raw[i+2] == 'u' {
					if lo, ok := hex4(raw[i+3:]); ok {
						if r2 = utf16.DecodeRune(r, lo); r2 != utf8.RuneError {
							i += 6
						}
					}
				}
				r = r2
			}
			out = utf8.AppendRune(out, r)
		default: // '"', '\\', '/'
			out = append(out, raw[i])
		}
	}
	return out
}

func (r *jsonReader) number() error {
	start := r.pos
	digits := func() int {
		n := 0
		for r.pos < len(r.src) && r.src[r.pos] >= '0' && r.src[r.pos] <= '9' {
			r.pos++
			n++
		}
		return n
	}
	if r.src[r.pos] == '-' {
		r.pos++
	}
	if r.pos < len(r.src) && r.src[r.pos] == '0' {
		r.pos++
	} else if digits() == 0 {
		return errors.New("invalid number")
	}
	integer := true
	if r.pos < len(r.src) && r.src[r.pos] == '.' {
		r.pos++
		integer = false
		if digits() == 0 {
			return errors.New("invalid number")
		}
	}
	if r.pos < len(r.src) && (r.src[r.pos] == 'e' || r.src[r.pos] == 'E') {
		r.pos++
		integer = false
		if r.pos < len(r.src) && (r.src[r.pos] == '+' || r.src[r.pos] == '-') {
			r.pos++
		}
		if digits() == 0 {
			return errors.New("invalid number")
		}
	}
	if !r.emit {
		return nil
	}
	// The text lives only during these calls; no string is kept.
	text := unsafe.String(&r.src[start], r.pos-start)
	if integer {
		if text[0] == '-' {
			if v, err := strconv.ParseInt(text, 10, 64); err == nil {
				r.out = msgp.AppendInt64(r.out, v)
				return nil
			}
		} else if v, err := strconv.ParseUint(text, 10, 64); err == nil {
			r.out = msgp.AppendUint64(r.out, v)
			return nil
		}
	}
	f, err := strconv.ParseFloat(text, 64)
	if err != nil { // beyond float64: ±Inf, which JSON cannot give back
		return errJSONRange
	}
	r.out = msgp.AppendFloat64(r.out, f)
	return nil
}

// appendJSON appends the JSON text of the one MessagePack object at the
// start of src, and returns what follows it.
func appendJSON(dst, src []byte, depth int) ([]byte, []byte, error) {
	if len(src) == 0 {
		return dst, src, errShort
	}
	c := src[0]
	switch {
	case c <= 0x7f || c >= 0xe0 || (c >= 0xcc && c <= 0xd3):
		if v, rest, ok := readUint(src); ok {
			return strconv.AppendUint(dst, v, 10), rest, nil
		}
		v, rest, err := msgp.ReadInt64Bytes(src)
		return strconv.AppendInt(dst, v, 10), rest, err
	case c == 0xc0:
		return append(dst, "null"...), src[1:], nil
	case c == 0xc2:
		return append(dst, "false"...), src[1:], nil
	case c == 0xc3:
		return append(dst, "true"...), src[1:], nil
	case c == 0xca || c == 0xcb:
		var f float64
		bits := 64
		if c == 0xca {
			if len(src) < 5 {
				return dst, src, errShort
			}
			f, bits = float64(math.Float32frombits(binary.BigEndian.Uint32(src[1:]))), 32
			src = src[5:]
		} else {
			if len(src) < 9 {
				return dst, src, errShort
			}
			f = math.Float64frombits(binary.BigEndian.Uint64(src[1:]))
			src = src[9:]
		}
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return dst, src, errNotJSONable
		}
		at := len(dst)
		dst = strconv.AppendFloat(dst, f, 'g', -1, bits)
		for _, d := range dst[at:] {
			if d == '.' || d == 'e' {
				return dst, src, nil
			}
		}
		return append(dst, ".0"...), src, nil // stays a float on the way back
	case isStr(src):
		s, rest, ok := readStr(src)
		if !ok {
			return dst, src, errShort
		}
		return appendJSONString(dst, s), rest, nil
	case isBin(src):
		b, rest, err := msgp.ReadBytesZC(src)
		if err != nil {
			return dst, src, err
		}
		dst = append(dst, `"\u0000`...)
		dst = base64.StdEncoding.AppendEncode(dst, b)
		return append(dst, '"'), rest, nil
	case isArray(src) || isMap(src):
		if depth >= MaxDepth {
			return dst, src, errTooDeep
		}
		hdr, n, err := header(src)
		if err != nil {
			return dst, src, err
		}
		dict := isMap(src)
		src = src[hdr:]
		open, closing := byte('['), byte(']')
		if dict {
			open, closing, n = '{', '}', n/2
		}
		dst = append(dst, open)
		for i := uint64(0); i < n; i++ {
			if i > 0 {
				dst = append(dst, ',')
			}
			if dict {
				if !isStr(src) {
					return dst, src, errJSONKey
				}
				if dst, src, err = appendJSON(dst, src, depth+1); err != nil {
					return dst, src, err
				}
				dst = append(dst, ':')
			}
			if dst, src, err = appendJSON(dst, src, depth+1); err != nil {
				return dst, src, err
			}
		}
		return append(dst, closing), src, nil
	}
	if c == 0xc1 {
		return dst, src, errInvalidByte
	}
	return dst, src, errNotJSONable // ext
}

const hexDigits = "0123456789abcdef"

// appendJSONString appends s as a JSON string; bytes that are not UTF-8
// become U+FFFD.
func appendJSONString(dst, s []byte) []byte {
	dst = append(dst, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x80 {
			r, n := utf8.DecodeRune(s[i:])
			if r == utf8.RuneError && n == 1 {
				dst = append(dst, `\ufffd`...)
			} else {
				dst = append(dst, s[i:i+n]...)
			}
			i += n
			continue
		}
		switch {
		case c == '"' || c == '\\':
			dst = append(dst, '\\', c)
		case c == '\n':
			dst = append(dst, '\\', 'n')
		case c == '\r':
			dst = append(dst, '\\', 'r')
		case c == '\t':
			dst = append(dst, '\\', 't')
		case c < 0x20:
			dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
		default:
			dst = append(dst, c)
		}
		i++
	}
	return append(dst, '"')
}
