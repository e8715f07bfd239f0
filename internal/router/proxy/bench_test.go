package proxy

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
)

// BenchmarkProxy measures the handler's hot path: shard extraction, table
// lookup, endpoint choice and a keep-alive round trip to a loopback
// backend. Run with -benchmem.
func BenchmarkProxy(b *testing.B) {
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "ok")
	}))
	defer backend.Close()
	h, err := NewHandler(Options{Unit: "a"})
	if err != nil {
		b.Fatal(err)
	}
	if err := h.SetRoutes([]Route{{Name: "accounts", Host: "*", ShardMap: "users"}}); err != nil {
		b.Fatal(err)
	}
	h.SetShardMap("users", compile(b, twoUnitMap(1, "127.0.0.1:1", "127.0.0.1:2")))
	h.SetEndpoints("accounts", []string{backend.Listener.Addr().String()})

	req := httptest.NewRequest(http.MethodGet, "http://bank.example/accounts/1", nil)
	req.Header.Set("X-Cafe-Uid", "U1007")
	req.Header.Set(HeaderRequestID, "bench")
	w := &discardWriter{header: http.Header{}}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		clear(w.header)
		w.status = 0
		h.ServeHTTP(w, req)
		if w.status != http.StatusOK {
			b.Fatalf("status %d", w.status)
		}
	}
}

type discardWriter struct {
	header http.Header
	status int
}

func (w *discardWriter) Header() http.Header { return w.header }
func (w *discardWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
}
func (w *discardWriter) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return len(p), nil
}
