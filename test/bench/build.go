package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
)

// goOutput runs the go command in dir and returns its trimmed output.
func goOutput(dir string, env []string, args ...string) (string, error) {
	cmd := exec.Command("go", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("go %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out)), nil
}

// locate finds the router's module (the test module's replace target)
// and the test module, from the working directory.
func (h *harness) locate() error {
	var err error
	if h.testDir, err = goOutput("", nil, "list", "-m", "-f", "{{.Dir}}"); err != nil {
		return err
	}
	if filepath.Base(h.testDir) != "test" {
		return fmt.Errorf("run the harness from the test module (cd test && go run ./bench), not %s", h.testDir)
	}
	h.root, err = goOutput(h.testDir, nil, "list", "-m", "-f", "{{.Dir}}", "github.com/wampedge/wampedge")
	return err
}

// release is how the Makefile builds the router for a board (its build
// and cross targets): stripped, -trimpath, without net/http's bundled
// HTTP/2, which nothing in the router uses, and with the packages far
// from the routing path compiled without inlining (the Makefile's
// NOINLINE). -ldflags stays last.
var release = []string{"build", "-trimpath", "-tags", "nethttpomithttp2",
	"-gcflags=github.com/miekg/dns=-l", "-gcflags=github.com/grandcat/zeroconf=-l", "-gcflags=encoding/json=-l",
	"-gcflags=crypto/x509=-l", "-gcflags=encoding/asn1=-l", "-gcflags=net/http=-l",
	"-ldflags", "-s -w -X main.version=bench"}

// buildWampedge makes the release build for this machine.
func (h *harness) buildWampedge() (string, error) {
	bin := filepath.Join(h.tmp, "wampedge")
	_, err := goOutput(h.root, []string{"CGO_ENABLED=0"}, append(release, "-o", bin, "./cmd/wampedge")...)
	return bin, err
}

// arch is a cross-compilation target of the size table.
type arch struct {
	name string
	env  []string
}

var sizeArches = []arch{
	{"linux/amd64", []string{"GOOS=linux", "GOARCH=amd64"}},
	{"linux/arm64", []string{"GOOS=linux", "GOARCH=arm64"}},
	{"linux/arm (GOARM=7)", []string{"GOOS=linux", "GOARCH=arm", "GOARM=7"}},
}

// sizes builds wampedge and nexus's own router daemon, nexusd, stripped
// for each architecture, and reads Mosquitto's installed binary.
func (h *harness) sizes(arches []arch) ([]sizeRow, error) {
	we := sizeRow{program: "wampedge", bytes: map[string]int64{}}
	nx := sizeRow{program: "nexusd " + nexusVersion, bytes: map[string]int64{},
		note: "nexus's router daemon (github.com/gammazero/nexus/v3/nexusd), built the same way"}
	for _, a := range arches {
		h.logf("  building for %s", a.name)
		env := append([]string{"CGO_ENABLED=0"}, a.env...)
		for _, b := range []struct {
			row      *sizeRow
			dir, pkg string
		}{{&we, h.root, "./cmd/wampedge"}, {&nx, h.testDir, "github.com/gammazero/nexus/v3/nexusd"}} {
			out := filepath.Join(h.tmp, "size", a.name, filepath.Base(b.pkg))
			args := slices.Clone(release)
			if slices.Contains(a.env, "GOARCH=arm") {
				// As make cross links for 32-bit ARM: segments aligned to
				// its 4 KiB pages, not 64 KiB (120 KB less padding).
				args[len(args)-1] = "-s -w -R 4096 -X main.version=bench"
			}
			if _, err := goOutput(b.dir, env, append(args, "-o", out, b.pkg)...); err != nil {
				return nil, err
			}
			fi, err := os.Stat(out)
			if err != nil {
				return nil, err
			}
			b.row.bytes[a.name] = fi.Size()
		}
	}
	rows := []sizeRow{we, nx}
	if h.mosquittoBin != "" {
		if fi, err := os.Stat(h.mosquittoBin); err == nil {
			rows = append(rows, sizeRow{program: "mosquitto " + h.mosquittoVersion,
				bytes: map[string]int64{hostArch(): fi.Size()},
				note:  "Debian's build of this machine's architecture, dynamically linked: its shared libraries (libc, libssl, libcrypto, libcjson) come on top"})
		}
	}
	return rows, nil
}

// hostArch is this machine's row name in sizeArches.
func hostArch() string {
	for _, a := range sizeArches {
		if slices.Contains(a.env, "GOARCH="+runtime.GOARCH) {
			return a.name
		}
	}
	return runtime.GOOS + "/" + runtime.GOARCH
}

// commit names the router's source: the commit, and whether the
// working tree differs from it. Read-only git commands.
func commit(root string) string {
	out, err := exec.Command("git", "-C", root, "rev-parse", "--short", "HEAD").Output()
	if err != nil {
		return "unknown"
	}
	c := strings.TrimSpace(string(out))
	if st, err := exec.Command("git", "-C", root, "status", "--porcelain", "--untracked-files=no").Output(); err == nil && len(st) > 0 {
		c += " with uncommitted changes"
	}
	return c
}
