package netlimit

import (
	"net"
	"syscall"

	"golang.org/x/sys/unix"
)

// peerClosed reports whether c's peer has closed or reset the connection
// (a FIN or RST received, even with unread bytes before it), without
// reading: poll(2) with POLLRDHUP and no timeout.
func peerClosed(c net.Conn) bool {
	sc, ok := c.(syscall.Conn)
	if !ok {
		return false
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return false
	}
	closed := false
	err = rc.Control(func(fd uintptr) {
		fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLRDHUP}}
		n, perr := unix.Poll(fds, 0)
		closed = perr == nil && n == 1 && fds[0].Revents&(unix.POLLRDHUP|unix.POLLHUP|unix.POLLERR) != 0
	})
	return err == nil && closed
}
