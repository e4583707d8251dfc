package codec_test

import (
	"bytes"
	"errors"
	"reflect"
	"testing"

	"github.com/tinylib/msgp/msgp"

	"github.com/wampedge/wampedge/codec"
)

// addVectorSeeds adds every variant of one serializer in the vectors.
func addVectorSeeds(f *testing.F, serializer string) {
	for _, file := range loadVectors(f) {
		for _, s := range file.Samples {
			for _, v := range s.variants(f, serializer) {
				f.Add(v)
			}
		}
	}
}

// FuzzMsgpackDecode: Decode never panics and fails only with ErrInvalid; a
// message it accepts re-encodes to one that decodes to the same message
// (with trailing empty payload elements dropped, WAMP.md §1.1), the
// re-encoding is stable, and Validate and the JSON encoder do not panic.
func FuzzMsgpackDecode(f *testing.F) {
	addVectorSeeds(f, "msgpack")
	for _, tc := range roundTrips {
		f.Add(tc.m.Append(nil))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := codec.Decode(data)
		if err != nil {
			if !errors.Is(err, codec.ErrInvalid) {
				t.Fatalf("Decode: %v does not match ErrInvalid", err)
			}
			return
		}
		if _, err := codec.NewCodec(codec.JSON).Encode(nil, data); err != nil && !errors.Is(err, codec.ErrInvalid) {
			t.Fatalf("JSON Encode: %v does not match ErrInvalid", err)
		}
		_ = codec.Validate(m)
		out := m.Append(nil)
		m2, err := codec.Decode(out)
		if err != nil {
			t.Fatalf("Decode(Append(%v)) = %v\nin:  % x\nout: % x", m.Type(), err, data, out)
		}
		if want := normalized(m); !reflect.DeepEqual(m2, want) {
			t.Fatalf("Decode(Append(m)) = %+v, want %+v", m2, want)
		}
		if again := m2.Append(nil); !bytes.Equal(again, out) {
			t.Fatalf("Append is not stable:\n% x\n% x", out, again)
		}
	})
}

// normalized returns a copy of m as Append writes it: an empty ArgumentsKw
// is dropped, and then an empty Arguments; before a non-empty
// ArgumentsKw, absent Arguments (a nil read as absent) become [].
func normalized(m codec.Message) codec.Message {
	v := reflect.New(reflect.TypeOf(m).Elem())
	v.Elem().Set(reflect.ValueOf(m).Elem())
	args, kwargs := v.Elem().FieldByName("Args"), v.Elem().FieldByName("Kwargs")
	switch {
	case !args.IsValid():
	case emptyContainer(kwargs.Bytes()):
		kwargs.SetBytes(nil)
		if emptyContainer(args.Bytes()) {
			args.SetBytes(nil)
		}
	case len(args.Bytes()) == 0:
		args.SetBytes([]byte{0x90})
	}
	return v.Interface().(codec.Message)
}

// emptyContainer reports whether b is absent or an empty list or dict.
func emptyContainer(b []byte) bool {
	if len(b) == 0 {
		return true
	}
	var n uint32
	var err error
	switch msgp.NextType(b) {
	case msgp.ArrayType:
		n, _, err = msgp.ReadArrayHeaderBytes(b)
	case msgp.MapType:
		n, _, err = msgp.ReadMapHeaderBytes(b)
	default:
		return false
	}
	return err == nil && n == 0
}

// FuzzJSONDecode: the JSON codec never panics and fails only with
// ErrInvalid; a frame it accepts becomes MessagePack that encodes back to
// JSON, and that JSON decodes to the very same MessagePack bytes.
func FuzzJSONDecode(f *testing.F) {
	addVectorSeeds(f, "json")
	for _, s := range []string{
		`"\ud83d\ude00"`, `"\ud800"`, `"\udc00\ud800x"`, `"\u0000"`, `"\u0000AQID"`, `"\u0000!!"`,
		`{"\u0000k":"\u0000QQ=="}`, `"\"\\\/\b\f\n\r\t\u001f"`, "\"\xff\"", "\"\x01\"",
		`18446744073709551615`, `18446744073709551616`, `-9223372036854775808`, `-9223372036854775809`,
		`1.0`, `-0.0`, `-0`, `1e300`, `1e400`, `-1e400`, `1e-400`, `01`, `1.`, `.5`, `-`,
		`[1,2,]`, `{"a":1,}`, `{1:2}`, `[1] x`, `nul`, `[[[[[[[[]]]]]]]]`, ` [ 1 , { "a" : [ ] } ] `,
		`[16,1,{},"t",[],{}]`, `[35,0,{}]`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c := codec.NewCodec(codec.JSON)
		mp, err := c.Decode(nil, data)
		if err != nil {
			if !errors.Is(err, codec.ErrInvalid) {
				t.Fatalf("Decode: %v does not match ErrInvalid", err)
			}
			return
		}
		if m, err := codec.Decode(mp); err == nil {
			_ = codec.Validate(m)
		}
		text, err := c.Encode(nil, mp)
		if err != nil {
			t.Fatalf("Encode(Decode(%q)): %v", data, err)
		}
		mp2, err := c.Decode(nil, text)
		if err != nil {
			t.Fatalf("Decode(%q) (from %q): %v", text, data, err)
		}
		if !bytes.Equal(mp, mp2) {
			t.Fatalf("%q -> % x -> %q -> % x", data, mp, text, mp2)
		}
	})
}
