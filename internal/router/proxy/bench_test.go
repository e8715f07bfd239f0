package proxy

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
)

// BenchmarkProxy measures the lean path end to end on loopback: a client
// keep-alive connection to the Server, shard extraction, table lookup,
// endpoint choice and a pooled keep-alive round trip to a backend. Run
// with -benchmem, and -cpuprofile to see where a request's CPU goes.
func BenchmarkProxy(b *testing.B) {
	body := []byte("ok\n")
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write(body)
	}))
	defer backend.Close()
	l := listenLoopback(b)
	r := startRouter(b, l, Options{Unit: "a"}, ServerOptions{})
	r.SetShardMap("users", compile(b, twoUnitMap(1, "127.0.0.1:1", "127.0.0.1:2")))
	r.SetEndpoints("accounts", []string{backend.Listener.Addr().String()})

	c, err := net.Dial("tcp", r.addr)
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	br := bufio.NewReader(c)
	const request = "GET /accounts/balance HTTP/1.1\r\nHost: bank.example\r\nX-Cafe-Uid: U1001\r\n\r\n"
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := io.WriteString(c, request); err != nil {
			b.Fatal(err)
		}
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			b.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			b.Fatalf("status %d", resp.StatusCode)
		}
	}
}
