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
	raw syscall.RawConn // nil when the connection has no file descriptor
	err error
	fn  func(fd uintptr)
	// open is fn's verdict; buf its peek.
	open bool
	buf  [1]byte
}

func (p *peeker) init(c net.Conn) {
	if sc, ok := c.(syscall.Conn); ok {
		p.raw, p.err = sc.SyscallConn()
	}
	p.fn = func(fd uintptr) {
		n, _, err := syscall.Recvfrom(int(fd), p.buf[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		// Nothing to read is the only sign of a healthy idle connection.
		p.open = n < 0 && (err == syscall.EAGAIN || err == syscall.EWOULDBLOCK)
	}
}

// peerOpen reports whether the peer of an idle connection has not closed
// it (or sent bytes it should not have).
func (p *peeker) peerOpen() bool {
	if p.err != nil {
		return false
	}
	if p.raw == nil {
		return true
	}
	// Control, not Read: a read deadline the last exchange left, expired
	// or not, does not concern the peek, and the next exchange sets its
	// own before reading.
	p.open = false
	return p.raw.Control(p.fn) == nil && p.open
}
