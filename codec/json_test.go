package codec_test

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/wampedge/wampedge/codec"
)

// transcodeCase is one value in the JSON text the codec writes and in the
// MessagePack it reads that text into: each converts to the other exactly,
// so both round trips are lossless.
type transcodeCase struct {
	name string
	json string
	mp   any // packed with pack
}

func transcodeCases() []transcodeCase {
	bin := func(n int) []byte {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(i * 7)
		}
		return b
	}
	b64 := func(b []byte) string { return `"\u0000` + base64.StdEncoding.EncodeToString(b) + `"` }
	example, _ := hex.DecodeString("10e3ff9053075c526f5fc06d4fe37cdb") // WAMP.md §7.2
	cases := []transcodeCase{
		{"empty string", `""`, ""},
		{"ascii", `"hello, world"`, "hello, world"},
		{"unicode", `"héllo wörld ✓ 日本語"`, "héllo wörld ✓ 日本語"},
		{"astral plane", `"😀𝄞"`, "😀𝄞"},
		{"quote and backslash", `"say \"hi\" \\o/"`, `say "hi" \o/`},
		{"newline, return, tab", `"a\nb\rc\td"`, "a\nb\rc\td"},
		{"control characters", `"x\u0000\u0001\u0008\u000c\u001f"`, "x\x00\x01\b\f\x1f"},
		{"slash and DEL stay raw", "\"/\x7f\"", "/\x7f"},
		{"NUL-led dict key stays a string", `{"\u0000k":1}`, dict{"\x00k", 1}},
		{"escaped str8", `"` + strings.Repeat(`a\n`, 100) + `"`, strings.Repeat("a\n", 100)},
		{"escaped str16", `"` + strings.Repeat(`\"`, 40000) + `"`, strings.Repeat(`"`, 40000)},
		{"escaped str32", `"` + strings.Repeat(`\t`, 70000) + `"`, strings.Repeat("\t", 70000)},

		{"empty binary", `"\u0000"`, []byte{}},
		{"binary", `"\u0000AQID"`, []byte{1, 2, 3}},
		{"binary of WAMP.md", `"\u0000EOP/kFMHXFJvX8BtT+N82w=="`, example},
		{"bin16", b64(bin(300)), bin(300)},
		{"bin32", b64(bin(70000)), bin(70000)},
		{"binary in a dict in a list", `[{"b":"\u0000AA=="}]`, list{dict{"b", []byte{0}}}},

		{"null", `null`, nil},
		{"true", `true`, true},
		{"false", `false`, false},

		{"empty list", `[]`, list{}},
		{"empty dict", `{}`, dict{}},
		{"nested empties", `[[],{},{"a":[]}]`, list{list{}, dict{}, dict{"a", list{}}}},
		{"nested", `[1,[2,[3,{}]],{"a":[true,null],"b":{"c":"d"}}]`,
			list{1, list{2, list{3, dict{}}}, dict{"a", list{true, nil}, "b", dict{"c", "d"}}}},
	}
	for _, v := range []int64{0, 1, 127, 128, 255, 256, 65535, 65536, math.MaxUint32, math.MaxUint32 + 1,
		codec.MaxID, math.MaxInt64, -1, -32, -33, -128, -129, -32768, -32769, math.MinInt32, math.MinInt32 - 1, math.MinInt64} {
		cases = append(cases, transcodeCase{fmt.Sprintf("int %d", v), fmt.Sprint(v), v})
	}
	cases = append(cases, transcodeCase{"max uint64", "18446744073709551615", uint64(math.MaxUint64)})
	for _, f := range []struct {
		json string
		v    float64
	}{
		{"1.5", 1.5}, {"1.0", 1}, {"0.0", 0}, {"-0.0", math.Copysign(0, -1)}, {"-0.5", -0.5},
		{"100000.0", 1e5}, {"1e+06", 1e6}, {"1e+300", 1e300}, {"1.5e-07", 1.5e-7},
		{"1.7976931348623157e+308", math.MaxFloat64}, {"5e-324", math.SmallestNonzeroFloat64},
	} {
		cases = append(cases, transcodeCase{"float " + f.json, f.json, f.v})
	}
	for _, n := range []int{31, 32, 255, 256, 65535, 65536} {
		s := strings.Repeat("a", n)
		cases = append(cases, transcodeCase{fmt.Sprintf("string of %d", n), `"` + s + `"`, s})
	}
	for _, n := range []int{15, 16, 65535, 65536} {
		l, d := make(list, n), make(dict, 0, 2*n)
		for i := range n {
			l[i] = i % 3
			d = append(d, fmt.Sprint(i), true)
		}
		j, _ := codec.ToJSON(nil, pack(l)) // checked by the round trip
		cases = append(cases, transcodeCase{fmt.Sprintf("list of %d", n), string(j), l})
		j, _ = codec.ToJSON(nil, pack(d))
		cases = append(cases, transcodeCase{fmt.Sprintf("dict of %d", n), string(j), d})
	}
	return cases
}

// TestTranscode converts every case both ways through one JSON codec,
// reused from case to case.
func TestTranscode(t *testing.T) {
	c := codec.NewCodec(codec.JSON)
	for _, tc := range transcodeCases() {
		t.Run(tc.name, func(t *testing.T) {
			mp := pack(tc.mp)
			if got, err := c.Decode(nil, []byte(tc.json)); err != nil || !bytes.Equal(got, mp) {
				t.Errorf("JSON -> MessagePack: % .40x, %v; want % .40x", got, err, mp)
			}
			if got, err := c.Encode(nil, mp); err != nil || string(got) != tc.json {
				t.Errorf("MessagePack -> JSON: %.80q, %v; want %.80q", got, err, tc.json)
			}
		})
	}
}

// TestJSONSpellings: other spellings of a JSON value read as the value,
// which then writes in the codec's own spelling.
func TestJSONSpellings(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{" \t\r\n[ 1 ,\n2 ] \n", `[1,2]`},
		{`{ "a" : { } , "b" : [ ] }`, `{"a":{},"b":[]}`},
		{`"\u00e9\u00E9"`, `"éé"`},
		{`"\u0041\/"`, `"A/"`},
		{`"\b\f"`, `"\u0008\u000c"`},
		{`"\ud83d\ude00"`, `"😀"`},
		{`"\uD834\uDD1E"`, `"𝄞"`},
		{`"\ud800"`, `"` + "\ufffd" + `"`},               // a lone surrogate is U+FFFD
		{`"\udc00\ud800x"`, `"` + "\ufffd\ufffdx" + `"`}, // a pair in the wrong order too
		{`"\ud800\u0041"`, `"` + "\ufffdA" + `"`},
		{`{"\u0061":1}`, `{"a":1}`},
		{`"\u0000AQ\u003d\u003d"`, `"\u0000AQ=="`}, // escapes inside base64
		{`-0`, `0`},
		{`1e3`, `1000.0`},
		{`1E+3`, `1000.0`},
		{`2.50`, `2.5`},
		{`1e-400`, `0.0`}, // underflows to zero
		{`18446744073709551616`, `1.8446744073709552e+19`},
		{`-9223372036854775809`, `-9.223372036854776e+18`},
	} {
		t.Run(tc.in, func(t *testing.T) {
			mp, err := codec.FromJSON(nil, []byte(tc.in))
			if err != nil {
				t.Fatalf("FromJSON: %v", err)
			}
			want, err := codec.FromJSON(nil, []byte(tc.want))
			if err != nil || !bytes.Equal(mp, want) {
				t.Fatalf("FromJSON = % x, want % x (%v)", mp, want, err)
			}
			if got, err := codec.ToJSON(nil, mp); err != nil || string(got) != tc.want {
				t.Errorf("ToJSON = %q, %v; want %q", got, err, tc.want)
			}
		})
	}
}

// TestMsgpackSpellings: MessagePack values written in other widths than
// the shortest come back from JSON in the shortest, with the same value.
func TestMsgpackSpellings(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   raw
		json string
		out  any
	}{
		{"uint16 5", raw{0xcd, 0, 5}, `5`, 5},
		{"int8 5", raw{0xd0, 5}, `5`, 5},
		{"int64 -1", raw{0xd3, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, `-1`, -1},
		{"float32 1.5", pack(float32(1.5)), `1.5`, 1.5},
		{"float32 1", pack(float32(1)), `1.0`, 1.0},
		{"str8 abc", raw{0xd9, 3, 'a', 'b', 'c'}, `"abc"`, "abc"},
		{"bin32 of 1", raw{0xc6, 0, 0, 0, 1, 1}, `"\u0000AQ=="`, []byte{1}},
		{"array16 of 1", raw{0xdc, 0, 1, 1}, `[1]`, list{1}},
		{"map32 of 1", raw{0xdf, 0, 0, 0, 1, 0xa1, 'a', 1}, `{"a":1}`, dict{"a", 1}},
		{"invalid UTF-8 becomes U+FFFD", raw{0xa2, 'a', 0xff}, `"a\ufffd"`, "a\ufffd"},
		{"NUL-led str is binary in JSON (WAMP.md §7.2)", raw{0xa5, 0, 'A', 'Q', '=', '='}, `"\u0000AQ=="`, []byte{1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			j, err := codec.ToJSON(nil, tc.in)
			if err != nil || string(j) != tc.json {
				t.Fatalf("ToJSON = %q, %v; want %q", j, err, tc.json)
			}
			if got, err := codec.FromJSON(nil, j); err != nil || !bytes.Equal(got, pack(tc.out)) {
				t.Errorf("FromJSON = % x, %v; want % x", got, err, pack(tc.out))
			}
		})
	}
}

func TestJSONDecodeErrors(t *testing.T) {
	deep := strings.Repeat("[", codec.MaxDepth+1) + strings.Repeat("]", codec.MaxDepth+1)
	deepDict := strings.Repeat(`{"a":`, codec.MaxDepth+1) + "null" + strings.Repeat("}", codec.MaxDepth+1)
	c := codec.NewCodec(codec.JSON)
	for _, in := range []string{
		// truncated
		``, ` `, `[`, `[1`, `[1,`, `{`, `{"a"`, `{"a":`, `{"a":1`, `"abc`, `"\`, `"\u12`, `tru`, `-`,
		// trailing garbage
		`[1]x`, `[1] [2]`, `1 2`, `true1`, `{}}`, `""""`,
		// bad structure
		`[1 2]`, `[1,]`, `[,1]`, `{"a":1,}`, `{"a" 1}`, `{a:1}`, `{1:2}`, `{"a"}`, `]`, `:`, `,`,
		// bad escapes
		`"\x"`, `"\U0041"`, `"\u12g4"`, `"\'"`, `"\ "`,
		// invalid UTF-8 and control characters in strings
		"\"\xff\"", "\"\xc3\x28\"", "\"\xed\xa0\x80\"", "\"\x00\"", "\"a\nb\"", "\"\x1f\"", "[\"\x7f\xfe\"]",
		// bad numbers
		`01`, `-01`, `00`, `1.`, `.5`, `-.5`, `1e`, `1e+`, `+1`, `0x10`, `1.5.5`, `--1`, `1e400`, `-1e400`,
		// bare words
		`nul`, `True`, `NaN`, `Infinity`, `-Infinity`, `undefined`, `hello`, `'single'`,
		// invalid base64 after \u0000
		`"\u0000!!!!"`, `"\u0000AQI"`, `["\u0000A"]`,
		// nested deeper than MaxDepth
		deep, deepDict,
	} {
		t.Run(fmt.Sprintf("%.40q", in), func(t *testing.T) {
			dst := []byte("kept")
			out, err := c.Decode(dst, []byte(in))
			checkSyntaxError(t, err, "json")
			if string(out) != "kept" {
				t.Errorf("Decode returned %q, want dst as it was", out)
			}
			if _, err := codec.FromJSON(nil, []byte(in)); !errors.Is(err, codec.ErrInvalid) {
				t.Errorf("FromJSON: %v", err)
			}
		})
	}
}

func TestJSONEncodeErrors(t *testing.T) {
	c := codec.NewCodec(codec.JSON)
	for _, tc := range []struct {
		name string
		in   any
	}{
		{"fixext", raw{0xd4, 1, 0}},
		{"ext8", raw{0xc7, 1, 5, 0}},
		{"ext in a list", list{1, raw{0xd5, 1, 0, 0}}},
		{"NaN", math.NaN()},
		{"+Inf", math.Inf(1)},
		{"-Inf", math.Inf(-1)},
		{"float32 NaN", float32(math.NaN())},
		{"float32 Inf", float32(math.Inf(1))},
		{"Inf in a dict", dict{"a", math.Inf(1)}},
		{"int dict key", dict{1, 2}},
		{"bin dict key", dict{[]byte("k"), 2}},
		{"nil dict key", dict{nil, 2}},
		{"never-used byte 0xc1", raw{0xc1}},
		{"empty input", raw{}},
		{"truncated str", raw{0xa3, 'a'}},
		{"truncated list", raw{0x92, 1}},
		{"truncated dict", raw{0x81, 0xa1, 'a'}},
		{"truncated float64", raw{0xcb, 0}},
		{"truncated uint16", raw{0xcd, 1}},
		{"truncated bin", raw{0xc4, 5, 1}},
		{"trailing bytes", raw{1, 2}},
		{"list nested deeper than MaxDepth", nest(codec.MaxDepth, list{})},
		{"dict nested deeper than MaxDepth", dictNest(codec.MaxDepth + 1)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dst := []byte("kept")
			out, err := c.Encode(dst, pack(tc.in))
			checkSyntaxError(t, err, "msgpack")
			if string(out) != "kept" {
				t.Errorf("Encode returned %q, want dst as it was", out)
			}
			if _, err := codec.ToJSON(nil, pack(tc.in)); !errors.Is(err, codec.ErrInvalid) {
				t.Errorf("ToJSON: %v", err)
			}
		})
	}
}

// dictNest is depth dicts nested as {"a":{"a":...{}}}.
func dictNest(depth int) any {
	var v any = dict{}
	for range depth - 1 {
		v = dict{"a", v}
	}
	return v
}

// TestJSONDepth: MaxDepth levels of lists or dicts transcode both ways,
// one more fails both ways.
func TestJSONDepth(t *testing.T) {
	for _, tc := range []struct {
		name        string
		v           func(depth int) any
		open, close string // one more level in JSON
	}{
		{"lists", func(d int) any { return nest(d-1, list{}) }, "[", "]"},
		{"lists around a value", func(d int) any { return nest(d, "x") }, "[", "]"},
		{"dicts", dictNest, `{"a":`, "}"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mp := pack(tc.v(codec.MaxDepth))
			j, err := codec.ToJSON(nil, mp)
			if err != nil {
				t.Fatalf("ToJSON at MaxDepth: %v", err)
			}
			if back, err := codec.FromJSON(nil, j); err != nil || !bytes.Equal(back, mp) {
				t.Fatalf("FromJSON at MaxDepth: %v", err)
			}
			if _, err := codec.ToJSON(nil, pack(tc.v(codec.MaxDepth+1))); !errors.Is(err, codec.ErrInvalid) {
				t.Errorf("ToJSON beyond MaxDepth: %v", err)
			}
			deeper := tc.open + string(j) + tc.close
			if _, err := codec.FromJSON(nil, []byte(deeper)); !errors.Is(err, codec.ErrInvalid) {
				t.Errorf("FromJSON beyond MaxDepth: %v", err)
			}
		})
	}
}

// checkSyntaxError requires a *SyntaxError of the serializer that matches
// ErrInvalid.
func checkSyntaxError(t *testing.T, err error, serializer string) {
	t.Helper()
	var se *codec.SyntaxError
	if !errors.As(err, &se) || se.Serializer != serializer || !errors.Is(err, codec.ErrInvalid) {
		t.Errorf("got %v (%T), want a %s SyntaxError matching ErrInvalid", err, err, serializer)
	}
}

func TestJSONErrorText(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{`[1,]`, `codec: json syntax error at byte 3: invalid character ']'`},
		{`[16,1`, `codec: json syntax error at byte 5: unexpected end of JSON`},
		{`[1] x`, `codec: json syntax error at byte 4: data after the JSON value`},
		{`"\u0000!"`, `codec: json syntax error at byte 9: invalid base64 after \u0000 in a JSON string`},
		{`[1e999]`, `codec: json syntax error at byte 6: number out of the range of a float64`},
	} {
		if _, err := codec.FromJSON(nil, []byte(tc.in)); err == nil || err.Error() != tc.want {
			t.Errorf("FromJSON(%s): %v, want %s", tc.in, err, tc.want)
		}
	}
	if _, err := codec.ToJSON(nil, pack(math.NaN())); err == nil || !strings.Contains(err.Error(), "value has no JSON form") {
		t.Errorf("ToJSON(NaN): %v", err)
	}
}

func TestCodecs(t *testing.T) {
	for _, tc := range []struct {
		s    codec.Serializer
		name string
	}{
		{codec.JSON, "json"},
		{codec.MsgPack, "msgpack"},
	} {
		c := codec.NewCodec(tc.s)
		if c == nil || c.Name() != tc.name || c.Serializer() != tc.s || tc.s.String() != tc.name || !codec.Supported(tc.s) {
			t.Errorf("codec %d: %v", tc.s, c)
		}
	}
	for _, s := range []codec.Serializer{0, 3, 255} {
		if codec.NewCodec(s) != nil || codec.Supported(s) {
			t.Errorf("serializer %d is supported", s)
		}
	}
	if s := codec.Serializer(3).String(); s != "serializer(3)" {
		t.Errorf("Serializer(3).String() = %q", s)
	}

	frame := pack(list{16, 1, dict{}, "t"})
	mp := codec.NewCodec(codec.MsgPack)
	if got, err := mp.Decode(nil, frame); err != nil || &got[0] != &frame[0] || len(got) != len(frame) {
		t.Errorf("msgpack Decode does not return the frame itself")
	}
	if got, err := mp.Encode([]byte("x"), frame); err != nil || string(got) != "x"+string(frame) {
		t.Errorf("msgpack Encode = % x, %v", got, err)
	}

	js := codec.NewCodec(codec.JSON)
	got, err := js.Decode([]byte("prefix"), []byte(`[16,1,{},"t"]`))
	if err != nil || string(got) != "prefix"+string(frame) {
		t.Errorf("json Decode = % x, %v; want the prefix, then % x", got, err, frame)
	}
	text, err := js.Encode([]byte("prefix"), frame)
	if err != nil || string(text) != `prefix[16,1,{},"t"]` {
		t.Errorf("json Encode = %q, %v", text, err)
	}
}
