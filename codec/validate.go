package codec

// Validate checks the dicts of a decoded message against their typed
// structs (types and the values WAMP constrains), and that a payload which
// is not a list comes with passthru options. Decode has already checked
// the element layout; Validate is the rest of what makes a message a
// protocol violation. The router decodes the dicts it routes on itself,
// so it calls Validate only off the hot path.
func Validate(m Message) error {
	var p Passthru
	passthru := func(t Type, element string, dict, args []byte) error {
		if err := p.Decode(t, element, dict); err != nil {
			return err
		}
		return CheckPayload(t, element, dict, args)
	}
	switch m := m.(type) {
	case *Hello:
		var d HelloDetails
		return d.Decode(m.Details)
	case *Welcome:
		var d WelcomeDetails
		return d.Decode(m.Details)
	case *Abort:
		var d CloseDetails
		return d.Decode(TypeAbort, m.Details)
	case *Goodbye:
		var d CloseDetails
		return d.Decode(TypeGoodbye, m.Details)
	case *Challenge:
		var x ChallengeExtra
		return x.Decode(m.Extra)
	case *Error:
		return passthru(TypeError, "Details", m.Details, m.Args)
	case *Publish:
		var o PublishOptions
		if err := o.Decode(m.Options); err != nil {
			return err
		}
		return passthru(TypePublish, "Options", m.Options, m.Args)
	case *Subscribe:
		var o SubscribeOptions
		return o.Decode(m.Options)
	case *Event:
		var d EventDetails
		if err := d.Decode(m.Details); err != nil {
			return err
		}
		return passthru(TypeEvent, "Details", m.Details, m.Args)
	case *Call:
		var o CallOptions
		if err := o.Decode(m.Options); err != nil {
			return err
		}
		return passthru(TypeCall, "Options", m.Options, m.Args)
	case *Cancel:
		var o CancelOptions
		return o.Decode(TypeCancel, m.Options)
	case *Interrupt:
		var o CancelOptions
		return o.Decode(TypeInterrupt, m.Options)
	case *Result:
		var d ResultDetails
		if err := d.Decode(m.Details); err != nil {
			return err
		}
		return passthru(TypeResult, "Details", m.Details, m.Args)
	case *Register:
		var o RegisterOptions
		return o.Decode(m.Options)
	case *Invocation:
		var d InvocationDetails
		if err := d.Decode(m.Details); err != nil {
			return err
		}
		return passthru(TypeInvocation, "Details", m.Details, m.Args)
	case *Yield:
		var o YieldOptions
		if err := o.Decode(m.Options); err != nil {
			return err
		}
		return passthru(TypeYield, "Options", m.Options, m.Args)
	}
	return nil
}

// CheckPayload checks that Arguments (args) is a list, or else a single
// binary or string payload announced by passthru keys in dict, the
// message's Options or Details (element names it in errors). It costs
// nothing for a list.
func CheckPayload(t Type, element string, dict, args []byte) error {
	if len(args) == 0 || isArray(args) {
		return nil
	}
	var p Passthru
	if err := p.Decode(t, element, dict); err != nil {
		return err
	}
	if !p.Active() {
		return &ElementError{Type: t, Index: types[t].min, Name: "Arguments", Want: "list (or passthru options)", Got: kindOf(args)}
	}
	return nil
}
