package serial

import (
	"fmt"
	"net/url"
	"runtime"
	"strconv"
	"strings"

	bug "go.bug.st/serial"
)

// Framing is how RawSocket frames travel on the line.
type Framing string

const (
	// Plain sends RawSocket as it is; a broken frame ends the session and
	// the router waits for a new handshake.
	Plain Framing = "plain"
	// COBS wraps the handshake and every frame in a COBS packet with a
	// CRC-16, ended by 0x00: a corrupted packet is dropped alone and the
	// session goes on (see the README for the bytes).
	COBS Framing = "cobs"
)

// Config is a serial line: device, line settings, framing.
type Config struct {
	Path     string // e.g. /dev/ttyUSB0
	Baud     int    // 115200 when zero
	DataBits int    // 8 when zero
	Parity   string // none (default), odd, even, mark, space
	StopBits string // 1 (default), 1.5, 2
	Framing  Framing
}

// ParseURL reads serial:///dev/ttyUSB0?baud=115200&databits=8&parity=none&stopbits=1&framing=cobs;
// every parameter is optional.
func ParseURL(s string) (Config, error) {
	u, err := url.Parse(s)
	if err != nil || u.Scheme != "serial" {
		return Config{}, fmt.Errorf("serial: %q is not a serial:///DEVICE URL", s)
	}
	c := Config{Path: u.Path}
	if u.Host != "" { // serial://dev/ttyUSB0, taken as relative to /
		c.Path = "/" + u.Host + u.Path
	}
	q := u.Query()
	for key := range q {
		switch key {
		case "baud", "databits", "parity", "stopbits", "framing":
		default:
			return Config{}, fmt.Errorf("serial: %q: unknown parameter %q (baud, databits, parity, stopbits, framing)", s, key)
		}
	}
	if v := q.Get("baud"); v != "" {
		if c.Baud, err = strconv.Atoi(v); err != nil {
			return Config{}, fmt.Errorf("serial: %q: baud %q is not a number", s, v)
		}
	}
	if v := q.Get("databits"); v != "" {
		if c.DataBits, err = strconv.Atoi(v); err != nil {
			return Config{}, fmt.Errorf("serial: %q: databits %q is not a number", s, v)
		}
	}
	c.Parity, c.StopBits, c.Framing = q.Get("parity"), q.Get("stopbits"), Framing(q.Get("framing"))
	return c, c.Check()
}

// Check reports the first setting that is not valid.
func (c *Config) Check() error {
	if c.Path == "" {
		return fmt.Errorf("serial: no device path")
	}
	if _, err := c.mode(); err != nil {
		return err
	}
	switch c.Framing {
	case "", Plain, COBS:
	default:
		return fmt.Errorf("serial: framing %q is not plain or cobs", c.Framing)
	}
	return nil
}

// URL is the config written back as a URL.
func (c *Config) URL() string {
	u := url.URL{Scheme: "serial", Path: c.Path}
	q := url.Values{}
	q.Set("baud", strconv.Itoa(c.baud()))
	// The other line settings when they are not the defaults, so that
	// ParseURL reads the URL back as the same line.
	if c.DataBits != 0 && c.DataBits != 8 {
		q.Set("databits", strconv.Itoa(c.DataBits))
	}
	if p := strings.ToLower(c.Parity); p != "" && p != "none" && p != "n" {
		q.Set("parity", c.Parity)
	}
	if c.StopBits != "" && c.StopBits != "1" {
		q.Set("stopbits", c.StopBits)
	}
	if c.Framing == COBS {
		q.Set("framing", string(COBS))
	}
	u.RawQuery = q.Encode()
	return u.String()
}

func (c *Config) baud() int {
	if c.Baud == 0 {
		return 115200
	}
	return c.Baud
}

func (c *Config) mode() (*bug.Mode, error) {
	m := &bug.Mode{BaudRate: c.baud(), DataBits: c.DataBits}
	if m.BaudRate < 0 {
		return nil, fmt.Errorf("serial: baud %d is negative", m.BaudRate)
	}
	if m.DataBits == 0 {
		m.DataBits = 8
	}
	if m.DataBits < 5 || m.DataBits > 8 {
		return nil, fmt.Errorf("serial: databits %d is not 5 to 8", m.DataBits)
	}
	switch strings.ToLower(c.Parity) {
	case "", "none", "n":
		m.Parity = bug.NoParity
	case "odd", "o":
		m.Parity = bug.OddParity
	case "even", "e":
		m.Parity = bug.EvenParity
	case "mark", "m":
		m.Parity = bug.MarkParity
	case "space", "s":
		m.Parity = bug.SpaceParity
	default:
		return nil, fmt.Errorf("serial: parity %q is not none, odd, even, mark or space", c.Parity)
	}
	switch c.StopBits {
	case "", "1":
		m.StopBits = bug.OneStopBit
	case "1.5":
		if runtime.GOOS != "windows" { // termios has no 1.5 stop bits
			return nil, fmt.Errorf("serial: stopbits 1.5 is available on Windows only")
		}
		m.StopBits = bug.OnePointFiveStopBits
	case "2":
		m.StopBits = bug.TwoStopBits
	default:
		return nil, fmt.Errorf("serial: stopbits %q is not 1, 1.5 or 2", c.StopBits)
	}
	return m, nil
}
