// Package codec holds WAMP's messages and their two serializers.
//
// Every message is a list whose element 0 is its type code (WAMP.md §1).
// This package gives each of the 24 messages the router speaks a Go type
// (Hello, Publish, Event, ...), decoded in place from MessagePack: IDs
// become uint64, URIs and strings stay []byte slices of the frame, and
// Options, Details and the Arguments/ArgumentsKw payload stay encoded
// bytes. Decoding a message therefore allocates nothing, and the router
// passes payloads on without ever looking inside them:
//
//	var pub codec.Publish
//	if err := pub.Decode(frame); err != nil { ... } // *ElementError, *CountError, ...
//	ev := codec.Event{Subscription: sub, Publication: id, Args: pub.Args, Kwargs: pub.Kwargs}
//	out = ev.Append(out[:0]) // same payload bytes, no decode
//
// Decode checks the layout of the spec: the element count for the type,
// and each element's type (id in [1, 2^53], uri, dict, list). The typed
// dicts (PublishOptions, HelloDetails, ...) are msgp-generated structs
// (options_gen.go, from `go generate`), decoded on demand with their
// Decode methods, which also check the values WAMP constrains; Validate
// runs all of a message's dict checks. Every error matches ErrInvalid
// and names the element or key that was wrong.
//
// MessagePack is the one form the router works in. JSON (WAMP.md §7.2) is
// a transcoder behind the Codec interface: a JSON frame becomes the same
// message in MessagePack and back, binary travelling as "\u0000"+base64.
// NewCodec(codec.JSON) and NewCodec(codec.MsgPack) give the codec for a
// RawSocket serializer id.
//
// No input makes a decoder recurse or allocate without bound: nesting is
// limited to MaxDepth, counts are checked against the bytes that remain
// before anything trusts them, and the generated dict code carries
// msgp:limit bounds.
package codec
