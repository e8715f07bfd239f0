package proxy

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestBytesAfterResponseNotPooled: bytes an upstream sends past the end of a
// response (beyond its Content-Length, or a body on a bodiless response)
// never become the answer to the next request on that connection.
func TestBytesAfterResponseNotPooled(t *testing.T) {
	injected := "HTTP/1.1 200 OK\r\nContent-Length: 8\r\n\r\ninjected"
	for _, tc := range []struct {
		name, method, first string
	}{
		{"past Content-Length", http.MethodGet, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi" + injected},
		{"body on 204", http.MethodGet, "HTTP/1.1 204 No Content\r\n\r\n" + injected},
		{"body on 304", http.MethodGet, "HTTP/1.1 304 Not Modified\r\n\r\n" + injected},
		{"body to HEAD", http.MethodHead, "HTTP/1.1 200 OK\r\nContent-Length: 8\r\n\r\n" + injected},
	} {
		t.Run(tc.name, func(t *testing.T) {
			up, conns := rawUpstream(t, tc.first, "HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nnormal")
			r := singleUnitRouter(t, Options{Outlier: noEjection}, Route{}, up)
			do(t, tc.method, r.addr, "/first", uid(10), "")
			resp, body := get(t, r.addr, "/second", uid(10))
			if resp.StatusCode != http.StatusOK || body != "normal" {
				t.Errorf("second request got %d %q, want the upstream's own answer", resp.StatusCode, body)
			}
			if n := conns.Load(); n != 2 {
				t.Errorf("upstream saw %d connections, want 2", n)
			}
		})
	}
}

// TestLateBytesOnIdleConnection: bytes that arrive on a pooled connection
// after its response, however soon it is reused, mark it unusable.
func TestLateBytesOnIdleConnection(t *testing.T) {
	l := listenLoopback(t)
	t.Cleanup(func() { _ = l.Close() })
	var conns atomic.Int64
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			conns.Add(1)
			t.Cleanup(func() { _ = c.Close() })
			go func() {
				br := bufio.NewReader(c)
				first := true
				for {
					req, err := http.ReadRequest(br)
					if err != nil {
						return
					}
					_, _ = io.Copy(io.Discard, req.Body)
					_, _ = io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nnormal")
					if first {
						// Once the router has read the response.
						time.Sleep(5 * time.Millisecond)
						_, _ = io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 8\r\n\r\ninjected")
						first = false
					}
				}
			}()
		}
	}()
	r := singleUnitRouter(t, Options{Outlier: noEjection}, Route{}, l.Addr().String())
	get(t, r.addr, "/first", uid(10))
	time.Sleep(20 * time.Millisecond) // well under any idle probe threshold
	if resp, body := get(t, r.addr, "/second", uid(10)); body != "normal" {
		t.Errorf("second request got %d %q", resp.StatusCode, body)
	}
	if n := conns.Load(); n != 2 {
		t.Errorf("upstream saw %d connections, want 2", n)
	}
}

// TestClosedWithoutAnswerReplayedOnce: an upstream that reads a request and
// closes the connection without answering gets a replayable request twice
// at most, however many idle connections to it the pool holds.
func TestClosedWithoutAnswerReplayedOnce(t *testing.T) {
	l := listenLoopback(t)
	t.Cleanup(func() { _ = l.Close() })
	var drop atomic.Bool
	var dropped atomic.Int64
	var wg sync.WaitGroup
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			t.Cleanup(func() { _ = c.Close() })
			go func() {
				defer c.Close()
				br := bufio.NewReader(c)
				for {
					if _, err := http.ReadRequest(br); err != nil {
						return
					}
					if drop.Load() {
						dropped.Add(1)
						return
					}
					wg.Wait() // every connection busy at once, so each is pooled
					_, _ = io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
				}
			}()
		}
	}()
	r := singleUnitRouter(t, Options{Outlier: noEjection}, Route{}, l.Addr().String())
	const warm = 6
	wg.Add(warm)
	var clients sync.WaitGroup
	for i := 0; i < warm; i++ {
		clients.Add(1)
		go func() {
			defer clients.Done()
			c, err := net.Dial("tcp", r.addr)
			if err != nil {
				t.Error(err)
				return
			}
			defer c.Close()
			_, _ = io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\nX-Cafe-Uid: U1010\r\nConnection: close\r\n\r\n")
			time.Sleep(50 * time.Millisecond)
			wg.Done()
			_, _ = io.ReadAll(c)
		}()
	}
	clients.Wait()
	drop.Store(true)
	resp, _ := get(t, r.addr, "/", uid(10))
	if resp.StatusCode != http.StatusBadGateway {
		t.Errorf("status %d, want 502", resp.StatusCode)
	}
	if n := dropped.Load(); n > 2 {
		t.Errorf("the upstream got the request %d times, want 2 at most", n)
	}
}
