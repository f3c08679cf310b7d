//go:build !linux

package netlimit

import "net"

// peerClosed is Linux-only (POLLRDHUP); elsewhere a connection counts
// until the server closes it.
func peerClosed(net.Conn) bool { return false }
