package codec_test

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/tinylib/msgp/msgp"

	"github.com/wampedge/wampedge/codec"
)

// The WAMP test vectors (testdata/wamp-testsuite, format in its FORMAT.md
// and SCHEMA.json). Each single-message file holds serialization samples
// (expected attributes plus accepted byte encodings per serializer) and
// validation samples (a raw message that must be accepted or rejected).

const suiteDir = "testdata/wamp-testsuite"

type vectorFile struct {
	path    string
	Type    string         `json:"wamp_message_type"`
	Code    uint64         `json:"wamp_message_code"`
	Samples []vectorSample `json:"samples"`
}

type vectorSample struct {
	Description string                     `json:"description"`
	Serializers map[string][]vectorVariant `json:"serializers"`
	Expected    map[string]json.RawMessage `json:"expected_attributes"`

	Category      string          `json:"test_category"`
	WMsg          json.RawMessage `json:"wmsg"`
	ExpectedError *struct {
		Type     string `json:"type"`
		Contains string `json:"contains"`
	} `json:"expected_error"`
}

type vectorVariant struct {
	Hex  string `json:"bytes_hex"`
	Note string `json:"note"`
}

// serializers are the vector serializers this package speaks.
var serializers = []struct {
	name string
	s    codec.Serializer
}{
	{"json", codec.JSON},
	{"msgpack", codec.MsgPack},
}

// loadVectors reads every single-message vector file.
func loadVectors(tb testing.TB) []vectorFile {
	tb.Helper()
	paths, err := filepath.Glob(filepath.Join(suiteDir, "singlemessage", "*", "*.json"))
	if err != nil || len(paths) == 0 {
		tb.Fatalf("no vector files in %s (err %v)", suiteDir, err)
	}
	files := make([]vectorFile, len(paths))
	for i, p := range paths {
		text, err := os.ReadFile(p)
		if err != nil {
			tb.Fatal(err)
		}
		if err := json.Unmarshal(text, &files[i]); err != nil {
			tb.Fatalf("%s: %v", p, err)
		}
		files[i].path = p
	}
	return files
}

// variants returns the byte variants of one serializer.
func (s *vectorSample) variants(tb testing.TB, serializer string) [][]byte {
	tb.Helper()
	var out [][]byte
	for _, v := range s.Serializers[serializer] {
		b, err := hex.DecodeString(v.Hex)
		if err != nil {
			tb.Fatalf("%s: bad bytes_hex: %v", s.Description, err)
		}
		out = append(out, b)
	}
	return out
}

// decodeJSON decodes JSON text as encoding/json does, numbers kept exact.
func decodeJSON(tb testing.TB, text []byte) any {
	tb.Helper()
	d := json.NewDecoder(bytes.NewReader(text))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		tb.Fatalf("decode %q: %v", text, err)
	}
	return v
}

// jsonValue is what encoding/json makes of the JSON form of one encoded
// MessagePack value; nil (an absent element) stays nil. Binary comes out
// as the "\u0000"+base64 string of the JSON convention.
func jsonValue(tb testing.TB, raw []byte) any {
	tb.Helper()
	if raw == nil {
		return nil
	}
	text, err := codec.ToJSON(nil, raw)
	if err != nil {
		tb.Fatalf("ToJSON(% x): %v", raw, err)
	}
	return decodeJSON(tb, text)
}

func number(v uint64) json.Number { return json.Number(strconv.FormatUint(v, 10)) }

// attributes names the fields of a decoded message as the vectors'
// expected_attributes do.
func attributes(tb testing.TB, m codec.Message) map[string]any {
	tb.Helper()
	a := map[string]any{"message_type": number(uint64(m.Type()))}
	dict := func(key string, raw []byte) { a[key] = jsonValue(tb, raw) }
	payload := func(args, kwargs []byte) {
		a["args"], a["kwargs"], a["payload"] = nil, jsonValue(tb, kwargs), nil
		if msgp.NextType(args) == msgp.BinType { // payload passthru
			b, _, err := msgp.ReadBytesZC(args)
			if err != nil {
				tb.Fatal(err)
			}
			a["payload"] = hex.EncodeToString(b)
		} else {
			a["args"] = jsonValue(tb, args)
		}
	}
	roles := func() {
		if d, ok := a["details"].(map[string]any); ok {
			a["roles"] = d["roles"]
		}
	}
	switch m := m.(type) {
	case *codec.Hello:
		a["realm"] = string(m.Realm)
		dict("details", m.Details)
		roles()
	case *codec.Welcome:
		a["session_id"] = number(m.Session)
		dict("details", m.Details)
		roles()
	case *codec.Abort:
		dict("details", m.Details)
		a["reason"] = string(m.Reason)
		payload(m.Args, m.Kwargs)
	case *codec.Challenge:
		a["method"] = string(m.AuthMethod)
		dict("extra", m.Extra)
	case *codec.Authenticate:
		a["signature"] = string(m.Signature)
		dict("extra", m.Extra)
	case *codec.Goodbye:
		dict("details", m.Details)
		a["reason"] = string(m.Reason)
	case *codec.Error:
		a["request_type"] = number(uint64(m.RequestType))
		a["request_id"] = number(m.Request)
		dict("details", m.Details)
		a["error"] = string(m.Error)
		payload(m.Args, m.Kwargs)
	case *codec.Publish:
		a["request_id"] = number(m.Request)
		dict("options", m.Options)
		a["topic"] = string(m.Topic)
		payload(m.Args, m.Kwargs)
	case *codec.Published:
		a["request_id"] = number(m.Request)
		a["publication_id"] = number(m.Publication)
	case *codec.Subscribe:
		a["request_id"] = number(m.Request)
		dict("options", m.Options)
		a["topic"] = string(m.Topic)
	case *codec.Subscribed:
		a["request_id"] = number(m.Request)
		a["subscription_id"] = number(m.Subscription)
	case *codec.Unsubscribe:
		a["request_id"] = number(m.Request)
		a["subscription_id"] = number(m.Subscription)
	case *codec.Unsubscribed:
		a["request_id"] = number(m.Request)
		dict("details", m.Details)
	case *codec.Event:
		a["subscription"] = number(m.Subscription)
		a["publication"] = number(m.Publication)
		a["subscription_id"], a["publication_id"] = a["subscription"], a["publication"]
		dict("details", m.Details)
		payload(m.Args, m.Kwargs)
	case *codec.Call:
		a["request_id"] = number(m.Request)
		dict("options", m.Options)
		a["procedure"] = string(m.Procedure)
		payload(m.Args, m.Kwargs)
	case *codec.Cancel:
		a["request_id"] = number(m.Request)
		dict("options", m.Options)
	case *codec.Result:
		a["request_id"] = number(m.Request)
		dict("details", m.Details)
		payload(m.Args, m.Kwargs)
	case *codec.Register:
		a["request_id"] = number(m.Request)
		dict("options", m.Options)
		a["procedure"] = string(m.Procedure)
	case *codec.Registered:
		a["request_id"] = number(m.Request)
		a["registration_id"] = number(m.Registration)
	case *codec.Unregister:
		a["request_id"] = number(m.Request)
		a["registration_id"] = number(m.Registration)
	case *codec.Unregistered:
		a["request_id"] = number(m.Request)
		dict("details", m.Details)
	case *codec.Invocation:
		a["request_id"] = number(m.Request)
		a["registration_id"] = number(m.Registration)
		dict("details", m.Details)
		payload(m.Args, m.Kwargs)
	case *codec.Interrupt:
		a["request_id"] = number(m.Request)
		dict("options", m.Options)
	case *codec.Yield:
		a["request_id"] = number(m.Request)
		dict("options", m.Options)
		payload(m.Args, m.Kwargs)
	default:
		tb.Fatalf("no attributes for %T", m)
	}
	return a
}

// checkAttributes compares a decoded message with expected_attributes.
func checkAttributes(t *testing.T, m codec.Message, want map[string]json.RawMessage) {
	t.Helper()
	got := attributes(t, m)
	for key, raw := range want {
		g, ok := got[key]
		if !ok {
			t.Errorf("%v has no attribute %q", m.Type(), key)
			continue
		}
		if w := decodeJSON(t, raw); !reflect.DeepEqual(g, w) {
			t.Errorf("%s = %#v, want %#v", key, g, w)
		}
	}
}

// suiteCounts tallies what TestConformance checked.
type suiteCounts struct {
	samples, unknown, unknownVariants int
	decoded, reencoded, identical     map[string]int
	valid, rejected                   int
}

func (c *suiteCounts) table() string {
	var b strings.Builder
	row := func(name string, n int) { fmt.Fprintf(&b, "\n  %-40s %4d", name, n) }
	b.WriteString("WAMP test vectors:")
	row("serialization samples", c.samples)
	for _, s := range serializers {
		row(s.name+" variants decoded", c.decoded[s.name])
		row(s.name+" variants re-encoded", c.reencoded[s.name])
		row("  of them byte-identical to their input", c.identical[s.name])
	}
	row("unknown-type samples rejected", c.unknown)
	row("  their json+msgpack variants", c.unknownVariants)
	row("validation samples valid", c.valid)
	row("validation samples rejected", c.rejected)
	return b.String()
}

func (c *suiteCounts) zero() bool {
	for _, n := range []int{c.samples, c.unknown, c.valid, c.rejected} {
		if n == 0 {
			return true
		}
	}
	for _, s := range serializers {
		if c.decoded[s.name] == 0 || c.reencoded[s.name] == 0 {
			return true
		}
	}
	return false
}

func TestConformance(t *testing.T) {
	counts := suiteCounts{decoded: map[string]int{}, reencoded: map[string]int{}, identical: map[string]int{}}
	for _, f := range loadVectors(t) {
		for i, s := range f.Samples {
			t.Run(fmt.Sprintf("%s/%d", strings.TrimSuffix(filepath.Base(f.path), ".json"), i), func(t *testing.T) {
				switch {
				case s.WMsg != nil:
					if checkValidationSample(t, &s) {
						counts.rejected++
					} else {
						counts.valid++
					}
				case !codec.Type(f.Code).Known():
					counts.samples++
					counts.unknown++
					counts.unknownVariants += checkUnknownSample(t, f.Code, &s)
				default:
					counts.samples++
					for _, ser := range serializers {
						d, r, i := checkVariants(t, codec.NewCodec(ser.s), s.variants(t, ser.name), s.Expected)
						counts.decoded[ser.name] += d
						counts.reencoded[ser.name] += r
						counts.identical[ser.name] += i
					}
				}
			})
		}
	}
	t.Log(counts.table())
	if counts.zero() {
		t.Errorf("a vector count is zero:\n%s", counts.table())
	}
}

// checkVariants decodes every variant of one serializer, checks its
// attributes, and re-encodes it. The re-encoding must equal one of the
// variants, as the suite asks of an implementation's output, though not
// necessarily the one it came from: JSON with spaces comes out compact,
// like its compact sibling. A variant that re-encodes to none of them
// would be accepted only if another variant of the sample does.
func checkVariants(t *testing.T, c codec.Codec, variants [][]byte, want map[string]json.RawMessage) (decoded, reencoded, identical int) {
	t.Helper()
	var mismatched [][]byte
	for _, frame := range variants {
		mp, err := c.Decode(nil, frame)
		if err != nil {
			t.Errorf("%s: %s: Decode: %v", c.Name(), frame, err)
			continue
		}
		m, err := codec.Decode(mp)
		if err != nil {
			t.Errorf("%s: %q: codec.Decode: %v", c.Name(), frame, err)
			continue
		}
		if err := codec.Validate(m); err != nil {
			t.Errorf("%s: %q: Validate: %v", c.Name(), frame, err)
		}
		checkAttributes(t, m, want)
		decoded++
		out, err := c.Encode(nil, m.Append(nil))
		if err != nil {
			t.Errorf("%s: %q: Encode: %v", c.Name(), frame, err)
			continue
		}
		if !containsBytes(variants, out) {
			mismatched = append(mismatched, out)
			continue
		}
		reencoded++
		if bytes.Equal(out, frame) {
			identical++
		}
	}
	for _, out := range mismatched {
		if reencoded == 0 {
			t.Errorf("%s: re-encoded as %q, which is none of the variants", c.Name(), out)
		} else {
			t.Logf("%s: a variant re-encodes as %q; another variant matches", c.Name(), out)
		}
	}
	return decoded, reencoded, identical
}

func containsBytes(list [][]byte, b []byte) bool {
	for _, x := range list {
		if bytes.Equal(x, b) {
			return true
		}
	}
	return false
}

// checkUnknownSample requires that every variant of a sample whose message
// type this package does not know is rejected with an UnknownTypeError.
func checkUnknownSample(t *testing.T, code uint64, s *vectorSample) (variants int) {
	t.Helper()
	for _, ser := range serializers {
		c := codec.NewCodec(ser.s)
		for _, frame := range s.variants(t, ser.name) {
			mp, err := c.Decode(nil, frame)
			if err != nil {
				t.Errorf("%s: %q: Decode: %v", ser.name, frame, err)
				continue
			}
			_, err = codec.Decode(mp)
			var ue *codec.UnknownTypeError
			if !errors.As(err, &ue) || ue.Code != code || !errors.Is(err, codec.ErrInvalid) {
				t.Errorf("%s: %q: got %v, want an UnknownTypeError for %d", ser.name, frame, err, code)
				continue
			}
			variants++
		}
	}
	return variants
}

// checkValidationSample runs one validation sample through the JSON codec,
// Decode and Validate, and reports whether it was (rightly) rejected.
func checkValidationSample(t *testing.T, s *vectorSample) (rejected bool) {
	t.Helper()
	frame, err := json.Marshal(s.WMsg)
	if err != nil {
		t.Fatal(err)
	}
	err = decodeAndValidate(codec.NewCodec(codec.JSON), frame)
	if s.ExpectedError == nil {
		if err != nil {
			t.Errorf("%s: %s: %v, want no error", s.Description, frame, err)
		}
		return false
	}
	if s.ExpectedError.Type != "protocol_violation" {
		t.Errorf("%s: unknown expected error type %q", s.Description, s.ExpectedError.Type)
	}
	if !errors.Is(err, codec.ErrInvalid) || !strings.Contains(err.Error(), s.ExpectedError.Contains) {
		t.Errorf("%s: %s: got %v, want ErrInvalid naming %q", s.Description, frame, err, s.ExpectedError.Contains)
	}
	return true
}

func decodeAndValidate(c codec.Codec, frame []byte) error {
	mp, err := c.Decode(nil, frame)
	if err != nil {
		return err
	}
	m, err := codec.Decode(mp)
	if err != nil {
		return err
	}
	return codec.Validate(m)
}
