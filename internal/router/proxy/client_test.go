package proxy

import (
	"io"
	"net"
	"net/http"
	"testing"
	"time"
)

// TestUpstreamClosingIdleConnections: a backend that closes keep-alive
// connections after a short idle time must not fail the next request, even
// a POST, which may not be sent twice.
func TestUpstreamClosingIdleConnections(t *testing.T) {
	b := newBackend(t, "a", nil)
	r := singleUnitRouter(t, Options{Outlier: noEjection}, Route{}, b.addr())
	for i := 0; i < 3; i++ {
		if resp, body := do(t, http.MethodPost, r.addr, "/", uid(1), "payment"); resp.StatusCode != http.StatusOK {
			t.Fatalf("POST %d after the backend closed its idle connection: %d %q", i, resp.StatusCode, body)
		}
		b.CloseClientConnections() // as an idle timeout would
		time.Sleep(100 * time.Millisecond)
	}
}

// TestSlowHeadIsCut: a client that sends its head slower than the read
// header timeout allows loses its connection (slowloris).
func TestSlowHeadIsCut(t *testing.T) {
	b := newBackend(t, "a", nil)
	l := listenLoopback(t)
	r := startRouter(t, l, Options{Unit: "a"}, ServerOptions{ReadHeaderTimeout: 100 * time.Millisecond})
	r.SetShardMap("users", compile(t, twoUnitMap(1, l.Addr().String(), "127.0.0.1:1")))
	r.SetEndpoints("accounts", []string{b.addr()})
	c, err := net.Dial("tcp", r.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	start := time.Now()
	_, _ = io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\n")
	for time.Since(start) < 2*time.Second {
		if _, err := io.WriteString(c, "X-A: a\r\n"); err != nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	_ = c.SetReadDeadline(time.Now().Add(2 * time.Second))
	if n, err := c.Read(make([]byte, 1)); err == nil || n > 0 || time.Since(start) > 2*time.Second+time.Second {
		t.Fatalf("slow head still connected after %v (read %d, %v)", time.Since(start), n, err)
	}
	if b.hits.Load() != 0 {
		t.Fatal("a slow head reached the upstream")
	}
}
