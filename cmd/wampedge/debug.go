package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"runtime"
	"strings"
	"time"

	"github.com/wampedge/wampedge/edge"
)

// debugPath is where the debug endpoint serves its variables, the path
// the standard library's expvar uses, so that tools made for expvar read it.
const debugPath = "/debug/vars"

// debugTimeout bounds reading a request and writing its answer, so that a
// silent client holds no goroutine for long.
const debugTimeout = 5 * time.Second

// serveDebug serves GET /debug/vars and /metrics on addr (HOST:PORT;
// meant for loopback) until the process ends. /debug/vars is expvar's
// JSON with "cmdline", "goroutines" (runtime.NumGoroutine), "memstats"
// (runtime.MemStats) and "router" (the router's Stats); /metrics is the
// monitor's figures for Prometheus (metrics.go). An empty addr serves
// nothing.
//
// It speaks just enough HTTP/1.1 for curl and the benchmark harness:
// net/http with expvar would add about 1.1 MB to the stripped binary,
// 18% of it, for a page nobody opens on most boards.
func serveDebug(addr string, m *monitor, log *slog.Logger) error {
	if addr == "" {
		return nil
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	log.Info("debug endpoint", "url", "http://"+ln.Addr().String()+debugPath, "metrics", "http://"+ln.Addr().String()+metricsPath)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				if errors.Is(err, net.ErrClosed) {
					return
				}
				log.Warn("debug endpoint: accept failed", "err", err)
				time.Sleep(100 * time.Millisecond) // out of descriptors, say: try again later
				continue
			}
			go answerDebug(c, m)
		}
	}()
	return nil
}

// answerDebug reads one request and answers it, then closes the connection.
func answerDebug(c net.Conn, m *monitor) {
	defer c.Close()
	c.SetDeadline(time.Now().Add(debugTimeout))
	br := bufio.NewReaderSize(c, 1024)
	line, err := br.ReadString('\n')
	if err != nil {
		return
	}
	for { // the headers: read and ignored
		h, err := br.ReadSlice('\n')
		if err != nil {
			return
		}
		if len(bytes.TrimSpace(h)) == 0 {
			break
		}
	}
	method, target, _ := strings.Cut(strings.TrimSpace(line), " ")
	target, _, _ = strings.Cut(target, " ")
	target, _, _ = strings.Cut(target, "?")
	status, ctype, body := "200 OK", "text/plain; charset=utf-8", []byte(nil)
	switch {
	case method != "GET" && method != "HEAD":
		status, body = "405 Method Not Allowed", []byte("GET only\n")
	case target == debugPath:
		ctype, body = "application/json; charset=utf-8", debugVars(m.router)
	case target == metricsPath:
		f := m.gather(m.router.Stats())
		ctype, body = metricsType, f.prometheus()
	default:
		status, body = "404 Not Found", []byte("only "+debugPath+" and "+metricsPath+" are here\n")
	}
	fmt.Fprintf(c, "HTTP/1.1 %s\r\nContent-Type: %s\r\nContent-Length: %d\r\nConnection: close\r\n\r\n", status, ctype, len(body))
	if method != "HEAD" {
		c.Write(body)
	}
}

// debugVars is the JSON document of the endpoint.
func debugVars(r *edge.Router) []byte {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	body, err := json.MarshalIndent(struct {
		Cmdline    []string          `json:"cmdline"`
		Goroutines int               `json:"goroutines"`
		Memstats   *runtime.MemStats `json:"memstats"`
		Router     edge.Stats        `json:"router"`
	}{os.Args, runtime.NumGoroutine(), &ms, r.Stats()}, "", " ")
	if err != nil { // cannot happen for these types; say so rather than send nothing
		return []byte(fmt.Sprintf("{\"error\": %q}\n", err.Error()))
	}
	return append(body, '\n')
}
