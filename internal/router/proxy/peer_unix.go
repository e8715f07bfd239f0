//go:build unix

package proxy

import (
	"net"
	"syscall"
)

// peeker checks an idle connection with one non-blocking peek. It is set
// up once per connection, since every reuse is checked: a check then costs
// no allocation.
type peeker struct {
	c   net.Conn
	raw syscall.RawConn // nil when c has no file descriptor
	err error
	fn  func(fd uintptr) bool
	// open is fn's verdict; buf its peek.
	open bool
	buf  [1]byte
}

func (p *peeker) init(c net.Conn) {
	p.c = c
	if sc, ok := c.(syscall.Conn); ok {
		p.raw, p.err = sc.SyscallConn()
	}
	p.fn = func(fd uintptr) bool {
		n, _, err := syscall.Recvfrom(int(fd), p.buf[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		// Nothing to read is the only sign of a healthy idle connection.
		p.open = n < 0 && (err == syscall.EAGAIN || err == syscall.EWOULDBLOCK)
		return true
	}
}

// peerOpen reports whether the peer of an idle connection has not closed
// it (or sent bytes it should not have).
func (p *peeker) peerOpen() bool {
	// An expired read deadline left by the last exchange would fail the
	// peek.
	if p.err != nil || p.c.SetReadDeadline(noDeadline) != nil {
		return false
	}
	if p.raw == nil {
		return true
	}
	p.open = false
	return p.raw.Read(p.fn) == nil && p.open
}
