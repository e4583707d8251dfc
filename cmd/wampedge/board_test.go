package main

import (
	"bytes"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"runtime/debug"
	"strings"
	"testing"

	boards "github.com/wampedge/wampedge/board"
)

// The board directory: sample configs, the systemd unit, OpenWrt's init
// script.
const boardDir = "../../board"

func TestBoardDefaults(t *testing.T) {
	p, _ := boards.Lookup("openwrt-mipsle")
	fc := fileConfig{}
	boardDefaults(p, &fc)
	if rc := fc.routerConfig(); rc.QueueBytes != p.QueueBytes {
		t.Errorf("router queue bytes %d, want the board's %d", rc.QueueBytes, p.QueueBytes)
	}
	if lc := fc.listenConfig(listenerConfig{URL: "tcp://127.0.0.1:0"}); lc.MaxLength != p.MaxLength {
		t.Errorf("listener max length %d, want the board's %d", lc.MaxLength, p.MaxLength)
	}

	// The config file wins over the board.
	fc = fileConfig{Limits: limitsConfig{QueueBytes: 4096, MaxLength: 2048}}
	boardDefaults(p, &fc)
	if fc.Limits.QueueBytes != 4096 || fc.Limits.MaxLength != 2048 {
		t.Errorf("limits %+v: the board overrode the config file", fc.Limits)
	}
}

// applyBoard sets the memory limit, unless GOMEMLIMIT does; it changes the
// test process's limit, so it restores it.
func TestApplyBoardMemoryLimit(t *testing.T) {
	before := debug.SetMemoryLimit(-1)
	t.Cleanup(func() { debug.SetMemoryLimit(before) })
	t.Setenv("GOMEMLIMIT", "")
	os.Unsetenv("GOMEMLIMIT")

	p, err := applyBoard("rpi-zero", &fileConfig{})
	if err != nil || p.Name != "rpi1" {
		t.Fatalf("applyBoard(rpi-zero) = %q, %v; want rpi1", p.Name, err)
	}
	if got := debug.SetMemoryLimit(-1); got != p.MemoryLimit {
		t.Errorf("memory limit %d, want the board's %d", got, p.MemoryLimit)
	}
	var log bytes.Buffer
	logBoard(slog.New(slog.NewTextHandler(&log, nil)), p, &fileConfig{Limits: limitsConfig{QueueBytes: 1000}})
	for _, want := range []string{"board=rpi1", "memory_limit=64MiB", "queue_bytes=1000"} {
		if !strings.Contains(log.String(), want) {
			t.Errorf("log %q does not say %s", log.String(), want)
		}
	}

	debug.SetMemoryLimit(math.MaxInt64)
	t.Setenv("GOMEMLIMIT", "100MiB")
	if _, err := applyBoard("rpi3", &fileConfig{}); err != nil {
		t.Fatal(err)
	}
	if got := debug.SetMemoryLimit(-1); got != math.MaxInt64 {
		t.Errorf("memory limit %d with GOMEMLIMIT set; the board must leave it", got)
	}

	if p, err := applyBoard("", &fileConfig{}); err != nil || p.Name != "" {
		t.Errorf("applyBoard(\"\") = %q, %v; want nothing applied", p.Name, err)
	}
	if _, err := applyBoard("esp32", &fileConfig{}); err == nil || !strings.Contains(err.Error(), "-boards") {
		t.Errorf("applyBoard(esp32): %v, want an error pointing at -boards", err)
	}
}

func TestVersionString(t *testing.T) {
	saved := [3]string{version, commit, board}
	t.Cleanup(func() { version, commit, board = saved[0], saved[1], saved[2] })
	for _, tc := range []struct{ version, commit, board, want string }{
		{"v1.2.0", "abc1234", "", "wampedge v1.2.0 (commit abc1234, board none)"},
		{"v1.2.0", "abc1234", "rpi3", "wampedge v1.2.0 (commit abc1234, board rpi3)"},
	} {
		version, commit, board = tc.version, tc.commit, tc.board
		if got := versionString(); got != tc.want {
			t.Errorf("versionString() = %q, want %q", got, tc.want)
		}
	}
	// Without -ldflags: whatever the toolchain stamped, each part named.
	version, commit, board = "dev", "", ""
	if got := versionString(); !strings.HasPrefix(got, "wampedge ") || !strings.Contains(got, " (commit ") || !strings.HasSuffix(got, ", board none)") {
		t.Errorf("versionString() = %q, want the version, commit and board named", got)
	}
	stamped := []debug.BuildSetting{{Key: "vcs.revision", Value: "0123456789abcdef"}, {Key: "vcs.modified", Value: "true"}}
	if got := vcsCommit(stamped); got != "0123456-dirty" {
		t.Errorf("vcsCommit = %q, want 0123456-dirty", got)
	}
}

// sampleConfigs are the configs the board tarballs carry.
func sampleConfigs(t *testing.T) []string {
	t.Helper()
	more, err := filepath.Glob(filepath.Join(boardDir, "*", "wampedge.json"))
	if err != nil {
		t.Fatal(err)
	}
	return append([]string{filepath.Join(boardDir, "wampedge.json")}, more...)
}

// Every sample config passes -check, alone and under every board.
func TestSampleConfigs(t *testing.T) {
	for _, path := range sampleConfigs(t) {
		d := startDaemon(t, "-check", "-config", path)
		if code := d.wait(t); code != 0 || !strings.Contains(d.stdout.String(), "OK") {
			t.Errorf("wampedge -check -config %s: exit %d\n%s%s", path, code, d.stdout.String(), d.stderr.String())
		}
		for _, p := range boards.All() {
			fc, err := loadConfig(path)
			if err != nil {
				t.Fatal(err)
			}
			boardDefaults(p, fc)
			if err := fc.check(); err != nil {
				t.Errorf("%s with board %s: %v", path, p.Name, err)
			}
		}
	}
}

// The command lines the systemd unit and OpenWrt's init script run are
// valid, with their sample configs in place of the installed ones.
func TestLauncherCommandLines(t *testing.T) {
	for _, tc := range []struct {
		launcher, config string
		command          *regexp.Regexp
	}{
		{"systemd/wampedge.service", "wampedge.json", regexp.MustCompile(`(?m)^ExecStart=(.*)$`)},
		{"openwrt-mipsle/wampedge.init", "openwrt-mipsle/wampedge.json", regexp.MustCompile(`(?m)^\s*procd_set_param command (.*)$`)},
	} {
		t.Run(tc.launcher, func(t *testing.T) {
			text, err := os.ReadFile(filepath.Join(boardDir, tc.launcher))
			if err != nil {
				t.Fatal(err)
			}
			m := tc.command.FindSubmatch(text)
			if m == nil {
				t.Fatalf("no command line matching %v", tc.command)
			}
			// The init script's shell variables, as it sets them.
			line := os.Expand(strings.ReplaceAll(string(m[1]), `"`, ""), func(name string) string {
				v := regexp.MustCompile(`(?m)^` + name + `=(.*)$`).FindSubmatch(text)
				if v == nil {
					t.Fatalf("%s uses $%s and does not set it", tc.launcher, name)
				}
				return string(v[1])
			})
			args := strings.Fields(line)[1:]
			found := false
			for i := range args {
				if args[i] == "-config" && i+1 < len(args) {
					args[i+1], found = filepath.Join(boardDir, tc.config), true
				}
			}
			if !found {
				t.Fatalf("command line %q gives no -config", line)
			}
			d := startDaemon(t, append(args, "-check")...)
			if code := d.wait(t); code != 0 {
				t.Errorf("wampedge %s -check: exit %d\n%s", strings.Join(args, " "), code, d.stderr.String())
			}
		})
	}
}

func TestBoardFlags(t *testing.T) {
	sample := filepath.Join(boardDir, "wampedge.json")
	d := startDaemon(t, "-boards")
	if code := d.wait(t); code != 0 {
		t.Fatalf("-boards: exit %d: %s", code, d.stderr.String())
	}
	for _, p := range boards.All() {
		for _, want := range []string{p.Name, p.Target(), p.Description, p.SerialDevices[0]} {
			if !strings.Contains(d.stdout.String(), want) {
				t.Errorf("-boards does not show %q:\n%s", want, d.stdout.String())
			}
		}
	}

	d = startDaemon(t, "-board", "esp32", "-check", "-config", sample)
	if code := d.wait(t); code != 2 || !strings.Contains(d.stderr.String(), `no board "esp32"`) {
		t.Errorf("-board esp32: exit %d, stderr %q; want 2 and the name", code, d.stderr.String())
	}
	d = startDaemon(t, "-board", "rpi-zero", "-check", "-config", sample)
	if code := d.wait(t); code != 0 {
		t.Errorf("-board rpi-zero -check: exit %d, stderr %q", code, d.stderr.String())
	}
}

func TestByteSize(t *testing.T) {
	for n, want := range map[int64]string{64 << 20: "64MiB", 1 << 30: "1GiB", 256 << 10: "256KiB", 1500: "1500B", 3 << 19: "1536KiB"} {
		if got := byteSize(n); got != want {
			t.Errorf("byteSize(%d) = %q, want %q", n, got, want)
		}
	}
}
