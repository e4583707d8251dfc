package serial

import "errors"

// COBS framing (README, "Noisy lines"): a packet on the line is
//
//	COBS(data ‖ CRC-16/CCITT-FALSE(data), high byte first) 0x00
//
// where data is a RawSocket handshake (4 bytes) or one whole RawSocket
// frame (header and payload). COBS removes every 0x00 from the packet, so
// 0x00 marks its end, and a receiver that loses bytes finds the next
// packet at the next 0x00.

var (
	errCOBS = errors.New("serial: malformed COBS packet")
	errCRC  = errors.New("serial: CRC mismatch")
)

// crc16 is CRC-16/CCITT-FALSE: polynomial 0x1021, initial 0xFFFF, no
// reflection, no final XOR. crc16("123456789") == 0x29B1.
func crc16(data []byte) uint16 {
	crc := uint16(0xffff)
	for _, b := range data {
		crc ^= uint16(b) << 8
		for range 8 {
			if crc&0x8000 != 0 {
				crc = crc<<1 ^ 0x1021
			} else {
				crc <<= 1
			}
		}
	}
	return crc
}

// appendPacket appends the packet for data: COBS of data and its CRC,
// then the 0x00 delimiter.
func appendPacket(dst, data []byte) []byte {
	crc := crc16(data)
	tail := [2]byte{byte(crc >> 8), byte(crc)}
	codeAt := len(dst)
	dst = append(dst, 0) // the first code byte, set when its block ends
	code := byte(1)
	put := func(b byte) {
		if b == 0 {
			dst[codeAt] = code
			codeAt, code = len(dst), 1
			dst = append(dst, 0)
			return
		}
		dst = append(dst, b)
		code++
		if code == 0xff {
			dst[codeAt] = code
			codeAt, code = len(dst), 1
			dst = append(dst, 0)
		}
	}
	for _, b := range data {
		put(b)
	}
	put(tail[0])
	put(tail[1])
	dst[codeAt] = code
	return append(dst, 0)
}

// decodePacket decodes one packet (without its 0x00 delimiter) in place
// and returns the data, its CRC checked.
func decodePacket(p []byte) ([]byte, error) {
	out := p[:0]
	for i := 0; i < len(p); {
		code := int(p[i])
		if code == 0 || i+code > len(p) {
			return nil, errCOBS
		}
		out = append(out, p[i+1:i+code]...)
		i += code
		if code < 0xff && i < len(p) {
			out = append(out, 0)
		}
	}
	if len(out) < 2 {
		return nil, errCOBS
	}
	data := out[:len(out)-2]
	if crc16(data) != uint16(out[len(out)-2])<<8|uint16(out[len(out)-1]) {
		return nil, errCRC
	}
	return data, nil
}
