package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wampedge/wampedge/board"
)

// The Makefile reads "NAME VAR=VALUE..." lines with `read -r name env`
// and passes env to env(1).
func TestList(t *testing.T) {
	var out bytes.Buffer
	if err := run(nil, &out); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	all := board.All()
	if len(lines) != len(all) {
		t.Fatalf("%d lines for %d boards:\n%s", len(lines), len(all), out.String())
	}
	for i, l := range lines {
		f := strings.Fields(l)
		if f[0] != all[i].Name || strings.Join(f[1:], " ") != strings.Join(all[i].Env(), " ") {
			t.Errorf("line %q, want %s %s", l, all[i].Name, all[i].Env())
		}
	}
}

func TestBudget(t *testing.T) {
	dir := t.TempDir()
	for _, p := range board.All() {
		os.MkdirAll(filepath.Join(dir, p.Name), 0o755)
		size := 100
		if p.Name == "rpi3" {
			size = 300
		}
		if err := os.WriteFile(filepath.Join(dir, p.Name, "wampedge"), make([]byte, size), 0o644); err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(dir, p.Name, "wampcat"), nil, 0o644)
	}
	var out bytes.Buffer
	if err := run([]string{"budget", "300", dir}, &out); err != nil {
		t.Errorf("at the budget: %v", err)
	}
	if err := run([]string{"budget", "299", dir}, &out); err == nil || !strings.Contains(err.Error(), "rpi3") {
		t.Errorf("over the budget: %v, want an error naming rpi3", err)
	}
	if strings.Contains(out.String(), "amd64") {
		t.Errorf("the budget is for linux/arm alone:\n%s", out.String())
	}
	if err := run([]string{"sizes", dir}, &out); err != nil {
		t.Error(err)
	}
}

func TestPkgOf(t *testing.T) {
	for sym, want := range map[string]string{
		"runtime.mallocgc":                               "runtime",
		"github.com/miekg/dns.(*Msg).Pack":               "github.com/miekg/dns",
		"github.com/wampedge/wampedge/codec.Decode":      "github.com/wampedge/wampedge/codec",
		"sync/atomic.(*Pointer[github.com/x/y.T]).Load":  "sync/atomic",
		"slices.SortFunc[go.shape.[]uint8]":              "slices",
		"type:*github.com/wampedge/wampedge/edge.Router": "(type descriptors)",
		"go:string.*": "(go:string)",
		"vendor/golang.org/x/crypto/chacha20.(*Cipher).XORKeyStream": "vendor/golang.org/x/crypto/chacha20",
	} {
		if got := pkgOf(sym); got != want {
			t.Errorf("pkgOf(%q) = %q, want %q", sym, got, want)
		}
	}
	modules := []string{"github.com/wampedge/wampedge", "go.bug.st/serial", "golang.org/x/sys"}
	for pkg, want := range map[string]string{
		"main":                              "github.com/wampedge/wampedge",
		"github.com/wampedge/wampedge/edge": "github.com/wampedge/wampedge",
		"go.bug.st/serial/unixutils":        "go.bug.st/serial",
		"golang.org/x/sys/unix":             "golang.org/x/sys",
		"crypto/tls":                        "standard library: crypto/...",
		"vendor/golang.org/x/net/dns":       "standard library: internal/..., vendor/...",
		"(go:func)":                         "linker data (types, strings, itabs)",
	} {
		if got := origin(pkg, modules); got != want {
			t.Errorf("origin(%q) = %q, want %q", pkg, got, want)
		}
	}
}

// space reads a real binary: this command, built with its symbols (test
// binaries have none).
func TestSpace(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "boards")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	var out bytes.Buffer
	if err := run([]string{"space", bin}, &out); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{".text", "by origin", "runtime", "debug/elf", "github.com/wampedge/wampedge"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("the report does not mention %s:\n%s", want, out.String())
		}
	}
}
