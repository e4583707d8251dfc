package codec

import "github.com/tinylib/msgp/msgp"

// Flag is a bool option whose absence means something else than false,
// such as PUBLISH.Options.exclude_me (absent means true).
type Flag uint8

const (
	Unset Flag = iota // the key is absent
	False
	True
)

// FlagOf returns True or False.
func FlagOf(v bool) Flag {
	if v {
		return True
	}
	return False
}

// Or returns the flag's value, or def when it is unset.
func (f Flag) Or(def bool) bool {
	if f == Unset {
		return def
	}
	return f == True
}

// IsZero reports whether the flag is unset, so that it is omitted.
func (f Flag) IsZero() bool { return f == Unset }

// MarshalMsg appends the flag as a MessagePack bool.
func (f Flag) MarshalMsg(b []byte) ([]byte, error) { return msgp.AppendBool(b, f == True), nil }

// UnmarshalMsg reads a MessagePack bool.
func (f *Flag) UnmarshalMsg(b []byte) ([]byte, error) {
	v, rest, err := msgp.ReadBoolBytes(b)
	if err != nil {
		return b, err
	}
	*f = FlagOf(v)
	return rest, nil
}

// Msgsize is the encoded size of a bool.
func (f Flag) Msgsize() int { return msgp.BoolSize }
