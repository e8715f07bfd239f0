//go:build unix

package proxy

import (
	"net"
	"syscall"
)

// peerOpen reports whether the peer of an idle connection has not closed
// it (or sent bytes it should not have), with one non-blocking peek.
func peerOpen(c net.Conn) bool {
	// An expired read deadline left by the last exchange would fail the
	// peek.
	if c.SetReadDeadline(noDeadline) != nil {
		return false
	}
	sc, ok := c.(syscall.Conn)
	if !ok {
		return true
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return false
	}
	open := false
	var buf [1]byte
	err = raw.Read(func(fd uintptr) bool {
		n, _, err := syscall.Recvfrom(int(fd), buf[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		// Nothing to read is the only sign of a healthy idle connection.
		open = n < 0 && (err == syscall.EAGAIN || err == syscall.EWOULDBLOCK)
		return true
	})
	return err == nil && open
}
