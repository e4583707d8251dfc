package edge

// WAMP URIs the router sends (WAMP.md §2.4, §2.5, §4.3).
const (
	errProtocolViolation    = "wamp.error.protocol_violation"
	errNoSuchRealm          = "wamp.error.no_such_realm"
	errInvalidURI           = "wamp.error.invalid_uri"
	errNoSuchProcedure      = "wamp.error.no_such_procedure"
	errProcedureExists      = "wamp.error.procedure_already_exists"
	errNoSuchSubscription   = "wamp.error.no_such_subscription"
	errNoSuchRegistration   = "wamp.error.no_such_registration"
	errNoSuchSession        = "wamp.error.no_such_session"
	errCanceled             = "wamp.error.canceled"
	errPayloadSizeExceeded  = "wamp.error.payload_size_exceeded"
	errOptionNotAllowed     = "wamp.error.option_not_allowed"
	errNoMatchingAuthMethod = "wamp.error.no_matching_auth_method"
	errInvalidArgument      = "wamp.error.invalid_argument"
	errNetworkFailure       = "wamp.error.network_failure"
	errAuthenticationFailed = "wamp.error.authentication_failed"
	errNotAuthorized        = "wamp.error.not_authorized"
	errTimeout              = "wamp.error.timeout"
	errFeatureNotSupported  = "wamp.error.feature_not_supported"
	closeGoodbyeAndOut      = "wamp.close.goodbye_and_out"
	closeSystemShutdown     = "wamp.close.system_shutdown"

	// Limits (no WAMP URI says these): a clear name, and a message with
	// the number.
	errTooManySessions      = "wampedge.error.too_many_sessions"
	errTooManySubscriptions = "wampedge.error.too_many_subscriptions"
	errTooManyRegistrations = "wampedge.error.too_many_registrations"
	errTooManyCalls         = "wampedge.error.too_many_calls"
	errSlowConsumer         = "wampedge.error.slow_consumer"
)
