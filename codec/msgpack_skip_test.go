package codec

import (
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
