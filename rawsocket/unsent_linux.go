package rawsocket

import (
	"syscall"
	"unsafe"
)

// unsent is how many bytes the socket still holds that the peer has not
// acknowledged (SIOCOUTQ, which is TIOCOUTQ), and whether it could tell.
func unsent(raw syscall.RawConn) (n int, ok bool) {
	var v int32
	err := raw.Control(func(fd uintptr) {
		_, _, e := syscall.Syscall(syscall.SYS_IOCTL, fd, syscall.TIOCOUTQ, uintptr(unsafe.Pointer(&v)))
		ok = e == 0
	})
	return int(v), ok && err == nil
}
