package loadgen

import (
	"fmt"
	"time"

	"github.com/wampedge/wampedge/codec"
)

// Procedure is the one procedure of the RPC patterns.
const Procedure = "bench.echo"

// Answer runs a callee on c until c closes: it answers every frame, an
// INVOCATION or the relay's forwarded CALL, with a YIELD of args for the
// same request ID, one write per burst read. The channel gets the
// reason it stopped.
func Answer(c *Conn, args []byte) <-chan error {
	done := make(chan error, 1)
	go func() {
		var out []byte
		var bad error
		y := codec.Yield{Args: args}
		answer := func(f []byte) {
			id, err := RequestID(f)
			if err != nil {
				bad = err
				return
			}
			y.Request = id
			out = AppendWAMP(out, &y)
		}
		for {
			if _, err := c.ReadBurst(answer); err != nil {
				done <- err
				return
			}
			if bad != nil {
				done <- bad
				c.Close()
				return
			}
			if len(out) > 0 {
				if err := c.Write(out); err != nil {
					done <- err
					return
				}
				out = out[:0]
			}
		}
	}()
	return done
}

// CallSequential calls Procedure on c one call at a time for d, or
// max calls, and returns each round trip.
func CallSequential(c *Conn, args []byte, d time.Duration, maxCalls int) ([]time.Duration, error) {
	call := codec.Call{Procedure: []byte(Procedure), Args: args}
	rtts := make([]time.Duration, 0, min(maxCalls, 1<<16))
	stop := time.Now().Add(d)
	c.SetDeadline(stop.Add(5 * time.Second))
	defer c.SetDeadline(time.Time{})
	var frame []byte
	for req := uint64(1); len(rtts) < maxCalls && time.Now().Before(stop); req++ {
		call.Request = req
		frame = AppendWAMP(frame[:0], &call)
		sent := time.Now()
		if err := c.Write(frame); err != nil {
			return rtts, err
		}
		f, err := c.ReadFrame()
		if err != nil {
			return rtts, err
		}
		rtts = append(rtts, time.Since(sent))
		if err := checkReply(f, req); err != nil {
			return rtts, err
		}
	}
	return rtts, nil
}

// CallPipelined keeps outstanding calls to Procedure in flight on c for
// d, a new call for each reply, all the calls of one burst of replies in
// one write; then it waits for the last replies. It returns the calls
// answered and the time they took.
func CallPipelined(c *Conn, args []byte, outstanding int, d time.Duration) (int64, time.Duration, error) {
	call := codec.Call{Procedure: []byte(Procedure), Args: args}
	start := time.Now()
	stop := start.Add(d)
	c.SetDeadline(stop.Add(5 * time.Second))
	defer c.SetDeadline(time.Time{})
	var out []byte
	var req uint64
	next := func() {
		req++
		call.Request = req
		out = AppendWAMP(out, &call)
	}
	for range outstanding {
		next()
	}
	if err := c.Write(out); err != nil {
		return 0, 0, err
	}
	var answered int64
	var bad error
	inFlight, more := outstanding, true
	reply := func(f []byte) {
		if err := checkReply(f, 0); err != nil {
			bad = err
		}
		answered++
		inFlight--
		if more {
			next()
			inFlight++
		}
	}
	for inFlight > 0 {
		out = out[:0]
		more = time.Now().Before(stop)
		if _, err := c.ReadBurst(reply); err != nil {
			return answered, time.Since(start), err
		}
		if bad != nil {
			return answered, time.Since(start), bad
		}
		if len(out) > 0 {
			if err := c.Write(out); err != nil {
				return answered, time.Since(start), err
			}
		}
	}
	return answered, time.Since(start), nil
}

// checkReply fails on an ERROR, and on a reply to another request than
// want (0: any).
func checkReply(f []byte, want uint64) error {
	if t, err := codec.TypeOf(f[4:]); err != nil {
		return err
	} else if t == codec.TypeError || t == codec.TypeAbort || t == codec.TypeGoodbye {
		return fmt.Errorf("call failed: %v %s", t, describe(f[4:]))
	}
	if want == 0 {
		return nil
	}
	id, err := RequestID(f)
	if err != nil {
		return err
	}
	if id != want {
		return fmt.Errorf("reply to request %d, want %d", id, want)
	}
	return nil
}
