//go:build !linux

package rawsocket

import "syscall"

// unsent cannot tell here: Abort resets at once.
func unsent(syscall.RawConn) (int, bool) { return 0, false }
