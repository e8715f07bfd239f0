package proxy

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"strconv"
	"syscall"
	"testing"
	"time"
)

// unacceptingListener is a loopback port whose accept queue is full: the
// kernel drops further SYNs, so a connect hangs as it would to a host that
// is gone, without any packet leaving the machine.
func unacceptingListener(t *testing.T) string {
	t.Helper()
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Close(fd) })
	if err := syscall.Bind(fd, &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Listen(fd, 0); err != nil {
		t.Fatal(err)
	}
	sa, err := syscall.Getsockname(fd)
	if err != nil {
		t.Fatal(err)
	}
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(sa.(*syscall.SockaddrInet4).Port))
	// Fill the accept queue (nothing ever accepts); a dial that does not
	// complete shows the queue is full.
	for i := 0; i < 4; i++ {
		c, err := net.DialTimeout("tcp", addr, 100*time.Millisecond)
		if err != nil {
			return addr
		}
		t.Cleanup(func() { c.Close() })
	}
	t.Fatal("the listener's accept queue never filled")
	return ""
}

// TestDialTimeoutBoundsAnUpstreamThatNeverAnswers: connecting to an endpoint
// that takes no connection ends after the dial timeout with a 5xx that names
// the upstream, not after the kernel's minutes of SYN retries.
func TestDialTimeoutBoundsAnUpstreamThatNeverAnswers(t *testing.T) {
	const dialTimeout = 200 * time.Millisecond
	addr := unacceptingListener(t)
	r := singleUnitRouter(t, Options{Outlier: noEjection, Upstream: TransportOptions{DialTimeout: dialTimeout}},
		Route{}, addr)
	start := time.Now()
	resp, body := get(t, r.addr, "/", uid(1))
	took := time.Since(start)
	if resp.StatusCode < 500 {
		t.Fatalf("status %d %q, want a 5xx for an upstream that never accepts", resp.StatusCode, body)
	}
	if took < dialTimeout || took > 10*dialTimeout {
		t.Errorf("answered after %v; want about the dial timeout %v (one attempt)", took, dialTimeout)
	}
	t.Logf("%d after %v: %s", resp.StatusCode, took, body)
}

// TestIdleClientConnectionIsClosed: a keep-alive client connection with no
// request for the idle timeout is closed by the router.
func TestIdleClientConnectionIsClosed(t *testing.T) {
	const idle = 200 * time.Millisecond
	b := newBackend(t, "a", nil)
	r := idleRouter(t, Options{}, ServerOptions{IdleTimeout: idle}, b.addr())
	c, err := net.Dial("tcp", r.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := io.WriteString(c, "GET /accounts/balance HTTP/1.1\r\nHost: bank.example\r\nX-Cafe-Uid: U1001\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d", resp.StatusCode)
	}
	served := time.Now()
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	n, err := c.Read(make([]byte, 1))
	took := time.Since(served)
	if n != 0 || err != io.EOF {
		t.Fatalf("read after the idle time: %d bytes, %v; want EOF (the router closes the connection)", n, err)
	}
	if took < idle/2 || took > 10*idle {
		t.Errorf("closed %v after the last response; want about the idle timeout %v", took, idle)
	}
}
