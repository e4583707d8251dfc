package interop

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
)

// Payload values travel as control-protocol JSON (peers/PROTOCOL.md):
// numbers as json.Number, binary as "\x00"+base64 strings.

// Payload is a message's arguments.
type Payload struct {
	Args   []any          `json:"args"`
	Kwargs map[string]any `json:"kwargs"`
}

// bin is binary data in the control protocol's form.
func bin(b []byte) string { return "\x00" + base64.StdEncoding.EncodeToString(b) }

// dec is a number in the control protocol's form, written as text.
func dec(s string) json.Number { return json.Number(s) }

// num is an integer in the control protocol's form.
func num(v int64) json.Number { return json.Number(strconv.FormatInt(v, 10)) }

// decodeValue parses control JSON, keeping numbers exact.
func decodeValue(data []byte, v any) error {
	d := json.NewDecoder(bytes.NewReader(data))
	d.UseNumber()
	return d.Decode(v)
}

// canon returns a comparable text for a value: map keys sorted, and
// numbers by value (an integral float equals the integer: JavaScript
// cannot tell them apart), binary as base64.
func canon(v any) string {
	var b strings.Builder
	writeCanon(&b, v)
	return b.String()
}

func writeCanon(b *strings.Builder, v any) {
	switch x := v.(type) {
	case nil:
		b.WriteString("null")
	case bool:
		fmt.Fprint(b, x)
	case json.Number:
		writeNumber(b, string(x))
	case float64:
		writeNumber(b, strconv.FormatFloat(x, 'g', -1, 64))
	case int64:
		writeNumber(b, strconv.FormatInt(x, 10))
	case uint64:
		writeNumber(b, strconv.FormatUint(x, 10))
	case int:
		writeNumber(b, strconv.Itoa(x))
	case string:
		if strings.HasPrefix(x, "\x00") {
			b.WriteString("bin:" + x[1:])
			return
		}
		s, _ := json.Marshal(x)
		b.Write(s)
	case []byte:
		b.WriteString("bin:" + base64.StdEncoding.EncodeToString(x))
	case []any:
		b.WriteByte('[')
		for i, e := range x {
			if i > 0 {
				b.WriteByte(',')
			}
			writeCanon(b, e)
		}
		b.WriteByte(']')
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		b.WriteByte('{')
		for i, k := range keys {
			if i > 0 {
				b.WriteByte(',')
			}
			s, _ := json.Marshal(k)
			b.Write(s)
			b.WriteByte(':')
			writeCanon(b, x[k])
		}
		b.WriteByte('}')
	default:
		fmt.Fprintf(b, "?%T(%v)", v, v)
	}
}

func writeNumber(b *strings.Builder, text string) {
	if i, err := strconv.ParseInt(text, 10, 64); err == nil {
		b.WriteString(strconv.FormatInt(i, 10))
		return
	}
	if u, err := strconv.ParseUint(text, 10, 64); err == nil {
		b.WriteString(strconv.FormatUint(u, 10))
		return
	}
	f, err := strconv.ParseFloat(text, 64)
	if err != nil {
		b.WriteString("?" + text)
		return
	}
	if f == math.Trunc(f) && math.Abs(f) <= 1<<53 {
		b.WriteString(strconv.FormatInt(int64(f), 10))
		return
	}
	b.WriteString(strconv.FormatFloat(f, 'g', -1, 64))
}

// samePayload compares what was sent with what arrived.
func samePayload(sent, got Payload) error {
	norm := func(p Payload) (string, string) {
		args, kwargs := any(p.Args), any(p.Kwargs)
		if p.Args == nil {
			args = []any{}
		}
		if p.Kwargs == nil {
			kwargs = map[string]any{}
		}
		return canon(args), canon(kwargs)
	}
	sa, sk := norm(sent)
	ga, gk := norm(got)
	if sa != ga || sk != gk {
		return fmt.Errorf("payload changed on the way:\n sent args %s kwargs %s\n  got args %s kwargs %s", short(sa), short(sk), short(ga), short(gk))
	}
	return nil
}

// short cuts long texts for messages and logs.
func short(s string) string {
	if len(s) > 400 {
		return s[:400] + fmt.Sprintf("... (%d bytes)", len(s))
	}
	return s
}

// toNative turns control values into the Go values Go client libraries
// send: integers, float64, []byte, []any, map[string]any.
func toNative(v any) any {
	switch x := v.(type) {
	case json.Number:
		if i, err := x.Int64(); err == nil {
			return i
		}
		if u, err := strconv.ParseUint(string(x), 10, 64); err == nil {
			return u
		}
		f, _ := x.Float64()
		return f
	case string:
		if strings.HasPrefix(x, "\x00") {
			if b, err := base64.StdEncoding.DecodeString(x[1:]); err == nil {
				return b
			}
		}
		return x
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = toNative(e)
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = toNative(e)
		}
		return out
	}
	return v
}

// fromNative turns what a Go client library received into control
// values.
func fromNative(v any) any {
	switch x := v.(type) {
	case []byte:
		return bin(x)
	case int:
		return num(int64(x))
	case int8:
		return num(int64(x))
	case int16:
		return num(int64(x))
	case int32:
		return num(int64(x))
	case int64:
		return num(x)
	case uint:
		return json.Number(strconv.FormatUint(uint64(x), 10))
	case uint8:
		return num(int64(x))
	case uint16:
		return num(int64(x))
	case uint32:
		return num(int64(x))
	case uint64:
		return json.Number(strconv.FormatUint(x, 10))
	case float32:
		return json.Number(strconv.FormatFloat(float64(x), 'g', -1, 32))
	case float64:
		return json.Number(strconv.FormatFloat(x, 'g', -1, 64))
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = fromNative(e)
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = fromNative(e)
		}
		return out
	case map[any]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[fmt.Sprint(k)] = fromNative(e)
		}
		return out
	}
	return v
}

func nativeArgs(p Payload) ([]any, map[string]any) {
	var args []any
	var kwargs map[string]any
	if p.Args != nil {
		args = toNative(p.Args).([]any)
	}
	if p.Kwargs != nil {
		kwargs = toNative(p.Kwargs).(map[string]any)
	}
	return args, kwargs
}

func controlPayload(args []any, kwargs map[string]any) Payload {
	p := Payload{Args: []any{}, Kwargs: map[string]any{}}
	if args != nil {
		p.Args = fromNative(args).([]any)
	}
	if kwargs != nil {
		p.Kwargs = fromNative(kwargs).(map[string]any)
	}
	return p
}
