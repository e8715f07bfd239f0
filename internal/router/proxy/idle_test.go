package proxy

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// idleRouter is singleUnitRouter with server options.
func idleRouter(t *testing.T, o Options, so ServerOptions, endpoint string) *router {
	t.Helper()
	l := listenLoopback(t)
	o.Unit, o.Outlier = "a", noEjection
	r := startRouter(t, l, o, so, Route{Name: "accounts", Host: "*", ShardMap: "users"})
	spec := twoUnitMap(1, l.Addr().String(), "127.0.0.1:1")
	spec.Units[0].FailoverTo = ""
	r.SetShardMap("users", compile(t, spec))
	r.SetEndpoints("accounts", []string{endpoint})
	return r
}

// scriptedUpstream runs serve on every connection after reading the
// request head, and reports on ended when serve returns: serve returns
// once the router closed the connection.
func scriptedUpstream(t *testing.T, serve func(c net.Conn)) (addr string, ended chan struct{}) {
	t.Helper()
	l := listenLoopback(t)
	t.Cleanup(func() { _ = l.Close() })
	ended = make(chan struct{}, 4)
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			t.Cleanup(func() { _ = c.Close() })
			go func() {
				defer func() { ended <- struct{}{} }()
				if _, err := http.ReadRequest(bufio.NewReader(c)); err != nil {
					return
				}
				serve(c)
			}()
		}
	}()
	return l.Addr().String(), ended
}

func waitEnded(t *testing.T, ended chan struct{}, what string) {
	t.Helper()
	select {
	case <-ended:
	case <-time.After(10 * time.Second):
		t.Fatalf("%s: the router still holds the upstream connection after 10s", what)
	}
}

// TestBodyIdleTimeoutClientStopsReading: a client that reads the head of a
// large response and then stops reading fills the socket buffers; the
// router's write that makes no progress for the body idle timeout ends the
// client's connection and the upstream's, on the lean path and on
// connections served by net/http (HTTP/1.0).
func TestBodyIdleTimeoutClientStopsReading(t *testing.T) {
	const size = 256 << 20 // far more than socket buffers hold
	for _, proto := range []string{"HTTP/1.1", "HTTP/1.0"} {
		t.Run(proto, func(t *testing.T) {
			up, ended := scriptedUpstream(t, func(c net.Conn) {
				fmt.Fprintf(c, "HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n", size)
				chunk := bytes.Repeat([]byte("x"), 32<<10)
				for written := 0; written < size; written += len(chunk) {
					if _, err := c.Write(chunk); err != nil {
						return
					}
				}
			})
			metrics := newTestMetrics(t)
			r := idleRouter(t, Options{Metrics: metrics}, ServerOptions{BodyIdleTimeout: 200 * time.Millisecond}, up)
			c, err := net.Dial("tcp", r.addr)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			fmt.Fprintf(c, "GET / %s\r\nHost: x\r\nX-Cafe-Uid: U1001\r\n\r\n", proto)
			br := bufio.NewReader(c)
			_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
			resp, err := http.ReadResponse(br, nil)
			if err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			waitEnded(t, ended, "client stopped reading")
			t.Logf("upstream connection ended %v after the client stopped reading", time.Since(start).Round(time.Millisecond))
			// Reading again finds the connection closed short of the
			// declared length.
			_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
			n, err := io.Copy(io.Discard, resp.Body)
			if !errors.Is(err, io.ErrUnexpectedEOF) || n >= size {
				t.Fatalf("client read %d of %d bytes, then %v; want the connection closed short", n, size, err)
			}
			waitAborted(t, metrics, abortClientStalled)
		})
	}
}

// TestBodyIdleTimeoutUpstreamStalls: an upstream that sends the head and
// part of the body and then stalls, on a route with no request timeout,
// is given up on after the body idle timeout: the client's connection ends
// short of the declared length and the upstream's is closed. An upstream
// that is slow but keeps sending is not cut.
func TestBodyIdleTimeoutUpstreamStalls(t *testing.T) {
	o := Options{Upstream: TransportOptions{BodyIdleTimeout: 200 * time.Millisecond}}
	t.Run("stalled", func(t *testing.T) {
		o := o
		o.Metrics = newTestMetrics(t)
		up, ended := scriptedUpstream(t, func(c net.Conn) {
			_, _ = io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n0123456789")
			_, _ = io.Copy(io.Discard, c) // until the router closes
		})
		r := idleRouter(t, o, ServerOptions{}, up)
		c, err := net.Dial("tcp", r.addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
		io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\nX-Cafe-Uid: U1001\r\n\r\n")
		start := time.Now()
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			t.Fatal(err)
		}
		body, err := io.ReadAll(resp.Body)
		if !errors.Is(err, io.ErrUnexpectedEOF) || string(body) != "0123456789" {
			t.Fatalf("client read %q, then %v; want the 10 bytes sent and the connection closed short", body, err)
		}
		if took := time.Since(start); took > 2*time.Second {
			t.Errorf("cut after %v with a 200ms body idle timeout", took)
		}
		waitEnded(t, ended, "upstream stalled")
		waitAborted(t, o.Metrics, abortUpstreamStalled)
	})
	t.Run("slow but progressing", func(t *testing.T) {
		up, _ := scriptedUpstream(t, func(c net.Conn) {
			_, _ = io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 20\r\n\r\n")
			for i := 0; i < 20; i++ {
				time.Sleep(50 * time.Millisecond) // 1s in all, 50ms between bytes
				if _, err := io.WriteString(c, "x"); err != nil {
					return
				}
			}
			_, _ = io.Copy(io.Discard, c)
		})
		r := idleRouter(t, o, ServerOptions{BodyIdleTimeout: 200 * time.Millisecond}, up)
		resp, body := get(t, r.addr, "/", uid(1))
		if resp.StatusCode != http.StatusOK || body != "xxxxxxxxxxxxxxxxxxxx" {
			t.Fatalf("got %d %q, want the whole slow body", resp.StatusCode, body)
		}
	})
}

func newTestMetrics(t *testing.T) *Metrics {
	t.Helper()
	m, err := NewMetrics(prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// waitAborted waits until the route's aborted-responses counter shows one
// abort for want and none for any other reason.
func waitAborted(t *testing.T, m *Metrics, want abortReason) {
	t.Helper()
	reasons := []abortReason{abortClientGone, abortClientStalled, abortUpstreamStalled, abortUpstreamBroken}
	deadline := time.Now().Add(5 * time.Second)
	for {
		got := map[abortReason]float64{}
		for _, r := range reasons {
			got[r] = testutil.ToFloat64(m.aborts.WithLabelValues("accounts", string(r)))
		}
		if got[want] == 1 {
			for _, r := range reasons {
				if r != want && got[r] != 0 {
					t.Fatalf("aborted responses %v; want one %s only", got, want)
				}
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("aborted responses %v; want one %s", got, want)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
