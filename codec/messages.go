package codec

// Message is any WAMP message of this package. Decode reads a message in
// place: its []byte fields alias the input, which must stay unchanged
// while the message is in use (copy what must outlive it). Append writes
// the MessagePack encoding; Options and Details left nil are written as
// {}, and trailing empty payload elements are dropped.
type Message interface {
	Type() Type
	Decode(msg []byte) error
	Append(b []byte) []byte
}

// Hello is [HELLO, Realm|uri, Details|dict].
type Hello struct {
	Realm   []byte
	Details []byte // HelloDetails
}

// Welcome is [WELCOME, Session|id, Details|dict].
type Welcome struct {
	Session uint64
	Details []byte // WelcomeDetails
}

// Abort is [ABORT, Details|dict, Reason|uri] with an optional payload.
type Abort struct {
	Details      []byte // CloseDetails
	Reason       []byte
	Args, Kwargs []byte
}

// Challenge is [CHALLENGE, AuthMethod|string, Extra|dict].
type Challenge struct {
	AuthMethod []byte
	Extra      []byte // ChallengeExtra
}

// Authenticate is [AUTHENTICATE, Signature|string, Extra|dict].
type Authenticate struct {
	Signature []byte
	Extra     []byte
}

// Goodbye is [GOODBYE, Details|dict, Reason|uri].
type Goodbye struct {
	Details []byte // CloseDetails
	Reason  []byte
}

// Error is [ERROR, REQUEST.Type|int, REQUEST.Request|id, Details|dict,
// Error|uri] with an optional payload.
type Error struct {
	RequestType  Type
	Request      uint64
	Details      []byte
	Error        []byte
	Args, Kwargs []byte
}

// Publish is [PUBLISH, Request|id, Options|dict, Topic|uri] with an
// optional payload.
type Publish struct {
	Request      uint64
	Options      []byte // PublishOptions
	Topic        []byte
	Args, Kwargs []byte
}

// Published is [PUBLISHED, PUBLISH.Request|id, Publication|id].
type Published struct {
	Request     uint64
	Publication uint64
}

// Subscribe is [SUBSCRIBE, Request|id, Options|dict, Topic|uri].
type Subscribe struct {
	Request uint64
	Options []byte // SubscribeOptions
	Topic   []byte
}

// Subscribed is [SUBSCRIBED, SUBSCRIBE.Request|id, Subscription|id].
type Subscribed struct {
	Request      uint64
	Subscription uint64
}

// Unsubscribe is [UNSUBSCRIBE, Request|id, SUBSCRIBED.Subscription|id].
type Unsubscribe struct {
	Request      uint64
	Subscription uint64
}

// Unsubscribed is [UNSUBSCRIBED, UNSUBSCRIBE.Request|id], or the
// revocation form [UNSUBSCRIBED, 0, Details|dict].
type Unsubscribed struct {
	Request uint64
	Details []byte // only in the revocation form
}

// Event is [EVENT, SUBSCRIBED.Subscription|id, PUBLISHED.Publication|id,
// Details|dict] with an optional payload.
type Event struct {
	Subscription uint64
	Publication  uint64
	Details      []byte // EventDetails
	Args, Kwargs []byte
}

// Call is [CALL, Request|id, Options|dict, Procedure|uri] with an optional
// payload.
type Call struct {
	Request      uint64
	Options      []byte // CallOptions
	Procedure    []byte
	Args, Kwargs []byte
}

// Cancel is [CANCEL, CALL.Request|id, Options|dict].
type Cancel struct {
	Request uint64
	Options []byte // CancelOptions
}

// Result is [RESULT, CALL.Request|id, Details|dict] with an optional
// payload.
type Result struct {
	Request      uint64
	Details      []byte // ResultDetails
	Args, Kwargs []byte
}

// Register is [REGISTER, Request|id, Options|dict, Procedure|uri].
type Register struct {
	Request   uint64
	Options   []byte // RegisterOptions
	Procedure []byte
}

// Registered is [REGISTERED, REGISTER.Request|id, Registration|id].
type Registered struct {
	Request      uint64
	Registration uint64
}

// Unregister is [UNREGISTER, Request|id, REGISTERED.Registration|id].
type Unregister struct {
	Request      uint64
	Registration uint64
}

// Unregistered is [UNREGISTERED, UNREGISTER.Request|id], or the revocation
// form [UNREGISTERED, 0, Details|dict].
type Unregistered struct {
	Request uint64
	Details []byte // only in the revocation form
}

// Invocation is [INVOCATION, Request|id, REGISTERED.Registration|id,
// Details|dict] with an optional payload.
type Invocation struct {
	Request      uint64
	Registration uint64
	Details      []byte // InvocationDetails
	Args, Kwargs []byte
}

// Interrupt is [INTERRUPT, INVOCATION.Request|id, Options|dict].
type Interrupt struct {
	Request uint64
	Options []byte // CancelOptions
}

// Yield is [YIELD, INVOCATION.Request|id, Options|dict] with an optional
// payload.
type Yield struct {
	Request      uint64
	Options      []byte // YieldOptions
	Args, Kwargs []byte
}

func (*Hello) Type() Type        { return TypeHello }
func (*Welcome) Type() Type      { return TypeWelcome }
func (*Abort) Type() Type        { return TypeAbort }
func (*Challenge) Type() Type    { return TypeChallenge }
func (*Authenticate) Type() Type { return TypeAuthenticate }
func (*Goodbye) Type() Type      { return TypeGoodbye }
func (*Error) Type() Type        { return TypeError }
func (*Publish) Type() Type      { return TypePublish }
func (*Published) Type() Type    { return TypePublished }
func (*Subscribe) Type() Type    { return TypeSubscribe }
func (*Subscribed) Type() Type   { return TypeSubscribed }
func (*Unsubscribe) Type() Type  { return TypeUnsubscribe }
func (*Unsubscribed) Type() Type { return TypeUnsubscribed }
func (*Event) Type() Type        { return TypeEvent }
func (*Call) Type() Type         { return TypeCall }
func (*Cancel) Type() Type       { return TypeCancel }
func (*Result) Type() Type       { return TypeResult }
func (*Register) Type() Type     { return TypeRegister }
func (*Registered) Type() Type   { return TypeRegistered }
func (*Unregister) Type() Type   { return TypeUnregister }
func (*Unregistered) Type() Type { return TypeUnregistered }
func (*Invocation) Type() Type   { return TypeInvocation }
func (*Interrupt) Type() Type    { return TypeInterrupt }
func (*Yield) Type() Type        { return TypeYield }

// New returns a new, empty message of type t, or nil if t is unknown.
func New(t Type) Message {
	switch t {
	case TypeHello:
		return new(Hello)
	case TypeWelcome:
		return new(Welcome)
	case TypeAbort:
		return new(Abort)
	case TypeChallenge:
		return new(Challenge)
	case TypeAuthenticate:
		return new(Authenticate)
	case TypeGoodbye:
		return new(Goodbye)
	case TypeError:
		return new(Error)
	case TypePublish:
		return new(Publish)
	case TypePublished:
		return new(Published)
	case TypeSubscribe:
		return new(Subscribe)
	case TypeSubscribed:
		return new(Subscribed)
	case TypeUnsubscribe:
		return new(Unsubscribe)
	case TypeUnsubscribed:
		return new(Unsubscribed)
	case TypeEvent:
		return new(Event)
	case TypeCall:
		return new(Call)
	case TypeCancel:
		return new(Cancel)
	case TypeResult:
		return new(Result)
	case TypeRegister:
		return new(Register)
	case TypeRegistered:
		return new(Registered)
	case TypeUnregister:
		return new(Unregister)
	case TypeUnregistered:
		return new(Unregistered)
	case TypeInvocation:
		return new(Invocation)
	case TypeInterrupt:
		return new(Interrupt)
	case TypeYield:
		return new(Yield)
	}
	return nil
}

// TypeOf reads the type code of an encoded message without decoding the
// rest, so a reader can dispatch to a reused message struct.
func TypeOf(msg []byte) (Type, error) {
	// The common case first: a fixarray whose type code is a fixint.
	if len(msg) >= 2 && msg[0] > 0x90 && msg[0] <= 0x9f && msg[1] <= 0x7f {
		if t := Type(msg[1]); t.Known() {
			return t, nil
		}
	}
	if !isArray(msg) {
		if len(msg) == 0 {
			return 0, &SyntaxError{Serializer: "msgpack", Err: errShort}
		}
		return 0, &ElementError{Name: "message", Want: "list", Got: kindOf(msg)}
	}
	hdr, n, err := header(msg)
	if err != nil {
		return 0, &SyntaxError{Serializer: "msgpack", Err: err}
	}
	code, _, ok := readUint(msg[hdr:])
	if !ok || n == 0 {
		return 0, badTypeCode(msg, msg[hdr:], n > 0)
	}
	if t := Type(code); t.Known() {
		return t, nil
	}
	return 0, &UnknownTypeError{Code: code}
}

// Decode decodes any message, allocating a new struct for it. The
// router's hot path uses TypeOf and reused structs instead.
func Decode(msg []byte) (Message, error) {
	t, err := TypeOf(msg)
	if err != nil {
		return nil, err
	}
	m := New(t)
	if err := m.Decode(msg); err != nil {
		return nil, err
	}
	return m, nil
}

func (m *Hello) Decode(b []byte) error {
	var e elements
	e.open(b, TypeHello)
	m.Realm = e.str("Realm")
	m.Details = e.dict("Details")
	return e.done()
}

func (m *Hello) Append(b []byte) []byte {
	b = appendHead(b, TypeHello, 3)
	b = appendStr(b, m.Realm)
	return appendDict(b, m.Details)
}

func (m *Welcome) Decode(b []byte) error {
	var e elements
	e.open(b, TypeWelcome)
	m.Session = e.id("Session")
	m.Details = e.dict("Details")
	return e.done()
}

func (m *Welcome) Append(b []byte) []byte {
	b = appendHead(b, TypeWelcome, 3)
	b = appendUint(b, m.Session)
	return appendDict(b, m.Details)
}

func (m *Abort) Decode(b []byte) error {
	var e elements
	e.open(b, TypeAbort)
	m.Details = e.dict("Details")
	m.Reason = e.str("Reason")
	m.Args, m.Kwargs = e.payload()
	return e.done()
}

func (m *Abort) Append(b []byte) []byte {
	b = appendHead(b, TypeAbort, 3+payloadLen(m.Args, m.Kwargs))
	b = appendDict(b, m.Details)
	b = appendStr(b, m.Reason)
	return appendPayload(b, m.Args, m.Kwargs)
}

func (m *Challenge) Decode(b []byte) error {
	var e elements
	e.open(b, TypeChallenge)
	m.AuthMethod = e.str("AuthMethod")
	m.Extra = e.dict("Extra")
	return e.done()
}

func (m *Challenge) Append(b []byte) []byte {
	b = appendHead(b, TypeChallenge, 3)
	b = appendStr(b, m.AuthMethod)
	return appendDict(b, m.Extra)
}

func (m *Authenticate) Decode(b []byte) error {
	var e elements
	e.open(b, TypeAuthenticate)
	m.Signature = e.str("Signature")
	m.Extra = e.dict("Extra")
	return e.done()
}

func (m *Authenticate) Append(b []byte) []byte {
	b = appendHead(b, TypeAuthenticate, 3)
	b = appendStr(b, m.Signature)
	return appendDict(b, m.Extra)
}

func (m *Goodbye) Decode(b []byte) error {
	var e elements
	e.open(b, TypeGoodbye)
	m.Details = e.dict("Details")
	m.Reason = e.str("Reason")
	return e.done()
}

func (m *Goodbye) Append(b []byte) []byte {
	b = appendHead(b, TypeGoodbye, 3)
	b = appendDict(b, m.Details)
	return appendStr(b, m.Reason)
}

func (m *Error) Decode(b []byte) error {
	var e elements
	e.open(b, TypeError)
	m.RequestType = Type(e.integer("REQUEST.Type"))
	m.Request = e.id("REQUEST.Request")
	m.Details = e.dict("Details")
	m.Error = e.str("Error")
	m.Args, m.Kwargs = e.payload()
	return e.done()
}

func (m *Error) Append(b []byte) []byte {
	b = appendHead(b, TypeError, 5+payloadLen(m.Args, m.Kwargs))
	b = appendUint(b, uint64(m.RequestType))
	b = appendUint(b, m.Request)
	b = appendDict(b, m.Details)
	b = appendStr(b, m.Error)
	return appendPayload(b, m.Args, m.Kwargs)
}

func (m *Publish) Decode(b []byte) error {
	if id, opts, topic, args, ok := readCommon(b, TypePublish); ok {
		m.Request, m.Options, m.Topic, m.Args, m.Kwargs = id, opts, topic, args, nil
		return nil
	}
	var e elements
	e.open(b, TypePublish)
	m.Request = e.id("Request")
	m.Options = e.dict("Options")
	m.Topic = e.str("Topic")
	m.Args, m.Kwargs = e.payload()
	return e.done()
}

func (m *Publish) Append(b []byte) []byte {
	b = appendHead(b, TypePublish, 4+payloadLen(m.Args, m.Kwargs))
	b = appendUint(b, m.Request)
	b = appendDict(b, m.Options)
	b = appendStr(b, m.Topic)
	return appendPayload(b, m.Args, m.Kwargs)
}

func (m *Published) Decode(b []byte) error {
	var e elements
	e.open(b, TypePublished)
	m.Request = e.id("Request")
	m.Publication = e.id("Publication")
	return e.done()
}

func (m *Published) Append(b []byte) []byte {
	b = appendHead(b, TypePublished, 3)
	b = appendUint(b, m.Request)
	return appendUint(b, m.Publication)
}

func (m *Subscribe) Decode(b []byte) error {
	var e elements
	e.open(b, TypeSubscribe)
	m.Request = e.id("Request")
	m.Options = e.dict("Options")
	m.Topic = e.str("Topic")
	return e.done()
}

func (m *Subscribe) Append(b []byte) []byte {
	b = appendHead(b, TypeSubscribe, 4)
	b = appendUint(b, m.Request)
	b = appendDict(b, m.Options)
	return appendStr(b, m.Topic)
}

func (m *Subscribed) Decode(b []byte) error {
	var e elements
	e.open(b, TypeSubscribed)
	m.Request = e.id("Request")
	m.Subscription = e.id("Subscription")
	return e.done()
}

func (m *Subscribed) Append(b []byte) []byte {
	b = appendHead(b, TypeSubscribed, 3)
	b = appendUint(b, m.Request)
	return appendUint(b, m.Subscription)
}

func (m *Unsubscribe) Decode(b []byte) error {
	var e elements
	e.open(b, TypeUnsubscribe)
	m.Request = e.id("Request")
	m.Subscription = e.id("Subscription")
	return e.done()
}

func (m *Unsubscribe) Append(b []byte) []byte {
	b = appendHead(b, TypeUnsubscribe, 3)
	b = appendUint(b, m.Request)
	return appendUint(b, m.Subscription)
}

func (m *Unsubscribed) Decode(b []byte) error {
	var e elements
	e.open(b, TypeUnsubscribed)
	m.Request, m.Details = e.revocable()
	return e.done()
}

func (m *Unsubscribed) Append(b []byte) []byte {
	return appendRevocable(b, TypeUnsubscribed, m.Request, m.Details)
}

func (m *Event) Decode(b []byte) error {
	var e elements
	e.open(b, TypeEvent)
	m.Subscription = e.id("Subscription")
	m.Publication = e.id("Publication")
	m.Details = e.dict("Details")
	m.Args, m.Kwargs = e.payload()
	return e.done()
}

func (m *Event) Append(b []byte) []byte {
	b = appendHead(b, TypeEvent, 4+payloadLen(m.Args, m.Kwargs))
	b = appendUint(b, m.Subscription)
	b = appendUint(b, m.Publication)
	b = appendDict(b, m.Details)
	return appendPayload(b, m.Args, m.Kwargs)
}

func (m *Call) Decode(b []byte) error {
	if id, opts, procedure, args, ok := readCommon(b, TypeCall); ok {
		m.Request, m.Options, m.Procedure, m.Args, m.Kwargs = id, opts, procedure, args, nil
		return nil
	}
	var e elements
	e.open(b, TypeCall)
	m.Request = e.id("Request")
	m.Options = e.dict("Options")
	m.Procedure = e.str("Procedure")
	m.Args, m.Kwargs = e.payload()
	return e.done()
}

func (m *Call) Append(b []byte) []byte {
	b = appendHead(b, TypeCall, 4+payloadLen(m.Args, m.Kwargs))
	b = appendUint(b, m.Request)
	b = appendDict(b, m.Options)
	b = appendStr(b, m.Procedure)
	return appendPayload(b, m.Args, m.Kwargs)
}

func (m *Cancel) Decode(b []byte) error {
	var e elements
	e.open(b, TypeCancel)
	m.Request = e.id("Request")
	m.Options = e.dict("Options")
	return e.done()
}

func (m *Cancel) Append(b []byte) []byte {
	b = appendHead(b, TypeCancel, 3)
	b = appendUint(b, m.Request)
	return appendDict(b, m.Options)
}

func (m *Result) Decode(b []byte) error {
	var e elements
	e.open(b, TypeResult)
	m.Request = e.id("Request")
	m.Details = e.dict("Details")
	m.Args, m.Kwargs = e.payload()
	return e.done()
}

func (m *Result) Append(b []byte) []byte {
	b = appendHead(b, TypeResult, 3+payloadLen(m.Args, m.Kwargs))
	b = appendUint(b, m.Request)
	b = appendDict(b, m.Details)
	return appendPayload(b, m.Args, m.Kwargs)
}

func (m *Register) Decode(b []byte) error {
	var e elements
	e.open(b, TypeRegister)
	m.Request = e.id("Request")
	m.Options = e.dict("Options")
	m.Procedure = e.str("Procedure")
	return e.done()
}

func (m *Register) Append(b []byte) []byte {
	b = appendHead(b, TypeRegister, 4)
	b = appendUint(b, m.Request)
	b = appendDict(b, m.Options)
	return appendStr(b, m.Procedure)
}

func (m *Registered) Decode(b []byte) error {
	var e elements
	e.open(b, TypeRegistered)
	m.Request = e.id("Request")
	m.Registration = e.id("Registration")
	return e.done()
}

func (m *Registered) Append(b []byte) []byte {
	b = appendHead(b, TypeRegistered, 3)
	b = appendUint(b, m.Request)
	return appendUint(b, m.Registration)
}

func (m *Unregister) Decode(b []byte) error {
	var e elements
	e.open(b, TypeUnregister)
	m.Request = e.id("Request")
	m.Registration = e.id("Registration")
	return e.done()
}

func (m *Unregister) Append(b []byte) []byte {
	b = appendHead(b, TypeUnregister, 3)
	b = appendUint(b, m.Request)
	return appendUint(b, m.Registration)
}

func (m *Unregistered) Decode(b []byte) error {
	var e elements
	e.open(b, TypeUnregistered)
	m.Request, m.Details = e.revocable()
	return e.done()
}

func (m *Unregistered) Append(b []byte) []byte {
	return appendRevocable(b, TypeUnregistered, m.Request, m.Details)
}

func (m *Invocation) Decode(b []byte) error {
	var e elements
	e.open(b, TypeInvocation)
	m.Request = e.id("Request")
	m.Registration = e.id("Registration")
	m.Details = e.dict("Details")
	m.Args, m.Kwargs = e.payload()
	return e.done()
}

func (m *Invocation) Append(b []byte) []byte {
	b = appendHead(b, TypeInvocation, 4+payloadLen(m.Args, m.Kwargs))
	b = appendUint(b, m.Request)
	b = appendUint(b, m.Registration)
	b = appendDict(b, m.Details)
	return appendPayload(b, m.Args, m.Kwargs)
}

func (m *Interrupt) Decode(b []byte) error {
	var e elements
	e.open(b, TypeInterrupt)
	m.Request = e.id("Request")
	m.Options = e.dict("Options")
	return e.done()
}

func (m *Interrupt) Append(b []byte) []byte {
	b = appendHead(b, TypeInterrupt, 3)
	b = appendUint(b, m.Request)
	return appendDict(b, m.Options)
}

func (m *Yield) Decode(b []byte) error {
	var e elements
	e.open(b, TypeYield)
	m.Request = e.id("Request")
	m.Options = e.dict("Options")
	m.Args, m.Kwargs = e.payload()
	return e.done()
}

func (m *Yield) Append(b []byte) []byte {
	b = appendHead(b, TypeYield, 3+payloadLen(m.Args, m.Kwargs))
	b = appendUint(b, m.Request)
	b = appendDict(b, m.Options)
	return appendPayload(b, m.Args, m.Kwargs)
}

// revocable reads the Request of UNSUBSCRIBED or UNREGISTERED, which is 0
// exactly in the revocation form, where Details follows.
func (e *elements) revocable() (request uint64, details []byte) {
	if e.n == 2 {
		return e.id("Request"), nil
	}
	request = e.integer("Request")
	if e.err == nil && request != 0 {
		e.err = &ElementError{Type: e.t, Index: 1, Name: "Request", Want: "0 in the revocation form", Got: "an id"}
	}
	return request, e.dict("Details")
}

func appendRevocable(b []byte, t Type, request uint64, details []byte) []byte {
	if request != 0 {
		b = appendHead(b, t, 2)
		return appendUint(b, request)
	}
	b = appendHead(b, t, 3)
	b = appendUint(b, 0)
	return appendDict(b, details)
}
