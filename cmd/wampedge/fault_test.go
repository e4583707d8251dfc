package main

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/wampedge/wampedge/codec"
	"github.com/wampedge/wampedge/edge/client"
	"github.com/wampedge/wampedge/rawsocket"
)

// TestSIGTERMUnderLoad (issue 9): the real binary gets SIGTERM while
// several clients publish with acknowledge as fast as they can, each
// with many publications in flight, to a subscriber. Every publication
// that got its PUBLISHED must have reached the subscriber before the
// router's GOODBYE ended its session — and nothing may come after that
// GOODBYE. Many rounds, since the signal lands at a different moment of
// the traffic each time: a router that sends a subscriber its GOODBYE
// while another session's reader is still routing a PUBLISH loses that
// event, in some rounds, after having acknowledged it.
func TestSIGTERMUnderLoad(t *testing.T) {
	const (
		rounds     = 20
		publishers = 12
		inFlight   = 32   // publications each publisher has in flight
		before     = 1000 // acknowledged publications before the signal
	)
	for round := range rounds {
		t.Run(fmt.Sprintf("round%d", round), func(t *testing.T) {
			tcpURL, unixURL, _ := endpoints(t)
			d := startDaemon(t, "-listen", tcpURL, "-listen", unixURL, "-mdns=false")
			waitReady(t, d.started, d.exited, tcpURL, unixURL)

			sub := newEventRecorder(t, unixURL, "load.topic")
			var acked sync.Map // "publisher/seq" of every publication acknowledged
			var total atomic.Int64
			var wg sync.WaitGroup
			for p := range publishers {
				url, ser := tcpURL, codec.MsgPack
				if p%2 == 1 {
					url = unixURL
				}
				if p >= 2 {
					ser = codec.JSON
				}
				c := mustJoin(t, url, "realm1", ser)
				wg.Add(1)
				go func() {
					defer wg.Done()
					window := make(chan struct{}, inFlight)
					for seq := 0; ; seq++ {
						window <- struct{}{}
						ack, err := c.PublishAck("load.topic", client.Args(p, seq), client.PublishOptions{})
						if err != nil { // the session is over
							return
						}
						wg.Add(1)
						go func() {
							defer wg.Done()
							defer func() { <-window }()
							switch err := <-ack; {
							case err == nil:
								acked.Store(fmt.Sprintf("%d/%d", p, seq), true)
								total.Add(1)
							case !errors.Is(err, client.ErrClosed):
								t.Errorf("publisher %d, publication %d: %v", p, seq, err)
							}
						}()
					}
				}()
			}
			deadline := time.Now().Add(waitTimeout)
			for total.Load() < before {
				if time.Now().After(deadline) {
					t.Fatalf("only %d publications acknowledged after %v", total.Load(), waitTimeout)
				}
				time.Sleep(time.Millisecond)
			}
			d.signal(t, syscall.SIGTERM)
			if code := d.wait(t); code != 0 {
				t.Errorf("exit status %d after SIGTERM, want 0", code)
			}
			wg.Wait()
			got := sub.wait(t)

			lost, inFlight := 0, 0
			acked.Range(func(k, _ any) bool {
				if !got.events[k.(string)] {
					lost++
					if lost <= 5 {
						t.Errorf("publication %s was acknowledged but never delivered", k)
					}
				}
				return true
			})
			for k := range got.events {
				if _, ok := acked.Load(k); !ok {
					inFlight++ // delivered, its PUBLISHED lost with the publisher's session: fine
				}
			}
			t.Logf("%d publications acknowledged, %d delivered (%d of them unacknowledged), %d lost; subscriber ended by %s",
				total.Load(), len(got.events), inFlight, lost, got.end)
			if lost > 0 {
				t.Errorf("%d acknowledged publications lost", lost)
			}
			if got.afterGoodbye > 0 {
				t.Errorf("%d messages came after the router's GOODBYE", got.afterGoodbye)
			}
			if got.end != "GOODBYE wamp.close.system_shutdown" {
				t.Errorf("the subscriber's session ended by %s, want the router's GOODBYE wamp.close.system_shutdown", got.end)
			}
		})
	}
}

// eventRecorder is a subscriber written by hand over RawSocket, so that
// exactly what the router sent, and in what order, is seen: the events
// (by the "publisher/seq" they carry) up to the router's GOODBYE, which
// it answers, and anything after it.
type eventRecorder struct {
	done chan struct{}
	got  recorded
}

type recorded struct {
	events       map[string]bool
	end          string // what ended the session
	afterGoodbye int    // messages after the GOODBYE
}

func newEventRecorder(t *testing.T, url, topic string) *eventRecorder {
	t.Helper()
	ep, _ := rawsocket.ParseURL(url)
	nc, err := net.DialTimeout(ep.Network, ep.Address, waitTimeout)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	conn, err := rawsocket.Connect(nc, codec.MsgPack, rawsocket.Config{Timeout: waitTimeout})
	if err != nil {
		t.Fatal(err)
	}
	send := func(text string) {
		msg, _ := codec.FromJSON(nil, []byte(text))
		if err := conn.WriteMsg(msg); err != nil {
			t.Fatal(err)
		}
	}
	next := func() (codec.Message, error) {
		nc.SetReadDeadline(time.Now().Add(waitTimeout))
		frame, err := conn.ReadMsg()
		if err != nil {
			return nil, err
		}
		return codec.Decode(bytes.Clone(frame))
	}
	send(`[1, "realm1", {"roles": {"subscriber": {}}}]`)
	if m, err := next(); err != nil || m.Type() != codec.TypeWelcome {
		t.Fatalf("joining: %v, %v", m, err)
	}
	send(`[32, 1, {}, "` + topic + `"]`)
	if m, err := next(); err != nil || m.Type() != codec.TypeSubscribed {
		t.Fatalf("subscribing: %v, %v", m, err)
	}
	r := &eventRecorder{done: make(chan struct{}), got: recorded{events: map[string]bool{}}}
	go func() {
		defer close(r.done)
		for {
			m, err := next()
			if err != nil {
				if r.got.end == "" {
					r.got.end = "connection: " + err.Error()
				}
				return
			}
			if r.got.end != "" {
				r.got.afterGoodbye++
				continue
			}
			switch m := m.(type) {
			case *codec.Event:
				args, _, err := client.Payload{Args: m.Args}.Decode()
				if err != nil || len(args) != 2 {
					r.got.end = fmt.Sprintf("a bad EVENT: %v %v", args, err)
					return
				}
				r.got.events[fmt.Sprintf("%v/%v", args[0], args[1])] = true
			case *codec.Goodbye:
				r.got.end = "GOODBYE " + string(m.Reason)
				msg, _ := codec.FromJSON(nil, []byte(`[6, {}, "wamp.close.goodbye_and_out"]`))
				conn.WriteMsg(msg)
			default:
				r.got.end = fmt.Sprintf("a %v", m.Type())
			}
		}
	}()
	return r
}

// wait returns what the subscriber got, once its connection is over.
func (r *eventRecorder) wait(t *testing.T) recorded {
	t.Helper()
	select {
	case <-r.done:
	case <-time.After(2 * waitTimeout):
		t.Fatal("the subscriber's connection is still open after the router exited")
	}
	return r.got
}
