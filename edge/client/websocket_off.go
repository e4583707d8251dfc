//go:build nowebsocket

package client

import (
	"context"
	"errors"
)

// Built with -tags nowebsocket: no WebSocket, and no net/http in the binary.
func dialWebSocket(context.Context, string, Config) (Transport, error) {
	return nil, errors.New("client: this build has no WebSocket support (built with -tags nowebsocket)")
}
