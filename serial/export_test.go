package serial

// The router's COBS packets, for the external tests to compare with the
// microcontroller's own encoder.
var (
	AppendPacket = appendPacket
	DecodePacket = decodePacket
)
