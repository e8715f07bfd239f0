package proxy

import (
	"io"
	"net"
	"net/http"
	"testing"
	"time"
)

// TestHangupWatcherRegistration: a plaintext connection is registered with
// the hang-up watcher while it lasts, and forgotten once it closes.
func TestHangupWatcherRegistration(t *testing.T) {
	l := listenLoopback(t)
	srv := NewServer(http.NotFoundHandler(), ServerOptions{})
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { _ = srv.Close() })
	c, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.WriteString(c, "GET /a HTTP/1.1\r\nHost: x\r\n\r\n")
	_ = c.SetReadDeadline(time.Now().Add(3 * time.Second))
	if _, err := c.Read(make([]byte, 1)); err != nil {
		t.Fatal(err)
	}
	var watch *clientWatch
	srv.mu.Lock()
	for fc := range srv.conns {
		watch = &fc.watch
	}
	srv.mu.Unlock()
	if !registered(watch) {
		t.Fatal("the connection is not registered with the hang-up watcher")
	}
	_ = c.Close()
	for start := time.Now(); time.Since(start) < 3*time.Second; time.Sleep(10 * time.Millisecond) {
		if !registered(watch) {
			return
		}
	}
	t.Error("a closed connection is still registered with the hang-up watcher")
}

// registered reports whether the hang-up watcher holds a connection's
// watch.
func registered(watch *clientWatch) bool {
	h := hangups()
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, w := range h.watches {
		if w == watch {
			return true
		}
	}
	return false
}
