// Package board proves that the router built for a board works there:
// it cross-builds wampedge for the board profiles' targets (linux/arm
// GOARMv6 and v7, arm64, mipsle soft-float, riscv64), runs each under
// Debian's qemu-user on a loopback port, and drives it with clients built
// for the host: a call routed between a MessagePack callee and a JSON
// caller, and an event from a MessagePack publisher to a JSON subscriber,
// with 64-bit integers and binary crossing the 32-bit router intact.
//
// qemu-user is a requirement, not an option: without it the test fails
// and says how to install it (`make qemu-deps`).
package board
