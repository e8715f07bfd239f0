package proxy

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
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

// TestRequestTimeoutBoundsStalledBody: a client that stops sending its
// request body midway gets 504 once the route's request timeout passes.
func TestRequestTimeoutBoundsStalledBody(t *testing.T) {
	b := newBackend(t, "a", nil)
	r := singleUnitRouter(t, Options{Outlier: noEjection}, Route{Timeouts: Timeouts{Request: 300 * time.Millisecond}}, b.addr())
	for _, framing := range []string{"Content-Length: 100\r\n\r\n0123456789", "Transfer-Encoding: chunked\r\n\r\na\r\n0123456789\r\n"} {
		start := time.Now()
		out := rawRoundTrip(t, r.addr, "POST /a HTTP/1.1\r\nHost: x\r\nX-Cafe-Uid: U1010\r\n"+framing, 3*time.Second)
		if !strings.HasPrefix(out, "HTTP/1.1 504 ") {
			t.Errorf("%q: client got %q, want 504", framing, out)
		}
		if took := time.Since(start); took > 2*time.Second {
			t.Errorf("%q: answered after %v with a 300ms request timeout", framing, took)
		}
	}
}

// TestClientGoneCancelsExchange: a client that closes its connection while
// the upstream is still working cancels the upstream request.
func TestClientGoneCancelsExchange(t *testing.T) {
	for _, body := range []string{"", "payload"} {
		gone := make(chan time.Duration, 1)
		b := newBackend(t, "a", func(w http.ResponseWriter, r *http.Request) {
			start := time.Now()
			select {
			case <-r.Context().Done():
				gone <- time.Since(start)
			case <-time.After(3 * time.Second):
				gone <- -1
			}
		})
		metrics := newTestMetrics(t)
		r := singleUnitRouter(t, Options{Outlier: noEjection, Metrics: metrics}, Route{}, b.addr())
		c, err := net.Dial("tcp", r.addr)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = fmt.Fprintf(c, "POST /a HTTP/1.1\r\nHost: x\r\nX-Cafe-Uid: U01\r\nContent-Length: %d\r\n\r\n%s", len(body), body)
		time.Sleep(100 * time.Millisecond)
		_ = c.Close()
		if d := <-gone; d < 0 || d > time.Second {
			t.Errorf("body %q: the upstream request was cancelled after %v (-1: not within 3s)", body, d)
		}
		waitAborted(t, metrics, abortClientGone)
	}
}

// TestPipelinedRequestsWhileWatched: a request pipelined behind another
// is served after it, whatever the watch for the client's end read.
func TestPipelinedRequestsWhileWatched(t *testing.T) {
	b := newBackend(t, "a", func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(20 * time.Millisecond)
		_, _ = io.WriteString(w, r.URL.Path)
	})
	r := singleUnitRouter(t, Options{Outlier: noEjection}, Route{}, b.addr())
	c, err := net.Dial("tcp", r.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	br := bufio.NewReader(c)
	for i, path := range []string{"/1", "/2", "/3"} {
		head := "GET " + path + " HTTP/1.1\r\nHost: x\r\nX-Cafe-Uid: U01\r\n\r\n"
		if i == 0 {
			// The second request arrives while the first is served.
			_, _ = io.WriteString(c, head)
			time.Sleep(5 * time.Millisecond)
			continue
		}
		_, _ = io.WriteString(c, head)
	}
	_ = c.SetReadDeadline(time.Now().Add(3 * time.Second))
	for _, path := range []string{"/1", "/2", "/3"} {
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatalf("reading the response to %s: %v", path, err)
		}
		body, _ := io.ReadAll(resp.Body)
		if string(body) != path {
			t.Errorf("response %q, want %q", body, path)
		}
	}
}
