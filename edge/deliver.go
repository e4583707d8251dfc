package edge

import (
	"errors"
	"time"

	"github.com/wampedge/wampedge/codec"
)

// Why a message could not be queued for a session.
var (
	errGone     = errors.New("the session is gone")
	errTooLarge = errors.New("the message is larger than the peer accepts")
	errFull     = errors.New("the peer's outbound queue is full (slow consumer)")
)

// deliveryErrorURI is the ERROR a caller gets when its call or result
// could not be delivered.
func deliveryErrorURI(err error) string {
	switch {
	case errors.Is(err, errTooLarge):
		return errPayloadSizeExceeded
	case errors.Is(err, errGone):
		return errCanceled
	case errors.Is(err, codec.ErrInvalid): // no form in the peer's serializer (NaN for JSON)
		return errInvalidArgument
	}
	return errNetworkFailure
}

// outgoing is a message on its way out, in MessagePack and, made at most
// once, in JSON: a publish to a hundred JSON subscribers transcodes once.
type outgoing struct {
	msg     []byte // MessagePack
	json    []byte
	jsonSet bool
	jsonErr error
}

func (o *outgoing) set(msg []byte) {
	o.msg, o.json, o.jsonSet, o.jsonErr = msg, o.json[:0], false, nil
}

// wire returns the message in serializer ser; enc transcodes.
func (o *outgoing) wire(ser codec.Serializer, enc func() codec.Codec) ([]byte, error) {
	if ser == codec.MsgPack {
		return o.msg, nil
	}
	if !o.jsonSet {
		o.json, o.jsonErr = enc().Encode(o.json[:0], o.msg)
		o.jsonSet = true
	}
	return o.json, o.jsonErr
}

// jsonCodec is the reader's own JSON encoder, made on first use.
func (s *session) jsonCodec() codec.Codec {
	if s.json == nil {
		s.json = codec.NewCodec(codec.JSON)
	}
	return s.json
}

// deliver sends o to dest in dest's serializer: an event is staged for
// the end of the burst (burst.go), anything else queued now, after what
// was staged. Errors come back at once for what is not staged; a staged
// event that cannot be queued counts as dropped.
func (s *session) deliver(dest *session, o *outgoing, event bool) error {
	wire, err := o.wire(dest.codec.Serializer(), s.jsonCodec)
	if err != nil {
		return err
	}
	if len(wire) > dest.t.MaxSend() {
		return errTooLarge
	}
	if event {
		s.stageEvent(dest, wire)
		return nil
	}
	s.commitRuns()
	return s.push(dest, wire, event)
}

// push queues wire for dest and marks dest to be written to at the next
// flush. A full queue disconnects dest, or for events under the drop
// policy drops the event.
func (s *session) push(dest *session, wire []byte, event bool) error {
	res := dest.q.push(wire)
	if res == full && s.waitForRoom(dest) {
		res = dest.q.push(wire)
	}
	switch res {
	case closed:
		return errGone
	case full:
		if !(event && s.router.cfg.SlowConsumer == DropEvents) {
			dest.kill("slow consumer: outbound queue full")
		}
		return errFull
	}
	s.markDirty(dest)
	return nil
}

// replyLast sends the session's last message to its own peer, ABORT or
// GOODBYE, after which nothing is queued for it: not the ERRORs its
// leaving gives the calls it made to itself, nor an event another
// session publishes meanwhile.
func (s *session) replyLast(m codec.Message) {
	s.commitRuns()
	s.out.set(m.Append(s.out.msg[:0]))
	if wire, err := s.out.wire(s.codec.Serializer(), s.jsonCodec); err == nil && len(wire) <= s.t.MaxSend() && s.q.pushLast(wire) == queued {
		s.markDirty(s)
	}
}

// postLast is the router's GOODBYE to a session, from any goroutine:
// the session's last message, as replyLast.
func (r *Router) postLast(dest *session, m codec.Message) {
	if wire, ok := wireFor(dest, m); ok && dest.q.pushLast(wire) == queued {
		dest.kick()
	}
}

// wireFor is m as dest's peer reads it, in a buffer of its own: for the
// router's own last words to a session, from any goroutine.
func wireFor(dest *session, m codec.Message) ([]byte, bool) {
	wire := m.Append(nil)
	if ser := dest.codec.Serializer(); ser != codec.MsgPack {
		var err error
		if wire, err = codec.NewCodec(ser).Encode(nil, wire); err != nil {
			return nil, false
		}
	}
	return wire, true
}

// waitForRoom holds this session's reader — and so the peer sending to
// dest — until dest's writer has taken its queue, for at most
// SlowConsumerWait since dest's queue filled: a consumer that is slower
// for a moment slows its producers down instead of losing messages; one
// that stays stuck meets the slow-consumer policy once the wait is over,
// and at once for every later message. It reports whether there is room.
func (s *session) waitForRoom(dest *session) bool {
	wait := s.router.cfg.SlowConsumerWait
	if wait <= 0 || dest == s {
		return false
	}
	since, room := dest.q.waitRoom()
	if room == nil {
		return true
	}
	left := wait - time.Since(since)
	if left <= 0 {
		return false
	}
	s.flush() // send what this session has queued, to dest too
	t := time.NewTimer(left)
	defer t.Stop()
	select {
	case <-room:
		return true
	case <-t.C:
		return false
	}
}

// kill disconnects a slow consumer from outside its own goroutines. A
// transport that can abort drops what the peer left unread at once,
// after an ABORT that says why if it fits without waiting; any other is
// closed.
func (s *session) kill(reason string) {
	if s.killed.Swap(true) {
		return
	}
	s.router.slowKills.Add(1)
	s.logger().Warn("session disconnected", "reason", reason)
	if a, ok := s.t.(aborter); ok {
		d, _ := (&codec.CloseDetails{Message: reason}).MarshalMsg(nil)
		if wire, ok := wireFor(s, &codec.Abort{Details: d, Reason: []byte(errSlowConsumer)}); ok {
			a.Abort(wire)
			return
		}
	}
	s.t.Close()
}

// newID is a router-scope ID for subscriptions and registrations.
func (r *Router) newID() uint64 { return r.nextID.Add(1) }
