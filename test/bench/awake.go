package main

import (
	"os"
	"os/exec"
	"runtime"
	"syscall"
	"time"
	"unsafe"
)

// The keep-awake role keeps every core busy at the lowest priority there
// is (SCHED_IDLE), so that no core halts while a pattern bound by round
// trips runs (the lossless streams, the calls).
// On a VM, waking a halted virtual CPU costs 30–100 µs, more than a
// router's whole hop: measured with idle cores, the round trip of the
// relay, which does less than any router, came out above wampedge's in
// some runs. A SCHED_IDLE thread runs only when nothing else wants the
// core and yields it at once to any task that wakes, so the routers and
// the harness run as they would, minus the hypervisor's wake-up.
const roleAwake = "keep-awake"

// schedIdle is Linux's SCHED_IDLE policy.
const schedIdle = 5

// keepAwake spins on every core until killed.
func keepAwake() int {
	for range runtime.NumCPU() {
		go func() {
			runtime.LockOSThread()
			param := struct{ priority int32 }{0}
			if _, _, e := syscall.RawSyscall(syscall.SYS_SCHED_SETSCHEDULER, 0, schedIdle, uintptr(unsafe.Pointer(&param))); e != 0 {
				syscall.Setpriority(syscall.PRIO_PROCESS, 0, 19) // this thread, if SCHED_IDLE is refused
			}
			for {
			}
		}()
	}
	select {}
}

// awake is the keep-awake process, stopped (SIGSTOP) except while a
// pattern that asked for it runs.
type awake struct {
	cmd    *exec.Cmd
	exited chan struct{}
}

func startAwake(self string) (*awake, error) {
	cmd := exec.Command(self)
	cmd.Env = append(os.Environ(), roleEnv+"="+roleAwake)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	a := &awake{cmd: cmd, exited: make(chan struct{})}
	go func() { cmd.Wait(); close(a.exited) }()
	a.pause()
	return a, nil
}

func (a *awake) pid() int {
	if a == nil {
		return 0
	}
	return a.cmd.Process.Pid
}

func (a *awake) resume() {
	if a != nil {
		a.cmd.Process.Signal(syscall.SIGCONT)
	}
}

func (a *awake) pause() {
	if a != nil {
		a.cmd.Process.Signal(syscall.SIGSTOP)
	}
}

func (a *awake) stop() {
	if a == nil {
		return
	}
	a.cmd.Process.Kill()
	select {
	case <-a.exited:
	case <-time.After(5 * time.Second):
	}
}
