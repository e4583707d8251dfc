// Package board describes the boards wampedge is built for, one Profile
// each: the Go target (GOOS, GOARCH and GOARM or GOMIPS), where the
// board's serial lines appear, and runtime defaults that fit its memory
// (a soft memory limit for the Go runtime, the outbound queue of each
// session, the largest message, and the sessions it is sized for).
//
//	p, ok := board.Lookup("rpi3")
//	p.Env()  // ["GOOS=linux" "GOARCH=arm" "GOARM=7"]
//
// It is plain data. The Makefile's cross targets build one wampedge and
// one wampcat per profile (board/cmd/boards lists them), and
// `wampedge -board NAME` applies a profile's defaults, which the config
// file and the GOMEMLIMIT environment variable override. A binary built
// by `make cross` applies its own board's profile unless told otherwise.
//
// The directory also holds what `make dist` puts in each board's tarball
// besides the binaries: the sample config wampedge.json and the systemd
// unit systemd/wampedge.service. A directory named after a profile adds
// or replaces files for that board: openwrt-mipsle/ has a procd init
// script, and a config with its socket in /var/run.
package board
