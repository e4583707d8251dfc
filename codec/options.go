package codec

//go:generate go tool msgp -file options.go -o options_gen.go -io=false -tests=false

//msgp:limit arrays:256 maps:256

// The dictionaries WAMP messages carry in their Options, Details and Extra
// elements, as typed structs with msgp-generated MessagePack code. Keys are
// the spec's; unknown keys are skipped on decode (WAMP.md §1.1). Every field
// is omitted when empty, so a zero struct encodes as {}.

// Role is one entry of HELLO.Details.roles or WELCOME.Details.roles.
type Role struct {
	Features map[string]bool `msg:"features,omitempty"`
}

// HelloDetails is HELLO.Details (WAMP.md §2.2).
type HelloDetails struct {
	Roles       map[string]Role `msg:"roles"`
	Agent       string          `msg:"agent,omitempty"`
	AuthMethods []string        `msg:"authmethods,omitempty"`
	AuthID      string          `msg:"authid,omitempty"`
	AuthRole    string          `msg:"authrole,omitempty"`
	AuthExtra   map[string]any  `msg:"authextra,omitempty"`
}

// WelcomeDetails is WELCOME.Details (WAMP.md §2.3).
type WelcomeDetails struct {
	Roles        map[string]Role `msg:"roles"`
	Realm        string          `msg:"realm,omitempty"`
	AuthID       string          `msg:"authid,omitempty"`
	AuthRole     string          `msg:"authrole,omitempty"`
	AuthMethod   string          `msg:"authmethod,omitempty"`
	AuthProvider string          `msg:"authprovider,omitempty"`
	AuthExtra    map[string]any  `msg:"authextra,omitempty"`
	Agent        string          `msg:"agent,omitempty"`
}

// CloseDetails is the Details of ABORT and GOODBYE: a readable message.
type CloseDetails struct {
	Message string `msg:"message,omitempty"`
}

// ForwardFor is one hop of the router-to-router `forward_for` option.
type ForwardFor struct {
	Session  uint64 `msg:"session"`
	AuthID   string `msg:"authid,omitempty"`
	AuthRole string `msg:"authrole,omitempty"`
}

// Passthru holds the payload passthru options (ppt_*) and the older
// end-to-end encryption names (enc_*) that Autobahn still sends
// (WAMP.md §8.5). They may stand in the Options or Details of PUBLISH,
// EVENT, CALL, INVOCATION, YIELD, RESULT and ERROR, and are decoded from
// the same dict as the message's own options. When any is set, Arguments
// may be a single binary or string payload instead of a list.
type Passthru struct {
	PPTScheme     string `msg:"ppt_scheme,omitempty"`
	PPTSerializer string `msg:"ppt_serializer,omitempty"`
	PPTCipher     string `msg:"ppt_cipher,omitempty"`
	PPTKeyID      string `msg:"ppt_keyid,omitempty"`
	EncAlgo       string `msg:"enc_algo,omitempty"`
	EncSerializer string `msg:"enc_serializer,omitempty"`
	EncKey        string `msg:"enc_key,omitempty"`
}

// PublishOptions is PUBLISH.Options (WAMP.md §5.1, §8.2).
type PublishOptions struct {
	Acknowledge      bool         `msg:"acknowledge,omitempty"`
	ExcludeMe        Flag         `msg:"exclude_me,omitzero"`
	Exclude          []uint64     `msg:"exclude,omitempty"`
	ExcludeAuthID    []string     `msg:"exclude_authid,omitempty"`
	ExcludeAuthRole  []string     `msg:"exclude_authrole,omitempty"`
	Eligible         []uint64     `msg:"eligible,omitempty"`
	EligibleAuthID   []string     `msg:"eligible_authid,omitempty"`
	EligibleAuthRole []string     `msg:"eligible_authrole,omitempty"`
	Retain           bool         `msg:"retain,omitempty"`
	DiscloseMe       bool         `msg:"disclose_me,omitempty"`
	TransactionHash  string       `msg:"transaction_hash,omitempty"`
	ForwardFor       []ForwardFor `msg:"forward_for,omitempty"`
}

// SubscribeOptions is SUBSCRIBE.Options.
type SubscribeOptions struct {
	Match       string       `msg:"match,omitempty"`
	GetRetained bool         `msg:"get_retained,omitempty"`
	ForwardFor  []ForwardFor `msg:"forward_for,omitempty"`
}

// EventDetails is EVENT.Details.
type EventDetails struct {
	Publisher             uint64       `msg:"publisher,omitempty"`
	PublisherAuthID       string       `msg:"publisher_authid,omitempty"`
	PublisherAuthRole     string       `msg:"publisher_authrole,omitempty"`
	Topic                 string       `msg:"topic,omitempty"`
	Retained              bool         `msg:"retained,omitempty"`
	TransactionHash       string       `msg:"transaction_hash,omitempty"`
	XAcknowledgedDelivery bool         `msg:"x_acknowledged_delivery,omitempty"`
	ForwardFor            []ForwardFor `msg:"forward_for,omitempty"`
}

// RegisterOptions is REGISTER.Options.
type RegisterOptions struct {
	Match          string       `msg:"match,omitempty"`
	Invoke         string       `msg:"invoke,omitempty"`
	DiscloseCaller bool         `msg:"disclose_caller,omitempty"`
	ForwardTimeout bool         `msg:"forward_timeout,omitempty"`
	ForwardFor     []ForwardFor `msg:"forward_for,omitempty"`
}

// CallOptions is CALL.Options.
type CallOptions struct {
	Timeout         uint64       `msg:"timeout,omitempty"`
	ReceiveProgress bool         `msg:"receive_progress,omitempty"`
	Progress        bool         `msg:"progress,omitempty"`
	DiscloseMe      bool         `msg:"disclose_me,omitempty"`
	ForwardFor      []ForwardFor `msg:"forward_for,omitempty"`
}

// InvocationDetails is INVOCATION.Details.
type InvocationDetails struct {
	Caller          uint64       `msg:"caller,omitempty"`
	CallerAuthID    string       `msg:"caller_authid,omitempty"`
	CallerAuthRole  string       `msg:"caller_authrole,omitempty"`
	Procedure       string       `msg:"procedure,omitempty"`
	ReceiveProgress bool         `msg:"receive_progress,omitempty"`
	Progress        bool         `msg:"progress,omitempty"`
	Timeout         uint64       `msg:"timeout,omitempty"`
	ForwardFor      []ForwardFor `msg:"forward_for,omitempty"`
}

// YieldOptions is YIELD.Options.
type YieldOptions struct {
	Progress bool `msg:"progress,omitempty"`
}

// ResultDetails is RESULT.Details.
type ResultDetails struct {
	Progress bool `msg:"progress,omitempty"`
}

// CancelOptions is CANCEL.Options and INTERRUPT.Options.
type CancelOptions struct {
	Mode   string `msg:"mode,omitempty"`
	Reason string `msg:"reason,omitempty"`
}

// ChallengeExtra is CHALLENGE.Extra for ticket, wampcra and cryptosign.
type ChallengeExtra struct {
	Challenge      string `msg:"challenge,omitempty"`
	Salt           string `msg:"salt,omitempty"`
	KeyLen         uint64 `msg:"keylen,omitempty"`
	Iterations     uint64 `msg:"iterations,omitempty"`
	ChannelBinding string `msg:"channel_binding,omitempty"`
	PubKey         string `msg:"pubkey,omitempty"`
	Signature      string `msg:"signature,omitempty"`
}
