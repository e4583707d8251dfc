package interop

import (
	"bufio"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"sync"
	"syscall"
	"time"

	"github.com/wampedge/wampedge/internal/testutil"
)

// Peer is one client session of some WAMP library, joined to realm1.
type Peer interface {
	Session() uint64
	Subscribe(topic string) (uint64, error)
	Unsubscribe(subscription uint64) error
	// Publish sends an event; excludeMe nil leaves the option out.
	Publish(topic string, p Payload, acknowledge bool, excludeMe *bool) error
	// Register answers calls with their own payload ("echo"), or with
	// the error com.example.error carrying it ("error").
	Register(procedure, behavior string) (uint64, error)
	Unregister(registration uint64) error
	Call(procedure string, p Payload) (Payload, error)
	Events() <-chan Event

	// The Advanced Profile (advanced.go): the same operations with
	// options. An option the library lacks is an "unsupported: " error.
	SubscribeWith(topic string, o SubOpts) (uint64, error)
	PublishWith(topic string, p Payload, o PubOpts) error
	RegisterWith(procedure string, o RegOpts) (uint64, error)
	StartCall(procedure string, p Payload, o CallOpts) (PendingCall, error)
	// Notes are what "slow" callees report: invocations and interrupts.
	Notes() <-chan Note

	// Leave ends the session with GOODBYE.
	Leave() error
	// Kill ends it without a word: SIGKILL, or a dropped connection.
	Kill()
}

// Event is an event a peer received.
type Event struct {
	Subscription uint64 `json:"subscription"`
	Publication  uint64 `json:"publication"`
	Payload
	// Details are what the library reports of EVENT.Details; nil when
	// it reports none.
	Details *EventDetails `json:"details"`
}

// WampError is an ERROR or ABORT a peer got from the router.
type WampError struct {
	URI string `json:"uri"`
	Payload
}

func (e *WampError) Error() string { return e.URI }

// errorURI is the WAMP error URI of err, or "".
func errorURI(err error) string {
	var we *WampError
	if errors.As(err, &we) {
		return we.URI
	}
	return ""
}

// opTimeout bounds every operation on a peer.
const opTimeout = 15 * time.Second

// procPeer is a peer process speaking peers/PROTOCOL.md.
type procPeer struct {
	cmd     *exec.Cmd
	stdin   io.WriteCloser
	stderr  *testutil.SyncBuffer
	session uint64
	events  chan Event
	notes   chan Note
	exited  chan struct{}

	wmu sync.Mutex // one command line at a time on stdin

	mu      sync.Mutex
	nextID  int
	waiting map[int]chan procReply
	closed  string // why the peer ended, once it has
}

type procReply struct {
	OK    json.RawMessage `json:"ok"`
	Error *WampError      `json:"error"`
	Fail  *string         `json:"fail"`
}

// startProc starts a peer process and waits for it to join.
func startProc(argv []string, url, ser string) (*procPeer, error) {
	args := append(append([]string{}, argv[1:]...), "--url", url, "--realm", "realm1", "--ser", ser, "--maxlen", fmt.Sprint(peerMaxLen))
	cmd := exec.Command(argv[0], args...)
	p := &procPeer{
		cmd:     cmd,
		stderr:  new(testutil.SyncBuffer),
		events:  make(chan Event, 1024),
		notes:   make(chan Note, 64),
		exited:  make(chan struct{}),
		waiting: make(map[int]chan procReply),
	}
	cmd.Stderr = p.stderr
	var err error
	if p.stdin, err = cmd.StdinPipe(); err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	ready := make(chan error, 1)
	go p.readLines(stdout, ready)
	go func() { cmd.Wait(); close(p.exited) }()
	select {
	case err := <-ready:
		if err != nil {
			p.Kill()
			return nil, err
		}
		return p, nil
	case <-time.After(opTimeout):
		p.Kill()
		return nil, fmt.Errorf("peer did not join in %v; stderr:\n%s", opTimeout, p.stderr.String())
	}
}

// readLines dispatches the peer's stdout: the ready line, replies and
// events.
func (p *procPeer) readLines(stdout io.Reader, ready chan<- error) {
	sc := bufio.NewScanner(stdout)
	sc.Buffer(make([]byte, 64<<10), 64<<20)
	joined := false
	for sc.Scan() {
		var line struct {
			Ready *struct {
				Session uint64 `json:"session"`
			} `json:"ready"`
			Fatal  *string `json:"fatal"`
			Closed *string `json:"closed"`
			Event  *Event  `json:"event"`
			Note   *Note   `json:"note"`
			ID     *int    `json:"id"`
			procReply
		}
		if err := decodeValue(sc.Bytes(), &line); err != nil {
			p.end(fmt.Sprintf("unreadable line %q: %v", short(sc.Text()), err))
			continue
		}
		switch {
		case line.Ready != nil:
			p.session, joined = line.Ready.Session, true
			ready <- nil
		case line.Fatal != nil:
			ready <- fmt.Errorf("peer could not join: %s", *line.Fatal)
		case line.Closed != nil:
			p.end("connection closed: " + *line.Closed)
		case line.Event != nil:
			p.events <- *line.Event
		case line.Note != nil:
			select {
			case p.notes <- *line.Note:
			default: // nobody reads them: never hold up replies
			}
		case line.ID != nil:
			p.mu.Lock()
			ch := p.waiting[*line.ID]
			delete(p.waiting, *line.ID)
			p.mu.Unlock()
			if ch != nil {
				ch <- line.procReply
			}
		}
	}
	if !joined {
		ready <- fmt.Errorf("peer exited before joining; stderr:\n%s", p.stderr.String())
	}
	p.end("peer exited")
}

// end records why the peer is gone and fails what still waits.
func (p *procPeer) end(why string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed == "" {
		p.closed = why
	}
	for id, ch := range p.waiting {
		fail := p.closed
		ch <- procReply{Fail: &fail}
		delete(p.waiting, id)
	}
}

// do sends one command and waits for its reply; result receives "ok".
func (p *procPeer) do(cmd map[string]any, result any) error {
	_, ch, err := p.send(cmd)
	if err != nil {
		return err
	}
	return p.wait(cmd, ch, result)
}

// send sends one command; its reply comes on the channel.
func (p *procPeer) send(cmd map[string]any) (int, chan procReply, error) {
	ch := make(chan procReply, 1)
	p.mu.Lock()
	if p.closed != "" {
		defer p.mu.Unlock()
		return 0, nil, errors.New(p.closed)
	}
	p.nextID++
	id := p.nextID
	cmd["id"] = id
	p.waiting[id] = ch
	p.mu.Unlock()
	// Not under mu: the reader of the peer's replies needs it while a
	// large command is still being written.
	line, err := json.Marshal(cmd)
	if err == nil {
		p.wmu.Lock()
		_, err = p.stdin.Write(append(line, '\n'))
		p.wmu.Unlock()
	}
	return id, ch, err
}

// wait waits for the reply to a command sent; result receives "ok".
func (p *procPeer) wait(cmd map[string]any, ch chan procReply, result any) error {
	select {
	case r := <-ch:
		switch {
		case r.Error != nil:
			return r.Error
		case r.Fail != nil:
			return errors.New(*r.Fail)
		case result != nil:
			return decodeValue(r.OK, result)
		}
		return nil
	case <-time.After(opTimeout):
		return fmt.Errorf("no reply to %s in %v; stderr:\n%s", cmd["op"], opTimeout, tail(p.stderr.String()))
	}
}

func tail(s string) string {
	if len(s) > 2000 {
		return "..." + s[len(s)-2000:]
	}
	return s
}

func (p *procPeer) Session() uint64      { return p.session }
func (p *procPeer) Events() <-chan Event { return p.events }
func (p *procPeer) Notes() <-chan Note   { return p.notes }

func (p *procPeer) Subscribe(topic string) (uint64, error) {
	return p.SubscribeWith(topic, SubOpts{})
}

// Options are sent only when set: a command without them is what peers
// that predate them know.

func (p *procPeer) SubscribeWith(topic string, o SubOpts) (uint64, error) {
	cmd := map[string]any{"op": "subscribe", "topic": topic}
	if o.Match != "" {
		cmd["match"] = o.Match
	}
	if o.GetRetained {
		cmd["get_retained"] = true
	}
	var r struct{ Subscription uint64 }
	err := p.do(cmd, &r)
	return r.Subscription, err
}

func (p *procPeer) Unsubscribe(sub uint64) error {
	return p.do(map[string]any{"op": "unsubscribe", "subscription": sub}, nil)
}

func (p *procPeer) Publish(topic string, pl Payload, ack bool, excludeMe *bool) error {
	return p.PublishWith(topic, pl, PubOpts{Acknowledge: ack, ExcludeMe: excludeMe})
}

func (p *procPeer) PublishWith(topic string, pl Payload, o PubOpts) error {
	cmd := map[string]any{"op": "publish", "topic": topic, "args": pl.Args, "kwargs": pl.Kwargs, "acknowledge": o.Acknowledge}
	if o.ExcludeMe != nil {
		cmd["exclude_me"] = *o.ExcludeMe
	}
	if o.DiscloseMe {
		cmd["disclose_me"] = true
	}
	if o.Retain {
		cmd["retain"] = true
	}
	for key, ids := range map[string][]uint64{"exclude": o.Exclude, "eligible": o.Eligible} {
		if ids != nil {
			cmd[key] = ids
		}
	}
	for key, list := range map[string][]string{
		"exclude_authid": o.ExcludeAuthID, "exclude_authrole": o.ExcludeAuthRole,
		"eligible_authid": o.EligibleAuthID, "eligible_authrole": o.EligibleAuthRole,
	} {
		if list != nil {
			cmd[key] = list
		}
	}
	return p.do(cmd, nil)
}

func (p *procPeer) Register(procedure, behavior string) (uint64, error) {
	return p.RegisterWith(procedure, RegOpts{Behavior: behavior})
}

func (p *procPeer) RegisterWith(procedure string, o RegOpts) (uint64, error) {
	cmd := map[string]any{"op": "register", "procedure": procedure, "behavior": o.Behavior}
	if o.Match != "" {
		cmd["match"] = o.Match
	}
	if o.Invoke != "" {
		cmd["invoke"] = o.Invoke
	}
	if o.Behavior == "progress" {
		cmd["count"] = cmp.Or(o.Count, defaultProgress)
	}
	var r struct{ Registration uint64 }
	err := p.do(cmd, &r)
	return r.Registration, err
}

func (p *procPeer) Unregister(reg uint64) error {
	return p.do(map[string]any{"op": "unregister", "registration": reg}, nil)
}

func (p *procPeer) Call(procedure string, pl Payload) (Payload, error) {
	var r Payload
	err := p.do(map[string]any{"op": "call", "procedure": procedure, "args": pl.Args, "kwargs": pl.Kwargs}, &r)
	return r, err
}

func (p *procPeer) StartCall(procedure string, pl Payload, o CallOpts) (PendingCall, error) {
	cmd := map[string]any{"op": "call", "procedure": procedure, "args": pl.Args, "kwargs": pl.Kwargs}
	if o.ReceiveProgress {
		cmd["receive_progress"] = true
	}
	if o.Timeout > 0 {
		cmd["timeout"] = o.Timeout
	}
	if o.DiscloseMe {
		cmd["disclose_me"] = true
	}
	if o.Cancelable {
		cmd["cancelable"] = true
		if o.CancelMode != "" {
			cmd["cancel_mode"] = o.CancelMode
		}
	}
	id, ch, err := p.send(cmd)
	if err != nil {
		return nil, err
	}
	c := &procCall{p: p, id: id, done: make(chan struct{})}
	go func() {
		c.err = p.wait(cmd, ch, &c.res)
		close(c.done)
	}()
	return c, nil
}

// procCall is a call command waiting for its reply.
type procCall struct {
	p    *procPeer
	id   int
	done chan struct{}
	res  CallResult
	err  error
}

func (c *procCall) Cancel() error {
	return c.p.do(map[string]any{"op": "cancel", "call": c.id}, nil)
}

func (c *procCall) Done() <-chan struct{} { return c.done }

func (c *procCall) Wait() (CallResult, error) {
	<-c.done
	return c.res, c.err
}

func (p *procPeer) Leave() error {
	if err := p.do(map[string]any{"op": "leave"}, nil); err != nil {
		return err
	}
	select {
	case <-p.exited:
		if code := p.cmd.ProcessState.ExitCode(); code != 0 {
			return fmt.Errorf("peer exited with status %d after leaving", code)
		}
		return nil
	case <-time.After(opTimeout):
		return errors.New("peer did not exit after leaving")
	}
}

func (p *procPeer) Kill() {
	p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.exited
}

// stop ends a peer that may still run (test cleanup).
func (p *procPeer) stop() {
	select {
	case <-p.exited:
	default:
		p.stdin.Close()
		p.Kill()
	}
}
