package codec

import (
	"errors"
	"fmt"
	"reflect"
	"strings"

	"github.com/tinylib/msgp/msgp"
)

// ErrInvalid is matched (errors.Is) by every error that says a message is
// malformed: the router answers all of them with
// wamp.error.protocol_violation.
var ErrInvalid = errors.New("codec: invalid message")

var (
	errShort       = errors.New("truncated MessagePack")
	errInvalidByte = errors.New("invalid MessagePack byte 0xc1")
	errTooDeep     = fmt.Errorf("lists and dicts nested deeper than %d", MaxDepth)
	errTrailing    = errors.New("bytes after the end of the message")
	errUTF8        = errors.New("a str that is not valid UTF-8")
)

// SyntaxError says that a frame is not a well-formed encoding at all.
type SyntaxError struct {
	Serializer string // "msgpack" or "json"
	Offset     int    // byte offset of the problem in the frame
	Err        error
}

func (e *SyntaxError) Error() string {
	return fmt.Sprintf("codec: %s syntax error at byte %d: %v", e.Serializer, e.Offset, e.Err)
}
func (e *SyntaxError) Unwrap() error        { return e.Err }
func (e *SyntaxError) Is(target error) bool { return target == ErrInvalid }

// UnknownTypeError says that element 0 is not a message type this package knows.
type UnknownTypeError struct {
	Code uint64
	Got  string // set when element 0 is not an integer at all
}

func (e *UnknownTypeError) Error() string {
	if e.Got != "" {
		return "codec: message type must be an integer, got " + e.Got
	}
	return fmt.Sprintf("codec: unknown message type %d", e.Code)
}
func (e *UnknownTypeError) Is(target error) bool { return target == ErrInvalid }

// CountError says that a message has the wrong number of elements.
type CountError struct {
	Type     Type
	Got      int
	Min, Max int
}

func (e *CountError) Error() string {
	want := fmt.Sprint(e.Min)
	if e.Max != e.Min {
		want = fmt.Sprintf("%d to %d", e.Min, e.Max)
	}
	return fmt.Sprintf("codec: %v has %d elements, want %s", e.Type, e.Got, want)
}
func (e *CountError) Is(target error) bool { return target == ErrInvalid }

// ElementError says which element of a message has the wrong type or
// value, e.g. "PUBLISH element 2 (Options): want dict, got str".
type ElementError struct {
	Type  Type
	Index int    // position in the message list; the type code is 0
	Name  string // the spec's name of the element, e.g. "Options"
	Want  string // "id", "int", "uri", "string", "dict", "list", ...
	Got   string // what was there, or why the value is wrong
}

func (e *ElementError) Error() string {
	return fmt.Sprintf("codec: %v element %d (%s): want %s, got %s", e.Type, e.Index, e.Name, e.Want, e.Got)
}
func (e *ElementError) Is(target error) bool { return target == ErrInvalid }

// OptionError says which key of an Options or Details dict is wrong, e.g.
// "PUBLISH.Options.acknowledge: want bool, got str".
type OptionError struct {
	Type    Type
	Element string // "Options", "Details" or "Extra"
	Key     string // the dict key; empty when the dict itself is wrong
	Err     error
}

func (e *OptionError) Error() string {
	path := fmt.Sprintf("%v.%s", e.Type, e.Element)
	if e.Key != "" {
		path += "." + e.Key
	}
	return "codec: " + path + ": " + e.Err.Error()
}
func (e *OptionError) Unwrap() error        { return e.Err }
func (e *OptionError) Is(target error) bool { return target == ErrInvalid }

// optionError turns an error from msgp-generated code decoding the dict
// struct v into an OptionError that names the offending key as it is
// spelled on the wire. msgp reports Go field names ("at Acknowledge" or
// "at ForwardFor/0"); the struct tags map them back to keys.
func optionError(t Type, element string, v reflect.Type, err error) error {
	key := ""
	msg := err.Error()
	if i := strings.LastIndex(msg, " at "); i >= 0 {
		field, _, _ := strings.Cut(msg[i+4:], "/")
		msg = msg[:i]
		key = field
		if f, ok := v.Elem().FieldByName(field); ok {
			key, _, _ = strings.Cut(f.Tag.Get("msg"), ",")
		}
	}
	var te msgp.TypeError
	if errors.As(err, &te) {
		msg = fmt.Sprintf("want %s, got %s", typeName(te.Method), typeName(te.Encoded))
	}
	return &OptionError{Type: t, Element: element, Key: key, Err: errors.New(strings.TrimPrefix(msg, "msgp: "))}
}

// typeName names a MessagePack type in the words the spec uses.
func typeName(t msgp.Type) string {
	switch t {
	case msgp.StrType:
		return "str"
	case msgp.BinType:
		return "bin"
	case msgp.MapType:
		return "dict"
	case msgp.ArrayType:
		return "list"
	case msgp.IntType, msgp.UintType:
		return "int"
	case msgp.BoolType:
		return "bool"
	case msgp.Float32Type, msgp.Float64Type:
		return "float"
	case msgp.NilType:
		return "nil"
	}
	return t.String()
}
