package mdns

import (
	"os"
	"strconv"

	"golang.org/x/sys/unix"
)

// mdnsPort is where zeroconf's sockets are bound.
const mdnsPort = 5353

// restrictMulticast turns IP_MULTICAST_ALL (and its IPv6 twin) off on
// this process's mDNS sockets. Linux otherwise hands a socket the mDNS
// group's traffic from every interface where any socket joined it, and
// zeroconf answers on whichever interface a query came from: with avahi
// running on the board, a router told -mdns-iface eth0 would also answer
// on wlan0. With the option off a socket hears only the interfaces it
// joined itself. zeroconf does not expose its sockets, so they are found
// among the process's descriptors.
func restrictMulticast() {
	fds, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return
	}
	for _, e := range fds {
		fd, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if typ, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_TYPE); err != nil || typ != unix.SOCK_DGRAM {
			continue
		}
		switch sa, _ := unix.Getsockname(fd); sa := sa.(type) {
		case *unix.SockaddrInet4:
			if sa.Port == mdnsPort {
				unix.SetsockoptInt(fd, unix.IPPROTO_IP, unix.IP_MULTICAST_ALL, 0)
			}
		case *unix.SockaddrInet6:
			if sa.Port == mdnsPort {
				unix.SetsockoptInt(fd, unix.IPPROTO_IPV6, unix.IPV6_MULTICAST_ALL, 0)
			}
		}
	}
}
