package proxy

import (
	"bufio"
	"bytes"
	"fmt"
	"net"
	"net/http"
	"testing"
	"time"
)

// silentUpstream accepts connections and never reads from them.
func silentUpstream(t *testing.T) string {
	t.Helper()
	l := listenLoopback(t)
	t.Cleanup(func() { _ = l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			t.Cleanup(func() { _ = c.Close() })
		}
	}()
	return l.Addr().String()
}

// TestResponseHeaderTimeoutCoversSending: an upstream that accepts a
// connection but never reads the request is given up on after the route's
// response-header timeout, even while the request body is being written.
func TestResponseHeaderTimeoutCoversSending(t *testing.T) {
	r := singleUnitRouter(t, Options{Outlier: noEjection}, Route{Timeouts: Timeouts{ResponseHeader: 300 * time.Millisecond}}, silentUpstream(t))
	c, err := net.Dial("tcp", r.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	const size = 9 << 20 // more than socket buffers hold
	start := time.Now()
	go func() {
		// The router stops reading the body when it gives up, and the
		// writes then fail.
		_, _ = fmt.Fprintf(c, "POST /a HTTP/1.1\r\nHost: x\r\nX-Cafe-Uid: U1001\r\nContent-Length: %d\r\n\r\n", size)
		_, _ = c.Write(bytes.Repeat([]byte("x"), size))
	}()
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("after %v: %v", time.Since(start), err)
	}
	if resp.StatusCode != http.StatusGatewayTimeout {
		t.Errorf("status %d, want 504", resp.StatusCode)
	}
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("took %v with a 300ms response-header timeout", took)
	}
}

// TestSlowBodyWithinResponseHeaderTimeout: a client body that streams
// slower than the response-header timeout, but steadily, is not cut by it.
func TestSlowBodyWithinResponseHeaderTimeout(t *testing.T) {
	b := newBackend(t, "a", nil)
	r := singleUnitRouter(t, Options{Outlier: noEjection}, Route{Timeouts: Timeouts{ResponseHeader: 200 * time.Millisecond}}, b.addr())
	c, err := net.Dial("tcp", r.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_, _ = c.Write([]byte("POST /a HTTP/1.1\r\nHost: x\r\nX-Cafe-Uid: U1001\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"))
	for i := 0; i < 5; i++ {
		time.Sleep(100 * time.Millisecond)
		_, _ = c.Write([]byte("1\r\nx\r\n"))
	}
	_, _ = c.Write([]byte("0\r\n\r\n"))
	_ = c.SetReadDeadline(time.Now().Add(3 * time.Second))
	buf := make([]byte, 12)
	if _, err := c.Read(buf); err != nil || !bytes.HasPrefix(buf, []byte("HTTP/1.1 200")) {
		t.Fatalf("got %q, %v; want 200", buf, err)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.bodies) != 1 || b.bodies[0] != "xxxxx" {
		t.Errorf("upstream got bodies %q", b.bodies)
	}
}
