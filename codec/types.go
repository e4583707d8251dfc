package codec

import "strconv"

// Type is a WAMP message type code, element 0 of every message
// (WAMP.md §1.2, §1.3).
type Type uint64

// Message type codes of the Basic Profile and the Advanced Profile messages
// the router handles.
const (
	TypeHello        Type = 1
	TypeWelcome      Type = 2
	TypeAbort        Type = 3
	TypeChallenge    Type = 4
	TypeAuthenticate Type = 5
	TypeGoodbye      Type = 6
	TypeError        Type = 8
	TypePublish      Type = 16
	TypePublished    Type = 17
	TypeSubscribe    Type = 32
	TypeSubscribed   Type = 33
	TypeUnsubscribe  Type = 34
	TypeUnsubscribed Type = 35
	TypeEvent        Type = 36
	TypeCall         Type = 48
	TypeCancel       Type = 49
	TypeResult       Type = 50
	TypeRegister     Type = 64
	TypeRegistered   Type = 65
	TypeUnregister   Type = 66
	TypeUnregistered Type = 67
	TypeInvocation   Type = 68
	TypeInterrupt    Type = 69
	TypeYield        Type = 70
)

// MaxID is the largest WAMP ID, 2^53: every ID lies in [1, MaxID]
// (WAMP.md §3).
const MaxID = 1 << 53

// Flow says which peer may send a message type.
type Flow uint8

const (
	// FromClient messages are sent by clients to the router.
	FromClient Flow = 1 << iota
	// FromRouter messages are sent by the router to clients.
	FromRouter
)

type typeInfo struct {
	name     string
	min, max int // allowed element counts, type code included (WAMP.md §1.4)
	flow     Flow
}

// types is indexed by type code; codes WAMP does not define have no name.
var types = [...]typeInfo{
	TypeHello:        {"HELLO", 3, 3, FromClient},
	TypeWelcome:      {"WELCOME", 3, 3, FromRouter},
	TypeAbort:        {"ABORT", 3, 5, FromClient | FromRouter},
	TypeChallenge:    {"CHALLENGE", 3, 3, FromRouter},
	TypeAuthenticate: {"AUTHENTICATE", 3, 3, FromClient},
	TypeGoodbye:      {"GOODBYE", 3, 3, FromClient | FromRouter},
	TypeError:        {"ERROR", 5, 7, FromClient | FromRouter},
	TypePublish:      {"PUBLISH", 4, 6, FromClient},
	TypePublished:    {"PUBLISHED", 3, 3, FromRouter},
	TypeSubscribe:    {"SUBSCRIBE", 4, 4, FromClient},
	TypeSubscribed:   {"SUBSCRIBED", 3, 3, FromRouter},
	TypeUnsubscribe:  {"UNSUBSCRIBE", 3, 3, FromClient},
	TypeUnsubscribed: {"UNSUBSCRIBED", 2, 3, FromRouter},
	TypeEvent:        {"EVENT", 4, 6, FromRouter},
	TypeCall:         {"CALL", 4, 6, FromClient},
	TypeCancel:       {"CANCEL", 3, 3, FromClient},
	TypeResult:       {"RESULT", 3, 5, FromRouter},
	TypeRegister:     {"REGISTER", 4, 4, FromClient},
	TypeRegistered:   {"REGISTERED", 3, 3, FromRouter},
	TypeUnregister:   {"UNREGISTER", 3, 3, FromClient},
	TypeUnregistered: {"UNREGISTERED", 2, 3, FromRouter},
	TypeInvocation:   {"INVOCATION", 4, 6, FromRouter},
	TypeInterrupt:    {"INTERRUPT", 3, 3, FromRouter},
	TypeYield:        {"YIELD", 3, 5, FromClient},
}

// String returns the spec's name of the type, e.g. "PUBLISH", or
// "TYPE(n)" for a code WAMP does not define.
func (t Type) String() string {
	if t.Known() {
		return types[t].name
	}
	return "TYPE(" + strconv.FormatUint(uint64(t), 10) + ")"
}

// Known reports whether t is one of the message types above.
func (t Type) Known() bool { return t < Type(len(types)) && types[t].name != "" }

// Flow says who may send messages of type t; 0 for an unknown type.
func (t Type) Flow() Flow {
	if !t.Known() {
		return 0
	}
	return types[t].flow
}
