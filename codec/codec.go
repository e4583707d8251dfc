package codec

import "strconv"

// Serializer is a serializer's id in the RawSocket handshake (WAMP.md §6.1).
type Serializer byte

const (
	JSON    Serializer = 1
	MsgPack Serializer = 2
)

// String returns "json", "msgpack", or "serializer(n)".
func (s Serializer) String() string {
	switch s {
	case JSON:
		return "json"
	case MsgPack:
		return "msgpack"
	}
	return "serializer(" + strconv.Itoa(int(s)) + ")"
}

// A Codec converts between a serializer's wire form and MessagePack, the
// one form every message of this package is decoded from and encoded to.
// The router routes MessagePack only; a JSON session pays one conversion
// per message in and one per distinct message out.
//
// A Codec may hold scratch state: use it from one goroutine at a time.
type Codec interface {
	Name() string
	Serializer() Serializer
	// Decode returns the MessagePack form of one frame. It may append it
	// to dst (JSON) or return frame itself (MessagePack), so the result
	// aliases either; it fails with a *SyntaxError on a malformed frame.
	Decode(dst, frame []byte) ([]byte, error)
	// Encode appends the wire form of the MessagePack message msg to dst.
	// It fails on values the wire form cannot carry (JSON: ext, NaN, Inf,
	// non-string dict keys).
	Encode(dst, msg []byte) ([]byte, error)
}

// NewCodec returns a fresh codec for s, or nil if s is not supported.
func NewCodec(s Serializer) Codec {
	switch s {
	case JSON:
		return new(jsonCodec)
	case MsgPack:
		return msgpackCodec{}
	}
	return nil
}

// Supported reports whether NewCodec knows s.
func Supported(s Serializer) bool { return s == JSON || s == MsgPack }

type msgpackCodec struct{}

func (msgpackCodec) Name() string                           { return "msgpack" }
func (msgpackCodec) Serializer() Serializer                 { return MsgPack }
func (msgpackCodec) Decode(_, frame []byte) ([]byte, error) { return frame, nil }
func (msgpackCodec) Encode(dst, msg []byte) ([]byte, error) { return append(dst, msg...), nil }

type jsonCodec struct{ r jsonReader }

func (*jsonCodec) Name() string           { return "json" }
func (*jsonCodec) Serializer() Serializer { return JSON }

func (c *jsonCodec) Decode(dst, frame []byte) ([]byte, error) {
	return c.r.toMsgpack(dst, frame)
}

func (c *jsonCodec) Encode(dst, msg []byte) ([]byte, error) {
	out, rest, err := appendJSON(dst, msg, 0)
	if err == nil && len(rest) != 0 {
		err = errTrailing
	}
	if err != nil {
		return dst, &SyntaxError{Serializer: "msgpack", Offset: len(msg) - len(rest), Err: err}
	}
	return out, nil
}

// ToJSON appends the JSON text of one MessagePack value (a payload, a
// dict): the conversion the JSON codec applies to whole messages.
func ToJSON(dst, value []byte) ([]byte, error) { return new(jsonCodec).Encode(dst, value) }

// FromJSON appends the MessagePack form of one JSON value.
func FromJSON(dst, text []byte) ([]byte, error) { return new(jsonReader).toMsgpack(dst, text) }
