package codec_test

import (
	"testing"

	"github.com/wampedge/wampedge/codec"
)

// Typical frames of the hot paths: a PUBLISH and a CALL with a small
// payload, in MessagePack and in JSON.
var (
	publishJSON  = []byte(`[16,239714735,{"acknowledge":true},"com.myapp.sensor.temperature",["Hello, world!",21.5,{"unit":"C","ok":true}],{"sensor":"t1","seq":4711,"tags":["a","b"]}]`)
	publishFrame = js(string(publishJSON))
	callFrame    = js(`[48,7814135,{"timeout":1000,"receive_progress":true},"com.myapp.add2",[23,7],{"round":true}]`)
	emptyOptions = js(`{}`)
	ackOptions   = js(`{"acknowledge":true,"exclude_me":false}`)
)

// A hotPath is one step the router takes for every message, on state it
// reuses from message to message.
type hotPath struct {
	name string
	size int // bytes in
	step func() error
}

func hotPaths() []hotPath {
	var (
		pub  codec.Publish
		call codec.Call
		opts codec.PublishOptions
		out  []byte
		err  error
	)
	jc := codec.NewCodec(codec.JSON)
	return []hotPath{
		{"DecodePublish", len(publishFrame), func() error { return pub.Decode(publishFrame) }},
		{"DecodeCall", len(callFrame), func() error { return call.Decode(callFrame) }},
		{"AppendEventFromPublish", len(publishFrame), func() error {
			if err := pub.Decode(publishFrame); err != nil {
				return err
			}
			ev := codec.Event{Subscription: 5512315355, Publication: 4429313566, Args: pub.Args, Kwargs: pub.Kwargs}
			out = ev.Append(out[:0])
			return nil
		}},
		{"AppendInvocationFromCall", len(callFrame), func() error {
			if err := call.Decode(callFrame); err != nil {
				return err
			}
			inv := codec.Invocation{Request: 1, Registration: 2103333224, Args: call.Args, Kwargs: call.Kwargs}
			out = inv.Append(out[:0])
			return nil
		}},
		{"PublishOptionsEmpty", len(emptyOptions), func() error { return opts.Decode(emptyOptions) }},
		{"PublishOptionsAckExcludeMe", len(ackOptions), func() error { return opts.Decode(ackOptions) }},
		{"JSONDecode", len(publishJSON), func() error { out, err = jc.Decode(out[:0], publishJSON); return err }},
		{"JSONEncode", len(publishFrame), func() error { out, err = jc.Encode(out[:0], publishFrame); return err }},
	}
}

func findHotPath(tb testing.TB, name string) hotPath {
	for _, p := range hotPaths() {
		if p.name == name {
			return p
		}
	}
	tb.Fatalf("no hot path %s", name)
	return hotPath{}
}

func benchmark(b *testing.B, name string) {
	p := findHotPath(b, name)
	b.ReportAllocs()
	b.SetBytes(int64(p.size))
	for b.Loop() {
		if err := p.step(); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodePublish(b *testing.B)            { benchmark(b, "DecodePublish") }
func BenchmarkDecodeCall(b *testing.B)               { benchmark(b, "DecodeCall") }
func BenchmarkAppendEventFromPublish(b *testing.B)   { benchmark(b, "AppendEventFromPublish") }
func BenchmarkAppendInvocationFromCall(b *testing.B) { benchmark(b, "AppendInvocationFromCall") }
func BenchmarkJSONDecode(b *testing.B)               { benchmark(b, "JSONDecode") }
func BenchmarkJSONEncode(b *testing.B)               { benchmark(b, "JSONEncode") }
