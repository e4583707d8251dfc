package codec

import (
	"errors"
	"reflect"
	"slices"
)

// Each Decode below reads one dict element (nil or an encoded dict) into
// its typed struct, resetting the struct first, and checks the values
// WAMP constrains. Errors are *OptionError naming the message, the
// element and the key.

func (d *HelloDetails) Decode(dict []byte) error {
	*d = HelloDetails{}
	return finishDict(TypeHello, "Details", d, dict, d.UnmarshalMsg)
}

func (d *WelcomeDetails) Decode(dict []byte) error {
	*d = WelcomeDetails{}
	return finishDict(TypeWelcome, "Details", d, dict, d.UnmarshalMsg)
}

// Decode reads the Details of ABORT or GOODBYE (t says which).
func (d *CloseDetails) Decode(t Type, dict []byte) error {
	*d = CloseDetails{}
	return finishDict(t, "Details", d, dict, d.UnmarshalMsg)
}

func (o *PublishOptions) Decode(dict []byte) error {
	*o = PublishOptions{}
	return finishDict(TypePublish, "Options", o, dict, o.UnmarshalMsg)
}

func (o *SubscribeOptions) Decode(dict []byte) error {
	*o = SubscribeOptions{}
	if err := finishDict(TypeSubscribe, "Options", o, dict, o.UnmarshalMsg); err != nil {
		return err
	}
	return checkValue(TypeSubscribe, "Options", "match", o.Match, matchPolicies)
}

func (d *EventDetails) Decode(dict []byte) error {
	*d = EventDetails{}
	return finishDict(TypeEvent, "Details", d, dict, d.UnmarshalMsg)
}

func (o *RegisterOptions) Decode(dict []byte) error {
	*o = RegisterOptions{}
	if err := finishDict(TypeRegister, "Options", o, dict, o.UnmarshalMsg); err != nil {
		return err
	}
	if err := checkValue(TypeRegister, "Options", "match", o.Match, matchPolicies); err != nil {
		return err
	}
	return checkValue(TypeRegister, "Options", "invoke", o.Invoke, invokePolicies)
}

func (o *CallOptions) Decode(dict []byte) error {
	*o = CallOptions{}
	return finishDict(TypeCall, "Options", o, dict, o.UnmarshalMsg)
}

func (d *InvocationDetails) Decode(dict []byte) error {
	*d = InvocationDetails{}
	return finishDict(TypeInvocation, "Details", d, dict, d.UnmarshalMsg)
}

func (o *YieldOptions) Decode(dict []byte) error {
	*o = YieldOptions{}
	return finishDict(TypeYield, "Options", o, dict, o.UnmarshalMsg)
}

func (d *ResultDetails) Decode(dict []byte) error {
	*d = ResultDetails{}
	return finishDict(TypeResult, "Details", d, dict, d.UnmarshalMsg)
}

// Decode reads the Options of CANCEL or INTERRUPT (t says which).
func (o *CancelOptions) Decode(t Type, dict []byte) error {
	*o = CancelOptions{}
	if err := finishDict(t, "Options", o, dict, o.UnmarshalMsg); err != nil {
		return err
	}
	return checkValue(t, "Options", "mode", o.Mode, cancelModes)
}

func (x *ChallengeExtra) Decode(dict []byte) error {
	*x = ChallengeExtra{}
	return finishDict(TypeChallenge, "Extra", x, dict, x.UnmarshalMsg)
}

// Decode reads the passthru keys from the Options or Details of a message
// of type t, and checks their values against WAMP.md §8.5.
func (p *Passthru) Decode(t Type, element string, dict []byte) error {
	*p = Passthru{}
	if err := finishDict(t, element, p, dict, p.UnmarshalMsg); err != nil {
		return err
	}
	for _, c := range [...]struct {
		key, v  string
		allowed []string
	}{
		{"ppt_scheme", p.PPTScheme, nil},
		{"ppt_serializer", p.PPTSerializer, pptSerializers},
		{"ppt_cipher", p.PPTCipher, pptCiphers},
		{"enc_algo", p.EncAlgo, encAlgos},
		{"enc_serializer", p.EncSerializer, pptSerializers},
	} {
		if c.allowed == nil {
			continue
		}
		if err := checkValue(t, element, c.key, c.v, c.allowed); err != nil {
			return err
		}
	}
	return nil
}

// Active reports whether the message carries a passthru payload.
func (p *Passthru) Active() bool { return p.PPTScheme != "" || p.EncAlgo != "" }

var (
	matchPolicies  = []string{"exact", "prefix", "wildcard"}
	invokePolicies = []string{"single", "roundrobin", "random", "first", "last"}
	cancelModes    = []string{"skip", "kill", "killnowait"}
	pptSerializers = []string{"native", "json", "msgpack", "cbor", "ubjson", "flatbuffers"}
	pptCiphers     = []string{"xsalsa20poly1305", "aes256gcm"}
	encAlgos       = []string{"cryptobox", "mqtt", "xbr"}
)

// finishDict runs a generated UnmarshalMsg over dict and turns its error
// into an OptionError. An absent dict leaves v zero.
func finishDict(t Type, element string, v any, dict []byte, unmarshal func([]byte) ([]byte, error)) error {
	if len(dict) == 0 || len(dict) == 1 && dict[0] == 0x80 { // absent or {}: v is zero already
		return nil
	}
	rest, err := unmarshal(dict)
	if err != nil {
		return optionError(t, element, reflect.TypeOf(v), err)
	}
	if len(rest) != 0 {
		return &OptionError{Type: t, Element: element, Err: errTrailing}
	}
	return nil
}

// checkValue checks that v is empty (absent) or one of allowed.
func checkValue(t Type, element, key, v string, allowed []string) error {
	if v == "" || slices.Contains(allowed, v) {
		return nil
	}
	return &OptionError{Type: t, Element: element, Key: key, Err: errors.New("unknown value " + quote(v))}
}

func quote(s string) string {
	if len(s) > 64 {
		s = s[:64] + "..."
	}
	return `"` + s + `"`
}
