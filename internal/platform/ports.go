package platform

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"syscall"
	"time"
)

// PortInUseError says which port is taken and by what role.
type PortInUseError struct {
	Role string
	Port int
}

func (e *PortInUseError) Error() string {
	return fmt.Sprintf("port %d for the %s is already in use: stop whatever listens there (`ss -ltnp 'sport = :%d'`) or choose another port with the matching flag", e.Port, e.Role, e.Port)
}

// checkPortFree fails with a PortInUseError if 127.0.0.1:port is taken.
func checkPortFree(role string, port int) error {
	l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err != nil {
		if errors.Is(err, syscall.EADDRINUSE) {
			return &PortInUseError{Role: role, Port: port}
		}
		return fmt.Errorf("check port %d for the %s: %w", port, role, err)
	}
	return l.Close()
}

// FreePort asks the kernel for a loopback port that is unused at the moment.
func FreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// FreeAddr is FreePort as a host:port address on 127.0.0.1.
func FreeAddr() (string, error) {
	port, err := FreePort()
	if err != nil {
		return "", err
	}
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), nil
}

// WaitListening waits until something accepts connections on addr.
func WaitListening(addr string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s did not accept connections within %v: %w", addr, timeout, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// listening reports whether something accepts connections on 127.0.0.1:port.
func listening(port int) bool {
	c, err := net.Dial("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err != nil {
		return false
	}
	c.Close()
	return true
}
