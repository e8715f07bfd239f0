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

// closeWatcher is an upstream that answers every request with "ok" and
// reports when the router closes one of its connections.
func closeWatcher(t *testing.T) (string, chan struct{}) {
	t.Helper()
	l := listenLoopback(t)
	t.Cleanup(func() { _ = l.Close() })
	closed := make(chan struct{}, 16)
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			t.Cleanup(func() { _ = c.Close() })
			go func() {
				defer func() { closed <- struct{}{} }()
				br := bufio.NewReader(c)
				for {
					if _, err := http.ReadRequest(br); err != nil {
						return
					}
					_, _ = io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
				}
			}()
		}
	}()
	return l.Addr().String(), closed
}

func idleAddrs(p *upstreamPool) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.idle)
}

// TestIdleUpstreamConnectionsReaped: a connection idle for IdleConnTimeout
// is closed even when no request comes for its address again, and the
// address is forgotten.
func TestIdleUpstreamConnectionsReaped(t *testing.T) {
	up, closed := closeWatcher(t)
	r := singleUnitRouter(t, Options{Outlier: noEjection, Upstream: TransportOptions{IdleConnTimeout: 100 * time.Millisecond}}, Route{}, up)
	if resp, _ := get(t, r.addr, "/", uid(10)); resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d", resp.StatusCode)
	}
	select {
	case <-closed:
	case <-time.After(2 * time.Second):
		t.Fatal("the idle upstream connection is still open after 2s, with a 100ms idle timeout")
	}
	deadline := time.Now().Add(time.Second)
	for idleAddrs(r.upstreams) != 0 {
		if time.Now().After(deadline) {
			t.Fatal("the pool still holds the address of its expired connection")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestDroppedEndpointIdleConnectionsClosed: idle connections to an endpoint
// dropped from the route close at once.
func TestDroppedEndpointIdleConnectionsClosed(t *testing.T) {
	up, closed := closeWatcher(t)
	other := newBackend(t, "other", nil)
	r := singleUnitRouter(t, Options{Outlier: noEjection}, Route{}, up)
	if resp, _ := get(t, r.addr, "/", uid(10)); resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d", resp.StatusCode)
	}
	r.SetEndpoints("accounts", []string{other.addr()})
	select {
	case <-closed:
	case <-time.After(2 * time.Second):
		t.Fatal("the idle connection to a dropped endpoint is still open")
	}
}

// TestSweepKeepsFreshConnections: a sweep closes the expired bottom of each
// idle stack, keeps the rest in order, and forgets emptied addresses.
func TestSweepKeepsFreshConnections(t *testing.T) {
	p := newUpstreamPool(TransportOptions{IdleConnTimeout: time.Hour})
	now := time.Now()
	conn := func(addr string, idle time.Duration) *upstreamConn {
		c, peer := net.Pipe()
		t.Cleanup(func() { _ = c.Close(); _ = peer.Close() })
		return &upstreamConn{conn: c, addr: addr, pool: p, idleAt: now.Add(-idle)}
	}
	a1, a2, a3 := conn("a", 3*time.Hour), conn("a", 2*time.Hour), conn("a", time.Minute)
	b1 := conn("b", 2*time.Hour)
	p.mu.Lock()
	p.idle["a"] = []*upstreamConn{a1, a2, a3}
	p.idle["b"] = []*upstreamConn{b1}
	p.sweeping = true
	p.mu.Unlock()
	p.sweep()
	p.mu.Lock()
	defer p.mu.Unlock()
	if got := p.idle["a"]; len(got) != 1 || got[0] != a3 {
		t.Errorf("address a keeps %d connections, want only the fresh one", len(got))
	}
	if _, ok := p.idle["b"]; ok {
		t.Error("address b, all expired, is still in the pool")
	}
	if !p.sweeping {
		t.Error("no sweep scheduled for the connection left")
	}
	if _, err := a1.conn.Write([]byte("x")); err == nil {
		t.Error("an expired connection is still open")
	}
}

// TestReusedPastHeaderDeadline: a pooled connection whose last exchange
// left a read deadline, long expired when it is reused, still passes the
// reuse check: the deadline does not concern the peek, and the next
// exchange sets its own.
func TestReusedPastHeaderDeadline(t *testing.T) {
	const ok = "HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nnormal"
	up, conns := rawUpstream(t, ok, ok)
	r := singleUnitRouter(t, Options{Outlier: noEjection}, Route{Timeouts: Timeouts{ResponseHeader: 250 * time.Millisecond}}, up)
	get(t, r.addr, "/first", uid(10))
	time.Sleep(400 * time.Millisecond)
	if resp, body := get(t, r.addr, "/second", uid(10)); body != "normal" {
		t.Errorf("second request got %d %q", resp.StatusCode, body)
	}
	if n := conns.Load(); n != 1 {
		t.Errorf("upstream saw %d connections, want the first one reused", n)
	}
}
