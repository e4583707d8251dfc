package codec

import (
	"bytes"
	"testing"

	"github.com/tinylib/msgp/msgp"
)

// skip's one-pass path for flat elements agrees with the general walk,
// on whole elements and on every truncation of them.
func TestSkipFlatAgreesWithNested(t *testing.T) {
	var elems [][]byte
	for _, v := range []any{
		nil, true, int64(-3), uint64(1 << 40), 1.5, "topic", []byte{1, 2},
		[]any{}, map[string]any{}, []any{"a", int64(1), nil, 2.5},
		map[string]any{"acknowledge": true, "exclude": []any{int64(1)}},
		[]any{[]any{}, map[string]any{}}, []any{int64(1), []any{int64(2), []any{"x"}}},
	} {
		b, err := msgp.AppendIntf(nil, v)
		if err != nil {
			t.Fatal(err)
		}
		elems = append(elems, b)
	}
	elems = append(elems, []byte{0x92, 0xc1, 0x01}, []byte{0xdd, 0xff, 0xff, 0xff, 0xff})
	for _, e := range elems {
		for cut := 0; cut <= len(e); cut++ {
			b := e[:cut]
			n1, err1 := skip(b)
			n2, err2 := skipNested(b)
			if n1 != n2 || (err1 == nil) != (err2 == nil) {
				t.Errorf("% x: skip %d, %v; skipNested %d, %v", b, n1, err1, n2, err2)
			}
		}
	}
}

// skip refuses a str that is not UTF-8 wherever it stands: the element
// itself, in a list, a dict's key or value, nested deeper, and in every
// str header width; each bad one is a SyntaxError that says so.
func TestSkipRefusesInvalidUTF8(t *testing.T) {
	bad := []byte{0xa1, 0x88} // one byte, a continuation byte alone
	str8 := append([]byte{0xd9, 40}, append(bytes.Repeat([]byte("x"), 39), 0xff)...)
	str16 := append([]byte{0xda, 0x01, 0x00}, append(bytes.Repeat([]byte("x"), 255), 0xc0)...)
	str32 := []byte{0xdb, 0, 0, 0, 3, 0xed, 0xa0, 0x80} // a surrogate
	for name, b := range map[string][]byte{
		"str":          bad,
		"in a list":    append([]byte{0x92, 0x2a}, bad...),
		"dict key":     append(append([]byte{0x81}, bad...), 0x01),
		"dict value":   append([]byte{0x81, 0xa1, 'k'}, bad...),
		"nested":       append([]byte{0x91, 0x91, 0x81, 0xa1, 'k', 0x91}, bad...),
		"str8":         append([]byte{0x91}, str8...),
		"str16":        append([]byte{0x91}, str16...),
		"str32 nested": append([]byte{0x91, 0x91}, str32...),
	} {
		if _, err := skip(b); err != errUTF8 {
			t.Errorf("%s: skip(% x) = %v, want %v", name, b, err, errUTF8)
		}
	}
	for _, good := range [][]byte{{0xa2, 0xc2, 0xb0}, {0x91, 0xa3, 0xe2, 0x82, 0xac}, {0x81, 0xa2, 0xc3, 0xa9, 0xc4, 0x01, 0xff}} {
		if n, err := skip(good); err != nil || n != len(good) {
			t.Errorf("skip(% x) = %d, %v; want %d, nil (bin is not checked, UTF-8 is fine)", good, n, err, len(good))
		}
	}
}
