package board_test

import (
	"fmt"
	"os"
	"os/exec"
	"reflect"
	"strings"
	"testing"

	"github.com/wampedge/wampedge/board"
)

// The boards the project promises a build for, by name and target.
func TestPromisedBoards(t *testing.T) {
	for _, tc := range []struct{ name, target string }{
		{"rpi1", "linux/arm GOARM=6"},
		{"rpi-zero", "linux/arm GOARM=6"},
		{"rpi2", "linux/arm GOARM=7"},
		{"rpi3", "linux/arm GOARM=7"},
		{"beaglebone", "linux/arm GOARM=7"},
		{"rpi4", "linux/arm64"},
		{"rpi5", "linux/arm64"},
		{"arm64", "linux/arm64"},
		{"openwrt-mipsle", "linux/mipsle GOMIPS=softfloat"},
		{"riscv64", "linux/riscv64"},
		{"amd64", "linux/amd64"},
	} {
		p, ok := board.Lookup(tc.name)
		if !ok {
			t.Errorf("no board %q", tc.name)
			continue
		}
		if p.Target() != tc.target {
			t.Errorf("%s: target %q, want %q", tc.name, p.Target(), tc.target)
		}
	}
}

func TestLookup(t *testing.T) {
	zero, ok := board.Lookup("RPI-Zero")
	if !ok || zero.Name != "rpi1" {
		t.Fatalf("Lookup(RPI-Zero) = %q, %v; want rpi1 by alias, ignoring case", zero.Name, ok)
	}
	if p, ok := board.Lookup("esp32"); ok {
		t.Fatalf("Lookup(esp32) = %q, want none", p.Name)
	}
	if _, ok := board.Lookup(""); ok {
		t.Fatal("Lookup(\"\") found a board")
	}
}

// Names and aliases are unique, so that -board NAME means one board and
// dist/NAME one directory.
func TestNamesUnique(t *testing.T) {
	seen := map[string]string{}
	for _, p := range board.All() {
		for _, n := range append([]string{p.Name}, p.Aliases...) {
			key := strings.ToLower(n)
			if other, dup := seen[key]; dup {
				t.Errorf("%q names both %s and %s", n, other, p.Name)
			}
			seen[key] = p.Name
			if n == "" || strings.ContainsAny(n, " /\t") {
				t.Errorf("%s: %q is not a usable name (it becomes a directory and a make word)", p.Name, n)
			}
		}
	}
}

// The defaults fit together: queues fit the memory limit, and every value
// is one the router accepts.
func TestDefaultsFit(t *testing.T) {
	for _, p := range board.All() {
		if p.Description == "" {
			t.Errorf("%s: no description", p.Name)
		}
		if p.QueueBytes <= 0 || p.MaxSessions <= 0 || p.MemoryLimit < 0 {
			t.Errorf("%s: queue %d, sessions %d, memory %d: want positive (memory 0 for none)", p.Name, p.QueueBytes, p.MaxSessions, p.MemoryLimit)
		}
		if p.MaxLength < 512 || p.MaxLength > 16*board.MiB {
			t.Errorf("%s: max length %d outside RawSocket's 512 B to 16 MiB", p.Name, p.MaxLength)
		}
		if p.MemoryLimit > 0 && int64(p.MaxSessions)*int64(p.QueueBytes) > p.MemoryLimit/2 {
			t.Errorf("%s: %d sessions × %d queue bytes exceed half the %d memory limit", p.Name, p.MaxSessions, p.QueueBytes, p.MemoryLimit)
		}
		if len(p.SerialDevices) == 0 {
			t.Errorf("%s: no serial devices", p.Name)
		}
		for _, d := range p.SerialDevices {
			if !strings.HasPrefix(d, "/dev/") {
				t.Errorf("%s: serial device %q is not under /dev", p.Name, d)
			}
		}
	}
}

// Every target is one the go tool builds for, with a valid variant.
func TestTargetsExist(t *testing.T) {
	out, err := exec.Command("go", "tool", "dist", "list").Output()
	if err != nil {
		t.Fatalf("go tool dist list: %v", err)
	}
	targets := map[string]bool{}
	for _, l := range strings.Fields(string(out)) {
		targets[l] = true
	}
	for _, p := range board.All() {
		if !targets[p.GOOS+"/"+p.GOARCH] {
			t.Errorf("%s: the go tool has no target %s/%s", p.Name, p.GOOS, p.GOARCH)
		}
		if p.GOARM != "" && (p.GOARCH != "arm" || !strings.Contains("5 6 7", p.GOARM)) {
			t.Errorf("%s: GOARM=%q with GOARCH=%s", p.Name, p.GOARM, p.GOARCH)
		}
		if p.GOMIPS != "" && (!strings.HasPrefix(p.GOARCH, "mips") || (p.GOMIPS != "softfloat" && p.GOMIPS != "hardfloat")) {
			t.Errorf("%s: GOMIPS=%q with GOARCH=%s", p.Name, p.GOMIPS, p.GOARCH)
		}
	}
}

func TestEnv(t *testing.T) {
	p, _ := board.Lookup("openwrt-mipsle")
	if want := []string{"GOOS=linux", "GOARCH=mipsle", "GOMIPS=softfloat"}; !reflect.DeepEqual(p.Env(), want) {
		t.Errorf("Env() = %q, want %q", p.Env(), want)
	}
	p, _ = board.Lookup("rpi4")
	if want := []string{"GOOS=linux", "GOARCH=arm64"}; !reflect.DeepEqual(p.Env(), want) {
		t.Errorf("Env() = %q, want %q", p.Env(), want)
	}
}

// What All and Lookup return is a copy: changing it leaves the table.
func TestCopies(t *testing.T) {
	all := board.All()
	all[0].SerialDevices[0] = "/dev/changed"
	all[0].Aliases[0] = "changed"
	p, _ := board.Lookup(all[0].Name)
	p.SerialDevices[1] = "/dev/changed"
	again := board.All()[0]
	if again.SerialDevices[0] == "/dev/changed" || again.SerialDevices[1] == "/dev/changed" || again.Aliases[0] == "changed" {
		t.Fatalf("the table changed through a returned profile: %+v", again)
	}
}

// The README's table of boards says what the profiles say.
func TestREADMETable(t *testing.T) {
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	size := func(n int64) string {
		switch {
		case n == 0:
			return "none"
		case n%board.GiB == 0:
			return fmt.Sprintf("%d GiB", n/board.GiB)
		case n%board.MiB == 0:
			return fmt.Sprintf("%d MiB", n/board.MiB)
		}
		return fmt.Sprintf("%d KiB", n/board.KiB)
	}
	for _, p := range board.All() {
		var row string
		for _, l := range strings.Split(string(readme), "\n") {
			if strings.HasPrefix(l, "| `"+p.Name+"`") {
				row = l // the table of boards comes first
				break
			}
		}
		if row == "" {
			t.Errorf("README: no row for %s in the table of boards", p.Name)
			continue
		}
		cells := strings.Split(row, " | ")
		want := []string{p.Target(), size(p.MemoryLimit), size(int64(p.QueueBytes)), size(int64(p.MaxLength)) + " |"}
		if len(cells) != 6 || cells[1] != want[0] || cells[3] != want[1] || cells[4] != want[2] || cells[5] != want[3] {
			t.Errorf("README row %q, want target %q, memory %q, queue %q, message %q", row, want[0], want[1], want[2], strings.TrimSuffix(want[3], " |"))
		}
		for _, a := range p.Aliases {
			if !strings.Contains(cells[0], "`"+a+"`") {
				t.Errorf("README row for %s does not name alias %s", p.Name, a)
			}
		}
	}
}
