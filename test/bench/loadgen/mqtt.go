package loadgen

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"sync/atomic"
	"time"
)

// MQTT 3.1.1 packet types, in the high nibble of the first byte.
const (
	mqttConnect    = 0x10
	mqttConnack    = 0x20
	mqttPublish    = 0x30 // QoS 0, no DUP, no RETAIN
	mqttSubscribe  = 0x82 // the reserved flags 0010
	mqttSuback     = 0x90
	mqttDisconnect = 0xe0
)

// mqttClients numbers client identifiers: the broker wants them unique.
var mqttClients atomic.Int64

// DialMQTT connects to an MQTT broker at addr (HOST:PORT) with MQTT
// 3.1.1: CONNECT with a clean session and no keep-alive (so no PINGREQ
// is ever due), then CONNACK. ctx bounds the set-up.
func DialMQTT(ctx context.Context, addr string) (*Conn, error) {
	var d net.Dialer
	nc, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	c := newConn(nc, mqttFraming)
	id := "bench-" + strconv.FormatInt(mqttClients.Add(1), 10)
	var body []byte
	body = appendMQTTString(body, "MQTT")
	body = append(body, 4, 0x02, 0, 0) // level 3.1.1, clean session, keep-alive 0
	body = appendMQTTString(body, id)
	if err := c.exchange(ctx, appendMQTTPacket(nil, mqttConnect, body), mqttConnack); err != nil {
		c.Close()
		return nil, fmt.Errorf("MQTT CONNECT: %w", err)
	}
	return c, nil
}

// HandshakeMQTT connects and disconnects: a broker's first accepted
// connection.
func HandshakeMQTT(ctx context.Context, addr string) error {
	c, err := DialMQTT(ctx, addr)
	if err != nil {
		return err
	}
	c.Write([]byte{mqttDisconnect, 0})
	return c.Close()
}

// SubscribeMQTT subscribes c to topic with QoS 0.
func (c *Conn) SubscribeMQTT(ctx context.Context, topic string) error {
	body := []byte{0, 1} // packet identifier 1
	body = appendMQTTString(body, topic)
	body = append(body, 0) // QoS 0
	return c.exchange(ctx, appendMQTTPacket(nil, mqttSubscribe, body), mqttSuback)
}

// exchange sends a packet and reads the acknowledgement it expects,
// checking its return code (the last byte: 0 is success; 0x80 a
// refused subscription).
func (c *Conn) exchange(ctx context.Context, packet []byte, want byte) error {
	if dl, ok := ctx.Deadline(); ok {
		c.nc.SetDeadline(dl)
		defer c.nc.SetDeadline(time.Time{})
	}
	if err := c.Write(packet); err != nil {
		return err
	}
	f, err := c.ReadFrame()
	if err != nil {
		return err
	}
	if f[0]&0xf0 != want&0xf0 {
		return fmt.Errorf("got packet type %#x, want %#x", f[0]>>4, want>>4)
	}
	if rc := f[len(f)-1]; rc != 0 {
		return fmt.Errorf("refused with return code %#x", rc)
	}
	return nil
}

// AppendMQTTPublish appends a QoS 0 PUBLISH of payload to topic.
func AppendMQTTPublish(b []byte, topic string, payload []byte) []byte {
	body := appendMQTTString(make([]byte, 0, 2+len(topic)+len(payload)), topic)
	return appendMQTTPacket(b, mqttPublish, append(body, payload...))
}

// appendMQTTPacket appends a fixed header (type and the remaining length
// as a variable-length integer) and the body.
func appendMQTTPacket(b []byte, first byte, body []byte) []byte {
	b = append(b, first)
	n := len(body)
	for {
		d := byte(n % 128)
		n /= 128
		if n > 0 {
			d |= 0x80
		}
		b = append(b, d)
		if n == 0 {
			break
		}
	}
	return append(b, body...)
}

func appendMQTTString(b []byte, s string) []byte {
	return append(append(b, byte(len(s)>>8), byte(len(s))), s...)
}

// mqttFraming reads a fixed header: one byte, then the remaining length
// in one to four bytes of seven bits each.
func mqttFraming(b []byte) (int, error) {
	length, mult := 0, 1
	for i := 1; i <= 4; i++ {
		if i >= len(b) {
			return 0, nil
		}
		length += int(b[i]&0x7f) * mult
		if b[i]&0x80 == 0 {
			if n := i + 1 + length; len(b) >= n {
				return n, nil
			}
			return 0, nil
		}
		mult *= 128
	}
	return 0, errors.New("loadgen: MQTT remaining length longer than four bytes")
}
