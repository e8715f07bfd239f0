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
	var id uint64
	srv.mu.Lock()
	for fc := range srv.conns {
		id = fc.hangupID
	}
	srv.mu.Unlock()
	if id == 0 {
		t.Fatal("the connection is not registered with the hang-up watcher")
	}
	_ = c.Close()
	h := hangups()
	for start := time.Now(); time.Since(start) < 3*time.Second; time.Sleep(10 * time.Millisecond) {
		h.mu.Lock()
		_, registered := h.watches[id]
		h.mu.Unlock()
		if !registered {
			return
		}
	}
	t.Error("a closed connection is still registered with the hang-up watcher")
}
