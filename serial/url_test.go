package serial_test

import (
	"strings"
	"testing"

	"github.com/wampedge/wampedge/serial"
)

func TestParseURL(t *testing.T) {
	for _, v := range []struct {
		url  string
		want serial.Config
		err  string // a part of the error; "" for none
	}{
		{url: "serial:///dev/ttyUSB0", want: serial.Config{Path: "/dev/ttyUSB0"}},
		{url: "serial:///dev/serial/by-id/usb-FTDI_FT232R-if00-port0?baud=9600",
			want: serial.Config{Path: "/dev/serial/by-id/usb-FTDI_FT232R-if00-port0", Baud: 9600}},
		{url: "serial:///dev/ttyUSB0?baud=115200&databits=8&parity=none&stopbits=1&framing=cobs",
			want: serial.Config{Path: "/dev/ttyUSB0", Baud: 115200, DataBits: 8, Parity: "none", StopBits: "1", Framing: serial.COBS}},
		{url: "serial:///dev/ttyS1?databits=7&parity=even&stopbits=2",
			want: serial.Config{Path: "/dev/ttyS1", DataBits: 7, Parity: "even", StopBits: "2"}},
		{url: "serial:///dev/ttyS1?databits=5&parity=O&stopbits=2&framing=plain",
			want: serial.Config{Path: "/dev/ttyS1", DataBits: 5, Parity: "O", StopBits: "2", Framing: serial.Plain}},
		{url: "serial:///dev/ttyS1?parity=mark", want: serial.Config{Path: "/dev/ttyS1", Parity: "mark"}},
		{url: "serial:///dev/ttyS1?parity=space", want: serial.Config{Path: "/dev/ttyS1", Parity: "space"}},
		{url: "serial:///dev/ttyS1?parity=odd", want: serial.Config{Path: "/dev/ttyS1", Parity: "odd"}},
		{url: "serial:///dev/ttyACM0?baud=1000000", want: serial.Config{Path: "/dev/ttyACM0", Baud: 1000000}},
		// serial://dev/ttyACM0: "dev" parses as a host; taken as /dev/ttyACM0.
		{url: "serial://dev/ttyACM0?baud=57600", want: serial.Config{Path: "/dev/ttyACM0", Baud: 57600}},
		{url: "serial://ttyUSB0", want: serial.Config{Path: "/ttyUSB0"}},
		// An escaped path.
		{url: "serial:///tmp/my%20board", want: serial.Config{Path: "/tmp/my board"}},

		{url: "serial:///dev/ttyUSB0?speed=9600", err: `unknown parameter "speed"`},
		{url: "serial:///dev/ttyUSB0?baud=9600&flow=rtscts", err: `unknown parameter "flow"`},
		{url: "serial:///dev/ttyUSB0?baud=fast", err: `baud "fast" is not a number`},
		{url: "serial:///dev/ttyUSB0?baud=-9600", err: "negative"},
		{url: "serial:///dev/ttyUSB0?databits=eight", err: `databits "eight" is not a number`},
		{url: "serial:///dev/ttyUSB0?databits=9", err: "databits 9 is not 5 to 8"},
		{url: "serial:///dev/ttyUSB0?databits=4", err: "databits 4 is not 5 to 8"},
		{url: "serial:///dev/ttyUSB0?parity=maybe", err: `parity "maybe"`},
		{url: "serial:///dev/ttyUSB0?stopbits=3", err: `stopbits "3"`},
		{url: "serial:///dev/ttyUSB0?stopbits=one", err: `stopbits "one"`},
		{url: "serial:///dev/ttyUSB0?stopbits=1.5", err: "Windows only"},
		{url: "serial:///dev/ttyUSB0?framing=hdlc", err: `framing "hdlc"`},
		{url: "serial:///dev/ttyUSB0?framing=COBS", err: `framing "COBS"`},
		{url: "serial://", err: "no device path"},
		{url: "serial:", err: "no device path"},
		{url: "tcp://127.0.0.1:8080", err: "not a serial:///DEVICE URL"},
		{url: "/dev/ttyUSB0", err: "not a serial:///DEVICE URL"},
		{url: "serial:///dev/tty%zz", err: "not a serial:///DEVICE URL"},
	} {
		got, err := serial.ParseURL(v.url)
		switch {
		case v.err == "" && err != nil:
			t.Errorf("ParseURL(%q): %v", v.url, err)
		case v.err != "" && (err == nil || !strings.Contains(err.Error(), v.err)):
			t.Errorf("ParseURL(%q) = %+v, %v; want an error with %q", v.url, got, err, v.err)
		case v.err == "" && got != v.want:
			t.Errorf("ParseURL(%q) =\n %+v, want\n %+v", v.url, got, v.want)
		}
	}
}

// TestConfigCheck: a Config built in Go (the config file's fields) is
// checked like a URL.
func TestConfigCheck(t *testing.T) {
	for _, v := range []struct {
		c   serial.Config
		err string
	}{
		{serial.Config{Path: "/dev/ttyUSB0"}, ""},
		{serial.Config{Path: "/dev/ttyUSB0", Baud: 9600, DataBits: 7, Parity: "even", StopBits: "2", Framing: serial.COBS}, ""},
		{serial.Config{}, "no device path"},
		{serial.Config{Path: "/dev/ttyUSB0", Baud: -1}, "negative"},
		{serial.Config{Path: "/dev/ttyUSB0", DataBits: 9}, "databits"},
		{serial.Config{Path: "/dev/ttyUSB0", Parity: "maybe"}, "parity"},
		{serial.Config{Path: "/dev/ttyUSB0", StopBits: "0"}, "stopbits"},
		{serial.Config{Path: "/dev/ttyUSB0", Framing: "slip"}, "framing"},
	} {
		err := v.c.Check()
		if v.err == "" && err != nil || v.err != "" && (err == nil || !strings.Contains(err.Error(), v.err)) {
			t.Errorf("%+v.Check() = %v, want %q", v.c, err, v.err)
		}
	}
	if _, err := serial.NewListener(serial.Config{Path: "/dev/ttyUSB0", Parity: "maybe"}, serial.ListenConfig{}); err == nil {
		t.Error("NewListener took a bad parity")
	}
	if _, err := serial.Listen("serial:///dev/ttyUSB0?baud=fast", serial.ListenConfig{}); err == nil {
		t.Error("Listen took a bad baud")
	}
}

// effective is a config with its defaults filled in: what the line
// actually runs at.
func effective(c serial.Config) serial.Config {
	if c.Baud == 0 {
		c.Baud = 115200
	}
	if c.DataBits == 0 {
		c.DataBits = 8
	}
	switch strings.ToLower(c.Parity) {
	case "", "none", "n":
		c.Parity = "none"
	case "o":
		c.Parity = "odd"
	case "e":
		c.Parity = "even"
	case "m":
		c.Parity = "mark"
	case "s":
		c.Parity = "space"
	default:
		c.Parity = strings.ToLower(c.Parity)
	}
	if c.StopBits == "" {
		c.StopBits = "1"
	}
	if c.Framing == "" {
		c.Framing = serial.Plain
	}
	return c
}

// TestConfigURL: URL writes a config back as a URL that ParseURL reads
// as the same line, and a listener names itself by it.
func TestConfigURL(t *testing.T) {
	for _, v := range []struct {
		c    serial.Config
		want string
	}{
		{serial.Config{Path: "/dev/ttyUSB0"}, "serial:///dev/ttyUSB0?baud=115200"},
		{serial.Config{Path: "/dev/ttyUSB0", Baud: 9600, Framing: serial.COBS}, "serial:///dev/ttyUSB0?baud=9600&framing=cobs"},
		{serial.Config{Path: "/dev/ttyUSB0", Framing: serial.Plain}, "serial:///dev/ttyUSB0?baud=115200"},
		{serial.Config{Path: "/dev/ttyS1", Baud: 19200, DataBits: 7, Parity: "even", StopBits: "2"},
			"serial:///dev/ttyS1?baud=19200&databits=7&parity=even&stopbits=2"},
		{serial.Config{Path: "/dev/ttyS1", DataBits: 8, Parity: "none", StopBits: "1"}, "serial:///dev/ttyS1?baud=115200"},
		{serial.Config{Path: "/dev/ttyS1", DataBits: 5, Parity: "m", StopBits: "2", Framing: serial.COBS},
			"serial:///dev/ttyS1?baud=115200&databits=5&framing=cobs&parity=m&stopbits=2"},
		{serial.Config{Path: "/tmp/my board"}, "serial:///tmp/my%20board?baud=115200"},
	} {
		u := v.c.URL()
		if u != v.want {
			t.Errorf("%+v.URL() = %q, want %q", v.c, u, v.want)
		}
		back, err := serial.ParseURL(u)
		if err != nil {
			t.Errorf("ParseURL(%q): %v", u, err)
			continue
		}
		if effective(back) != effective(v.c) {
			t.Errorf("%+v -> %q -> %+v: not the same line", v.c, u, back)
		}
		if again := back.URL(); again != u {
			t.Errorf("URL of ParseURL(%q) = %q", u, again)
		}
		l, err := serial.NewListener(v.c, serial.ListenConfig{})
		if err != nil {
			t.Fatal(err)
		}
		if l.String() != u {
			t.Errorf("listener names itself %q, want %q", l.String(), u)
		}
	}
}
