package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// clockTick is USER_HZ, the unit of the CPU times in /proc: 100 on every
// Linux the router runs on (it is fixed in the kernel's ABI).
const clockTick = 100

// cpuTicks is a process's user + system CPU time in clock ticks, all its
// threads together (/proc/PID/stat fields 14 and 15).
func cpuTicks(pid int) (int64, error) {
	name := "/proc/self/stat"
	if pid > 0 {
		name = fmt.Sprintf("/proc/%d/stat", pid)
	}
	data, err := os.ReadFile(name)
	if err != nil {
		return 0, err
	}
	// The command name, field 2, is in parentheses and may hold spaces.
	end := bytes.LastIndexByte(data, ')')
	if end < 0 {
		return 0, fmt.Errorf("%s: no command name", name)
	}
	f := strings.Fields(string(data[end+1:]))
	if len(f) < 13 {
		return 0, fmt.Errorf("%s: %d fields", name, len(f))
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64)
	stime, err2 := strconv.ParseInt(f[12], 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		return 0, fmt.Errorf("%s: %w", name, err)
	}
	return utime + stime, nil
}

// rssBytes is a process's resident set (VmRSS).
func rssBytes(pid int) (int64, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return kb << 10, err
		}
	}
	return 0, errors.New("no VmRSS line")
}

// systemTicks are the machine's busy and total CPU ticks, all cores
// (/proc/stat's first line). Steal counts as busy: on a VM it is time the
// host gave to someone else.
func systemTicks() (busy, total int64, err error) {
	data, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, 0, err
	}
	line, _, _ := bytes.Cut(data, []byte("\n"))
	f := strings.Fields(string(line))
	if len(f) < 8 || f[0] != "cpu" {
		return 0, 0, fmt.Errorf("/proc/stat: unexpected first line %q", line)
	}
	for i, s := range f[1:] {
		if i >= 8 { // guest time is already in user
			break
		}
		v, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return 0, 0, err
		}
		total += v
		if i != 3 && i != 4 { // idle and iowait
			busy += v
		}
	}
	return busy, total, nil
}

// quietness says how busy the machine may be before a measurement, and
// how long to wait for it to get there.
type quietness struct {
	maxBusy float64       // cores others may keep busy (0.15)
	maxWait time.Duration // how long one wait may take
	budget  time.Duration // how long all waits together may take
}

// wait returns once the machine's busy share stayed under maxBusy for a
// sample of 300 ms, or after maxWait, or when the invocation's budget for
// waiting is spent (then it samples once); false means it never did.
func (q *quietness) wait() (quiet bool, busy float64) {
	const sample = 300 * time.Millisecond
	if q.maxWait <= 0 {
		return true, 0
	}
	began := time.Now()
	deadline := began.Add(min(q.maxWait, q.budget))
	defer func() { q.budget = max(0, q.budget-time.Since(began)+sample) }()
	for {
		b0, t0, err := systemTicks()
		time.Sleep(sample)
		b1, t1, err2 := systemTicks()
		if err != nil || err2 != nil || t1 == t0 {
			return true, 0 // no /proc/stat: nothing to wait for
		}
		busy = float64(b1-b0) / float64(t1-t0) * float64(runtime.NumCPU())
		if busy <= q.maxBusy {
			return true, busy
		}
		if time.Now().After(deadline) {
			return false, busy
		}
	}
}

// cpuWatch measures the CPU that processes other than the harness and
// the router under test used during a measurement.
type cpuWatch struct {
	pid, helper                    int // the router; the harness's keep-awake process (0: none)
	start                          time.Time
	busy0, self0, router0, helper0 int64
}

func watchCPU(pid, helper int) *cpuWatch {
	w := &cpuWatch{pid: pid, helper: helper, start: time.Now()}
	w.busy0, _, _ = systemTicks()
	w.self0, _ = cpuTicks(0)
	if helper > 0 {
		w.helper0, _ = cpuTicks(helper)
	}
	if pid > 0 {
		w.router0, _ = cpuTicks(pid)
	}
	return w
}

// routerTicks is the router's CPU time since the watch started; 0 for
// a router whose process the harness does not know.
func (w *cpuWatch) routerTicks() int64 {
	if w.pid <= 0 {
		return 0
	}
	t, _ := cpuTicks(w.pid)
	return t - w.router0
}

// foreign is the average number of cores that other processes kept busy.
func (w *cpuWatch) foreign() float64 {
	busy, _, _ := systemTicks()
	self, _ := cpuTicks(0)
	others := (busy - w.busy0) - (self - w.self0) - w.routerTicks()
	if w.helper > 0 {
		helper, _ := cpuTicks(w.helper)
		others -= helper - w.helper0
	}
	secs := time.Since(w.start).Seconds()
	if secs <= 0 || others <= 0 {
		return 0
	}
	return float64(others) / clockTick / secs
}

// raiseFileLimit raises RLIMIT_NOFILE to its hard limit and returns it.
// Set explicitly, the limit is inherited by the routers the harness
// starts (Go restores the original soft limit in children otherwise).
func raiseFileLimit() (uint64, error) {
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
		return 0, err
	}
	rl.Cur = rl.Max
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
		return 0, err
	}
	return rl.Cur, nil
}

// machine describes the computer for the report.
func machine() string {
	cpu := "unknown CPU"
	if data, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(data), "\n") {
			if v, ok := strings.CutPrefix(line, "model name"); ok {
				cpu = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(v), ":"))
				break
			}
		}
	}
	mem := ""
	if data, err := os.ReadFile("/proc/meminfo"); err == nil {
		line, _, _ := strings.Cut(string(data), "\n")
		if f := strings.Fields(line); len(f) >= 2 {
			if kb, err := strconv.ParseInt(f[1], 10, 64); err == nil {
				mem = fmt.Sprintf(", %.1f GiB RAM", float64(kb)/(1<<20))
			}
		}
	}
	kernel := ""
	if data, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		kernel = ", Linux " + strings.TrimSpace(string(data))
	}
	return fmt.Sprintf("%s, %d cores%s%s, %s/%s, %s", cpu, runtime.NumCPU(), mem, kernel, runtime.GOOS, runtime.GOARCH, runtime.Version())
}
