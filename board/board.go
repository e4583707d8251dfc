package board

import "strings"

// Sizes in bytes.
const (
	KiB = 1 << 10
	MiB = 1 << 20
	GiB = 1 << 30
)

// Profile is one build target and the runtime defaults that fit it.
type Profile struct {
	Name        string   // what -board and the Makefile call it
	Aliases     []string // other names Lookup accepts
	Description string   // the boards it is for, and their memory

	// The Go target. GOARM and GOMIPS are empty where they do not apply.
	GOOS, GOARCH, GOARM, GOMIPS string

	// SerialDevices are where the board's own UARTs and USB-serial
	// adapters usually appear, the most likely first.
	SerialDevices []string

	// MemoryLimit is the Go runtime's soft memory limit (what GOMEMLIMIT
	// sets); 0 leaves the runtime's default, no limit.
	MemoryLimit int64
	// QueueBytes bounds each session's outbound queue (limits.queue_bytes).
	QueueBytes int
	// MaxLength is the largest message a client may send
	// (limits.max_length).
	MaxLength int
	// MaxSessions is the number of sessions the other defaults are sized
	// for: MaxSessions × QueueBytes stays within half of MemoryLimit.
	// The router does not cap sessions by it yet.
	MaxSessions int
}

// Serial devices every Linux board may have: USB-serial adapters (FTDI,
// CP210x, CH340) and USB-CDC microcontrollers (RP2040, ESP32-S3, STM32).
var usbSerial = []string{"/dev/ttyUSB0", "/dev/ttyACM0"}

func devices(own ...string) []string { return append(own, usbSerial...) }

var profiles = []Profile{
	{
		Name: "rpi1", Aliases: []string{"rpi-zero", "rpi0"},
		Description: "Raspberry Pi 1, Zero and Zero W: ARMv6, 256-512 MiB",
		GOOS:        "linux", GOARCH: "arm", GOARM: "6",
		// serial0 is the GPIO 14/15 UART: ttyAMA0, or ttyS0 where
		// Bluetooth takes the PL011 (Zero W).
		SerialDevices: devices("/dev/serial0", "/dev/ttyAMA0", "/dev/ttyS0"),
		MemoryLimit:   64 * MiB, QueueBytes: 256 * KiB, MaxLength: 256 * KiB, MaxSessions: 64,
	},
	{
		Name:        "rpi2",
		Description: "Raspberry Pi 2: ARMv7, 1 GiB",
		GOOS:        "linux", GOARCH: "arm", GOARM: "7",
		SerialDevices: devices("/dev/serial0", "/dev/ttyAMA0"),
		MemoryLimit:   128 * MiB, QueueBytes: 256 * KiB, MaxLength: 1 * MiB, MaxSessions: 256,
	},
	{
		Name:        "rpi3",
		Description: "Raspberry Pi 3 and Zero 2 W with a 32-bit OS: ARMv7, 512 MiB-1 GiB",
		GOOS:        "linux", GOARCH: "arm", GOARM: "7",
		// Bluetooth has the PL011, so serial0 is the mini UART ttyS0
		// unless dtoverlay=disable-bt gives it back.
		SerialDevices: devices("/dev/serial0", "/dev/ttyS0", "/dev/ttyAMA0"),
		MemoryLimit:   128 * MiB, QueueBytes: 256 * KiB, MaxLength: 1 * MiB, MaxSessions: 256,
	},
	{
		Name:        "beaglebone",
		Description: "BeagleBone Black and Green: ARMv7 (Cortex-A8), 512 MiB",
		GOOS:        "linux", GOARCH: "arm", GOARM: "7",
		// UART1, 2 and 4 on the headers (ttyS0 is the debug console);
		// BeagleBoard images also name them /dev/bone/uart/N.
		SerialDevices: devices("/dev/ttyS1", "/dev/ttyS2", "/dev/ttyS4", "/dev/bone/uart/1"),
		MemoryLimit:   96 * MiB, QueueBytes: 256 * KiB, MaxLength: 1 * MiB, MaxSessions: 128,
	},
	{
		Name:        "rpi4",
		Description: "Raspberry Pi 4, 400 and CM4 with a 64-bit OS: arm64, 1-8 GiB",
		GOOS:        "linux", GOARCH: "arm64",
		// serial0 is ttyS0 while Bluetooth has the PL011; the uart2-5
		// overlays add ttyAMA1 and on.
		SerialDevices: devices("/dev/serial0", "/dev/ttyS0", "/dev/ttyAMA0", "/dev/ttyAMA1"),
		MemoryLimit:   512 * MiB, QueueBytes: 512 * KiB, MaxLength: 1 * MiB, MaxSessions: 512,
	},
	{
		Name:        "rpi5",
		Description: "Raspberry Pi 5 and CM5: arm64, 2-16 GiB",
		GOOS:        "linux", GOARCH: "arm64",
		// The RP1's UART0 on GPIO 14/15 is ttyAMA0; the 3-pin debug
		// connector is ttyAMA10.
		SerialDevices: devices("/dev/serial0", "/dev/ttyAMA0", "/dev/ttyAMA10"),
		MemoryLimit:   1 * GiB, QueueBytes: 512 * KiB, MaxLength: 1 * MiB, MaxSessions: 1024,
	},
	{
		Name:        "arm64",
		Description: "Other 64-bit ARM Linux boards (Rock, Odroid, Jetson, i.MX 8): 1 GiB and more",
		GOOS:        "linux", GOARCH: "arm64",
		SerialDevices: devices("/dev/ttyS0", "/dev/ttyAMA0"),
		MemoryLimit:   512 * MiB, QueueBytes: 512 * KiB, MaxLength: 1 * MiB, MaxSessions: 512,
	},
	{
		Name:        "openwrt-mipsle",
		Description: "OpenWrt gateways on little-endian MIPS without an FPU (MT7621, MT7628, MT7688): 64-256 MiB",
		GOOS:        "linux", GOARCH: "mipsle", GOMIPS: "softfloat",
		// ttyS0 is usually the console; ttyS1 the free UART.
		SerialDevices: devices("/dev/ttyS1", "/dev/ttyS2"),
		MemoryLimit:   24 * MiB, QueueBytes: 64 * KiB, MaxLength: 64 * KiB, MaxSessions: 32,
	},
	{
		Name:        "riscv64",
		Description: "64-bit RISC-V Linux boards (VisionFive 2, Milk-V Mars, Lichee Pi 4A): 1 GiB and more",
		GOOS:        "linux", GOARCH: "riscv64",
		SerialDevices: devices("/dev/ttyS0", "/dev/ttyS1"),
		MemoryLimit:   128 * MiB, QueueBytes: 256 * KiB, MaxLength: 1 * MiB, MaxSessions: 256,
	},
	{
		Name:        "amd64",
		Description: "A PC or x86-64 gateway",
		GOOS:        "linux", GOARCH: "amd64",
		SerialDevices: devices("/dev/ttyS0"),
		MemoryLimit:   0, QueueBytes: 1 * MiB, MaxLength: 1 * MiB, MaxSessions: 4096,
	},
}

// All returns every profile, in the order they are documented.
func All() []Profile {
	out := make([]Profile, len(profiles))
	for i, p := range profiles {
		out[i] = p.clone()
	}
	return out
}

// Lookup finds a profile by name or alias, ignoring case.
func Lookup(name string) (Profile, bool) {
	for _, p := range profiles {
		if strings.EqualFold(p.Name, name) {
			return p.clone(), true
		}
		for _, a := range p.Aliases {
			if strings.EqualFold(a, name) {
				return p.clone(), true
			}
		}
	}
	return Profile{}, false
}

// clone copies the slices, so that callers cannot change the table.
func (p Profile) clone() Profile {
	p.Aliases = append([]string(nil), p.Aliases...)
	p.SerialDevices = append([]string(nil), p.SerialDevices...)
	return p
}

// Env is the go tool's environment for building for the profile.
func (p Profile) Env() []string {
	env := []string{"GOOS=" + p.GOOS, "GOARCH=" + p.GOARCH}
	if p.GOARM != "" {
		env = append(env, "GOARM="+p.GOARM)
	}
	if p.GOMIPS != "" {
		env = append(env, "GOMIPS="+p.GOMIPS)
	}
	return env
}

// Target is the Go target in short: "linux/arm GOARM=7".
func (p Profile) Target() string {
	env := p.Env()
	s := p.GOOS + "/" + p.GOARCH
	for _, e := range env[2:] {
		s += " " + e
	}
	return s
}
