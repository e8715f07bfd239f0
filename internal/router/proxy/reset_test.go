package proxy

import (
	"bufio"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// resettingUpstream reads each request's head, writes partial (which may
// be empty) and then resets the connection: SO_LINGER 0 makes Close send a
// TCP RST instead of a FIN. requests counts the heads read.
func resettingUpstream(t *testing.T, partial string) (addr string, requests *atomic.Int64) {
	t.Helper()
	l := listenLoopback(t)
	t.Cleanup(func() { _ = l.Close() })
	requests = new(atomic.Int64)
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				if _, err := http.ReadRequest(bufio.NewReader(c)); err != nil {
					return
				}
				requests.Add(1)
				if partial != "" {
					_, _ = io.WriteString(c, partial)
					// Let the bytes reach the router before the reset,
					// which would otherwise discard them.
					time.Sleep(50 * time.Millisecond)
				}
				_ = c.(*net.TCPConn).SetLinger(0)
			}()
		}
	}()
	return l.Addr().String(), requests
}

// TestUpstreamResetBeforeResponse: an upstream that resets the connection
// before a byte of the response is a transient failure (see classify and
// retryAllowed, TestRetries): an idempotent request is retried on another
// endpoint, up to the route's retries, and then answered 502; a POST is
// never retried.
func TestUpstreamResetBeforeResponse(t *testing.T) {
	t.Run("GET retried on another endpoint", func(t *testing.T) {
		reset, resets := resettingUpstream(t, "")
		live := newBackend(t, "a", nil)
		r := singleUnitRouter(t, Options{Outlier: noEjection}, Route{Retries: RetryPolicy{Attempts: 1}}, reset, live.addr())
		for i := 0; i < 20; i++ {
			if resp, body := get(t, r.addr, "/", uid(1)); resp.StatusCode != http.StatusOK || body != "hello from a" {
				t.Fatalf("GET %d: %d %q", i, resp.StatusCode, body)
			}
		}
		if resets.Load() == 0 {
			t.Fatal("the resetting endpoint was never tried")
		}
		if got, want := live.hits.Load(), int64(20); got != want {
			t.Errorf("live endpoint got %d requests, want %d", got, want)
		}
	})
	t.Run("GET answered 502 once retries are spent", func(t *testing.T) {
		a, aResets := resettingUpstream(t, "")
		b, bResets := resettingUpstream(t, "")
		r := singleUnitRouter(t, Options{Outlier: noEjection}, Route{Retries: RetryPolicy{Attempts: 1}}, a, b)
		resp, body := get(t, r.addr, "/", uid(1))
		if resp.StatusCode != http.StatusBadGateway || !strings.Contains(body, `the upstream of route "accounts" in unit "a" failed (2 attempts)`) {
			t.Fatalf("got %d %q, want 502 after 2 attempts", resp.StatusCode, body)
		}
		if n := aResets.Load() + bResets.Load(); n != 2 {
			t.Errorf("upstreams saw %d requests, want 2", n)
		}
	})
	t.Run("GET without retries", func(t *testing.T) {
		reset, resets := resettingUpstream(t, "")
		r := singleUnitRouter(t, Options{Outlier: noEjection}, Route{}, reset)
		resp, body := get(t, r.addr, "/", uid(1))
		if resp.StatusCode != http.StatusBadGateway || !strings.Contains(body, "failed (1 attempts)") {
			t.Fatalf("got %d %q, want 502 after 1 attempt", resp.StatusCode, body)
		}
		if n := resets.Load(); n != 1 {
			t.Errorf("upstream saw %d requests, want 1", n)
		}
	})
	t.Run("POST not retried", func(t *testing.T) {
		a, aResets := resettingUpstream(t, "")
		b, bResets := resettingUpstream(t, "")
		r := singleUnitRouter(t, Options{Outlier: noEjection}, Route{Retries: RetryPolicy{Attempts: 3}}, a, b)
		// No body, so only the method forbids the retry.
		resp, body := do(t, http.MethodPost, r.addr, "/", uid(1), "")
		if resp.StatusCode != http.StatusBadGateway || !strings.Contains(body, "failed (1 attempts)") {
			t.Fatalf("got %d %q, want 502 after 1 attempt", resp.StatusCode, body)
		}
		if n := aResets.Load() + bResets.Load(); n != 1 {
			t.Errorf("upstreams saw %d POSTs, want 1", n)
		}
	})
}

// TestUpstreamResetMidBody: an upstream that resets the connection after
// the response head, with the body cut short, must not give the client a
// response that looks whole: the client's connection ends short of the
// declared length (or without the last chunk), and the upstream connection
// is not pooled. Nothing is retried: the client has the head already.
func TestUpstreamResetMidBody(t *testing.T) {
	for _, tc := range []struct{ name, partial string }{
		{"Content-Length", "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n0123456789"},
		{"chunked", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\na\r\n0123456789\r\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			reset, resets := resettingUpstream(t, tc.partial)
			metrics := newTestMetrics(t)
			r := singleUnitRouter(t, Options{Outlier: noEjection, Metrics: metrics}, Route{Retries: RetryPolicy{Attempts: 2}}, reset)
			c, err := net.Dial("tcp", r.addr)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			_ = c.SetDeadline(time.Now().Add(5 * time.Second))
			if _, err := io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\nX-Cafe-Uid: U1001\r\n\r\n"); err != nil {
				t.Fatal(err)
			}
			br := bufio.NewReader(c)
			resp, err := http.ReadResponse(br, nil)
			if err != nil {
				t.Fatalf("reading the head: %v", err)
			}
			body, err := io.ReadAll(resp.Body)
			if err == nil {
				t.Fatalf("client read a whole response: %d %q", resp.StatusCode, body)
			}
			if !errors.Is(err, io.ErrUnexpectedEOF) {
				t.Errorf("body read ended with %v, want an unexpected EOF", err)
			}
			if string(body) != "0123456789" {
				t.Errorf("client read %q before the cut, want the upstream's 10 bytes", body)
			}
			// The connection is closed, not kept for another response.
			if n, err := br.Read(make([]byte, 1)); n != 0 || err == nil {
				t.Errorf("client connection still open after the cut: %d, %v", n, err)
			}
			if n := idleAddrs(r.upstreams); n != 0 {
				t.Errorf("the reset upstream connection was pooled (%d idle addresses)", n)
			}
			if n := resets.Load(); n != 1 {
				t.Errorf("upstream saw %d requests, want 1 (a response begun is never retried)", n)
			}
			waitAborted(t, metrics, abortUpstreamBroken)
		})
	}
}
