package proxy

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestInspectHead(t *testing.T) {
	tests := []struct {
		name    string
		head    string
		want    framing
		refusal string
	}{
		{"no body", "GET / HTTP/1.1\r\nHost: x\r\n\r\n", framing{}, ""},
		{"content length", "POST / HTTP/1.1\r\nContent-Length: 12\r\n\r\n", framing{length: 12}, ""},
		{"equal duplicate lengths", "POST / HTTP/1.1\r\nContent-Length: 3\r\ncontent-length:3 \r\n\r\n", framing{length: 3}, ""},
		{"chunked", "POST / HTTP/1.1\r\nTransfer-Encoding: Chunked\r\n\r\n", framing{chunked: true}, ""},
		{"length and encoding", "POST / HTTP/1.1\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n", framing{}, RefuseContentLengthWithTransferEncoding},
		{"encoding and length", "POST / HTTP/1.1\r\ntransfer-encoding: chunked\r\nCONTENT-LENGTH: 4\r\n\r\n", framing{}, RefuseContentLengthWithTransferEncoding},
		{"obs-fold", "GET / HTTP/1.1\r\nX-A: a\r\n b\r\n\r\n", framing{}, RefuseObsFold},
		{"obs-fold with tab", "GET / HTTP/1.1\r\nTransfer-Encoding:\r\n\tchunked\r\n\r\n", framing{}, RefuseObsFold},
		{"encoding in HTTP/1.0", "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", framing{}, RefuseTransferEncodingHTTP10},
		{"gzip encoding", "POST / HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", framing{}, RefuseUnsupportedTransferEncoding},
		{"two encodings", "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n", framing{}, RefuseUnsupportedTransferEncoding},
		{"differing lengths", "POST / HTTP/1.1\r\nContent-Length: 4\r\nContent-Length: 5\r\n\r\n", framing{}, RefuseBadContentLength},
		{"signed length", "POST / HTTP/1.1\r\nContent-Length: +4\r\n\r\n", framing{}, RefuseBadContentLength},
		{"listed length", "POST / HTTP/1.1\r\nContent-Length: 4, 4\r\n\r\n", framing{}, RefuseBadContentLength},
		{"bare CR", "GET / HTTP/1.1\r\nX-A: a\rb\r\n\r\n", framing{}, RefuseBareLF},
		{"no colon", "GET / HTTP/1.1\r\nX-A\r\n\r\n", framing{}, RefuseMalformedHead},
		{"HTTP/2 preface", "PRI * HTTP/2.0\r\n\r\n", framing{}, RefuseMalformedHead},
		{"short request line", "GET /\r\n\r\n", framing{}, RefuseMalformedHead},
	}
	for _, tc := range tests {
		got, refusal := inspectHead([]byte(tc.head))
		if got != tc.want || refusal != tc.refusal {
			t.Errorf("%s: inspectHead = %+v %q, want %+v %q", tc.name, got, refusal, tc.want, tc.refusal)
		}
	}
}

func TestParseChunkSize(t *testing.T) {
	for line, want := range map[string]int64{"0": 0, "1a": 26, "A;name=value": 10, "5 ": 5, "ffffffffffffff": 0xffffffffffffff} {
		if got, ok := parseChunkSize([]byte(line)); !ok || got != want {
			t.Errorf("parseChunkSize(%q) = %d, %v; want %d", line, got, ok, want)
		}
	}
	for _, line := range []string{"", "-1", "+1", "0x1", "g", "1_0", "ffffffffffffffff"} {
		if _, ok := parseChunkSize([]byte(line)); ok {
			t.Errorf("parseChunkSize(%q) accepted", line)
		}
	}
}

// exchangeRaw writes raw bytes to addr, half-closes, and returns everything
// read until the server closes the connection or a second passes.
func exchangeRaw(t *testing.T, addr, raw string) string {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := io.WriteString(c, raw); err != nil {
		t.Fatal(err)
	}
	// The client sends nothing more, as a client that cut a body short.
	_ = c.(*net.TCPConn).CloseWrite()
	_ = c.SetReadDeadline(time.Now().Add(time.Second))
	out, _ := io.ReadAll(c)
	return string(out)
}

func statusLines(out string) []string {
	var lines []string
	r := bufio.NewReader(strings.NewReader(out))
	for {
		resp, err := http.ReadResponse(r, nil)
		if err != nil {
			return lines
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		lines = append(lines, resp.Status)
	}
}

func TestSmugglingIsRefused(t *testing.T) {
	var refusals []string
	var mu sync.Mutex
	b := newBackend(t, "a", nil)
	l := listenLoopback(t)
	h, err := NewHandler(Options{Unit: "a"})
	if err != nil {
		t.Fatal(err)
	}
	if err := h.SetRoutes([]Route{{Name: "accounts", Host: "*", ShardMap: "users"}}); err != nil {
		t.Fatal(err)
	}
	h.SetShardMap("users", compile(t, twoUnitMap(1, l.Addr().String(), "127.0.0.1:1")))
	h.SetEndpoints("accounts", []string{b.addr()})
	srv := NewServer(h, ServerOptions{OnRefuse: func(reason string) {
		mu.Lock()
		refusals = append(refusals, reason)
		mu.Unlock()
	}})
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { _ = srv.Close() })

	const key = "X-Cafe-Uid: U0001\r\n"
	const smuggled = "GET /smuggled HTTP/1.1\r\nHost: x\r\n" + key + "\r\n"
	tests := []struct {
		name    string
		raw     string
		want    []string
		refusal string
		// headRefused means the upstream must not see the request at all;
		// a body refused midway follows a head already passed on.
		headRefused bool
	}{
		{"content length with transfer encoding",
			"POST /a HTTP/1.1\r\nHost: x\r\n" + key + "Content-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n" + smuggled,
			[]string{"400 Bad Request"}, RefuseContentLengthWithTransferEncoding, true},
		{"obs-fold hiding transfer encoding",
			"POST /a HTTP/1.1\r\nHost: x\r\n" + key + "Transfer-Encoding:\r\n chunked\r\n\r\n0\r\n\r\n" + smuggled,
			[]string{"400 Bad Request"}, RefuseObsFold, true},
		{"transfer encoding in HTTP/1.0",
			"POST /a HTTP/1.0\r\nHost: x\r\n" + key + "Connection: keep-alive\r\nTransfer-Encoding: chunked\r\n\r\n2a\r\n" + smuggled + "\r\n0\r\n\r\n",
			[]string{"400 Bad Request"}, RefuseTransferEncodingHTTP10, true},
		{"bare LF",
			"GET /a HTTP/1.1\nHost: x\n" + "X-Cafe-Uid: U0001\n\n",
			[]string{"400 Bad Request"}, RefuseBareLF, true},
		{"differing content lengths",
			"POST /a HTTP/1.1\r\nHost: x\r\n" + key + "Content-Length: 4\r\nContent-Length: 40\r\n\r\nabcd" + smuggled,
			[]string{"400 Bad Request"}, RefuseBadContentLength, true},
		{"malformed chunk size ends the connection",
			"POST /a HTTP/1.1\r\nHost: x\r\n" + key + "Transfer-Encoding: chunked\r\n\r\nzz\r\n" + smuggled,
			[]string{"400 Bad Request"}, RefuseMalformedHead, false},
		{"chunked body cut short",
			"POST /a HTTP/1.1\r\nHost: x\r\n" + key + "Transfer-Encoding: chunked\r\n\r\n10\r\nshort",
			[]string{"400 Bad Request"}, "", false},
		{"chunked body then a pipelined request",
			"POST /a HTTP/1.1\r\nHost: x\r\n" + key + "Transfer-Encoding: chunked\r\n\r\n4;ext=1\r\nbody\r\n0\r\nTrailer-A: 1\r\n\r\n" +
				"GET /b HTTP/1.1\r\nHost: x\r\n" + key + "Connection: close\r\n\r\n",
			[]string{"200 OK", "200 OK"}, "", false},
		{"content length body then a pipelined request",
			"POST /a HTTP/1.1\r\nHost: x\r\n" + key + "Content-Length: 4\r\n\r\nbody" +
				"GET /b HTTP/1.1\r\nHost: x\r\n" + key + "Connection: close\r\n\r\n",
			[]string{"200 OK", "200 OK"}, "", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			mu.Lock()
			refusals = nil
			mu.Unlock()
			before := b.hits.Load()
			got := statusLines(exchangeRaw(t, l.Addr().String(), tc.raw))
			if strings.Join(got, ",") != strings.Join(tc.want, ",") {
				t.Fatalf("responses %q, want %q", got, tc.want)
			}
			if tc.headRefused && b.hits.Load() != before {
				t.Errorf("a refused connection reached the upstream %d times", b.hits.Load()-before)
			}
			mu.Lock()
			defer mu.Unlock()
			if tc.refusal != "" && (len(refusals) != 1 || refusals[0] != tc.refusal) {
				t.Errorf("refusals %q, want [%q]", refusals, tc.refusal)
			}
		})
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, r := range b.requests {
		if r.URL.Path == "/smuggled" {
			t.Fatal("a smuggled request reached the upstream")
		}
	}
	whole := 0
	for _, body := range b.bodies {
		if body == "body" {
			whole++
		}
	}
	if whole != 2 {
		t.Errorf("bodies %q, want both pipelined POSTs' body intact", b.bodies)
	}
}

// TestGoAloneAcceptsSmuggling records why the guard exists: without it,
// net/http serves the request hidden behind Content-Length with
// Transfer-Encoding. If this starts failing, net/http has learned to refuse
// it and the guard's own check may be dropped.
func TestGoAloneAcceptsSmuggling(t *testing.T) {
	var paths []string
	var mu sync.Mutex
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		paths = append(paths, r.URL.Path)
		mu.Unlock()
	}))
	defer srv.Close()
	raw := "POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n"
	exchangeRaw(t, srv.Listener.Addr().String(), raw)
	mu.Lock()
	defer mu.Unlock()
	if strings.Join(paths, ",") != "/a,/smuggled" {
		t.Fatalf("net/http alone served %q", paths)
	}
	// It does refuse differing Content-Length headers by itself.
	out := exchangeRaw(t, srv.Listener.Addr().String(), "POST /b HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab")
	if !strings.HasPrefix(out, "HTTP/1.1 400 Bad Request") {
		t.Fatalf("net/http answered %q", out)
	}
}
