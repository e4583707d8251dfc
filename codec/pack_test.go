package codec_test

import (
	"fmt"

	"github.com/tinylib/msgp/msgp"
)

// pack builds MessagePack test values the way this package writes them:
// integers in their shortest form (unsigned when not negative), floats
// as float64, strings as str, []byte as bin. list and dict keep their
// order; raw is appended as it is.
type (
	list []any
	dict []any // key, value, key, value, ...
	raw  []byte
)

func pack(v any) []byte { return appendPack(nil, v) }

func appendPack(b []byte, v any) []byte {
	switch v := v.(type) {
	case nil:
		return msgp.AppendNil(b)
	case bool:
		return msgp.AppendBool(b, v)
	case int:
		if v < 0 {
			return msgp.AppendInt64(b, int64(v))
		}
		return msgp.AppendUint64(b, uint64(v))
	case int64:
		if v < 0 {
			return msgp.AppendInt64(b, v)
		}
		return msgp.AppendUint64(b, uint64(v))
	case uint64:
		return msgp.AppendUint64(b, v)
	case float64:
		return msgp.AppendFloat64(b, v)
	case float32:
		return msgp.AppendFloat32(b, v)
	case string:
		return msgp.AppendString(b, v)
	case []byte:
		return msgp.AppendBytes(b, v)
	case raw:
		return append(b, v...)
	case list:
		b = msgp.AppendArrayHeader(b, uint32(len(v)))
		for _, x := range v {
			b = appendPack(b, x)
		}
		return b
	case dict:
		b = msgp.AppendMapHeader(b, uint32(len(v)/2))
		for _, x := range v {
			b = appendPack(b, x)
		}
		return b
	}
	panic(fmt.Sprintf("pack: unsupported %T", v))
}

// nest wraps inner in depth one-element lists.
func nest(depth int, inner any) any {
	for range depth {
		inner = list{inner}
	}
	return inner
}
