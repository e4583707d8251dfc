package main

import (
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"runtime/debug"
	"strings"

	boards "github.com/wampedge/wampedge/board" // board is the variable below
)

// board is the board this binary was built for (`make cross` sets it with
// -X main.board=NAME); -board defaults to it. Empty applies none.
var board string

// applyBoard makes board name's runtime defaults the config's where the
// config file left them unset, and sets the Go runtime's memory limit
// unless the GOMEMLIMIT environment variable does. An empty name applies
// nothing and returns the zero Profile.
func applyBoard(name string, fc *fileConfig) (boards.Profile, error) {
	if name == "" {
		return boards.Profile{}, nil
	}
	p, ok := boards.Lookup(name)
	if !ok {
		return p, fmt.Errorf("-board: no board %q; wampedge -boards lists them", name)
	}
	boardDefaults(p, fc)
	if p.MemoryLimit > 0 && os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(p.MemoryLimit)
	}
	return p, nil
}

// boardDefaults fills the limits the config file left at zero.
func boardDefaults(p boards.Profile, fc *fileConfig) {
	if fc.Limits.QueueBytes == 0 {
		fc.Limits.QueueBytes = p.QueueBytes
	}
	if fc.Limits.MaxLength == 0 {
		fc.Limits.MaxLength = p.MaxLength
	}
}

// logBoard says which board's defaults apply and what the limits came to.
func logBoard(log *slog.Logger, p boards.Profile, fc *fileConfig) {
	if p.Name == "" {
		return
	}
	memory := "none"
	if limit := debug.SetMemoryLimit(-1); limit != math.MaxInt64 {
		memory = byteSize(limit)
	}
	if os.Getenv("GOMEMLIMIT") != "" {
		memory += " (from GOMEMLIMIT)"
	}
	log.Info("board profile", "board", p.Name, "memory_limit", memory,
		"queue_bytes", fc.Limits.QueueBytes, "max_length", fc.Limits.MaxLength)
}

// printBoards lists the profiles for -boards.
func printBoards(w io.Writer) {
	for _, p := range boards.All() {
		name := p.Name
		if len(p.Aliases) > 0 {
			name += " (" + strings.Join(p.Aliases, ", ") + ")"
		}
		if strings.EqualFold(p.Name, board) {
			name += " *"
		}
		memory := "none"
		if p.MemoryLimit > 0 {
			memory = byteSize(p.MemoryLimit)
		}
		fmt.Fprintf(w, "%-26s %-30s %s\n", name, p.Target(), p.Description)
		fmt.Fprintf(w, "%26s memory limit %s, queue %s per session, messages up to %s, sized for %d sessions\n",
			"", memory, byteSize(int64(p.QueueBytes)), byteSize(int64(p.MaxLength)), p.MaxSessions)
		fmt.Fprintf(w, "%26s serial: %s\n", "", strings.Join(p.SerialDevices, " "))
	}
	if board != "" {
		fmt.Fprintf(w, "\n* this binary's board, applied unless -board says otherwise\n")
	}
}

// byteSize writes n in the largest binary unit that divides it: "64MiB".
func byteSize(n int64) string {
	for _, u := range []struct {
		size int64
		name string
	}{{boards.GiB, "GiB"}, {boards.MiB, "MiB"}, {boards.KiB, "KiB"}} {
		if n >= u.size && n%u.size == 0 {
			return fmt.Sprintf("%d%s", n/u.size, u.name)
		}
	}
	return fmt.Sprintf("%dB", n)
}
