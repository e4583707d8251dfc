package codec

import (
	"reflect"
	"testing"

	"github.com/tinylib/msgp/msgp"
)

// FuzzReadCommon: the one-pass path for PUBLISH and CALL accepts only
// what the general decoder accepts, and reads it the same, down to the
// capacities (an element must not let an append run over the frame).
func FuzzReadCommon(f *testing.F) {
	for _, seed := range [][]byte{
		{0x95, 16, 0x01, 0x80, 0xa1, 't', 0x91, 0x2a},             // [16, 1, {}, "t", [42]]
		{0x94, 48, 0xcd, 0x12, 0x34, 0x80, 0xa1, 'p'},             // [48, 4660, {}, "p"]
		{0x95, 48, 0x07, 0x80, 0xa1, 'p', 0x92, 0x91, 0x01, 0x80}, // nested args
		{0x95, 16, 0x01, 0x80, 0xa1, 't', 0xc0},                   // nil args
		{0x95, 16, 0x00, 0x80, 0xa1, 't', 0x90},                   // ID 0
		{0x95, 16, 0x01, 0x80, 0xa1, 't', 0x91},                   // args cut short
		{0x94, 16, 0x01, 0x80, 0xa1, 't', 0x90},                   // trailing bytes
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, typ := range []Type{TypePublish, TypeCall} {
			id, options, uri, args, ok := readCommon(data, typ)
			if !ok {
				continue
			}
			var e elements
			e.open(data, typ)
			wantID := e.id("Request")
			want := [][]byte{e.dict("Options"), e.str("URI"), nil}
			want[2], _ = e.payload()
			if err := e.done(); err != nil {
				t.Fatalf("readCommon accepted % x, which the decoder refuses: %v", data, err)
			}
			got := [][]byte{options, uri, args}
			if id != wantID || !reflect.DeepEqual(got, want) {
				t.Fatalf("% x: readCommon %d %q; decoder %d %q", data, id, got, wantID, want)
			}
			for i := range got {
				if cap(got[i]) != cap(want[i]) {
					t.Fatalf("% x: element %d has capacity %d, the decoder's %d", data, i, cap(got[i]), cap(want[i]))
				}
			}
		}
	})
}

// appendUint writes what msgp.AppendUint64 writes, at every width's edges.
func TestAppendUintAsMsgp(t *testing.T) {
	for _, v := range []uint64{0, 1, 0x7f, 0x80, 0xff, 0x100, 0xffff, 0x10000, 0xffffffff, 0x100000000, MaxID, 1<<64 - 1} {
		if got, want := appendUint(nil, v), msgp.AppendUint64(nil, v); !reflect.DeepEqual(got, want) {
			t.Errorf("appendUint(%#x) = % x, want % x", v, got, want)
		}
	}
}
