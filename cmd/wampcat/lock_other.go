//go:build !unix

package main

// lockSerial: without flock(2), the serial port's own exclusive open is
// all there is.
func lockSerial(string) (func(), error) { return func() {}, nil }
