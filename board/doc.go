// Package board will describe the boards wampedge is built for: GOOS,
// GOARCH and GOARM per target, default serial devices, and runtime
// defaults (memory limit, session and queue caps) that fit each board's
// memory. The Makefile's cross targets and `wampedge -board NAME` read it.
package board
