package proxy

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// rawUpstream is an upstream that answers each request it reads, on any
// connection, with the next of responses written verbatim, and closes the
// connection once they run out. It counts the connections it accepted.
func rawUpstream(t *testing.T, responses ...string) (string, *atomic.Int64) {
	t.Helper()
	l := listenLoopback(t)
	t.Cleanup(func() { _ = l.Close() })
	var conns atomic.Int64
	var mu sync.Mutex
	next := 0
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			conns.Add(1)
			t.Cleanup(func() { _ = c.Close() })
			go func() {
				defer c.Close()
				br := bufio.NewReader(c)
				for {
					req, err := http.ReadRequest(br)
					if err != nil {
						return
					}
					_, _ = io.Copy(io.Discard, req.Body)
					mu.Lock()
					if next >= len(responses) {
						mu.Unlock()
						return
					}
					resp := responses[next]
					next++
					mu.Unlock()
					if _, err := io.WriteString(c, resp); err != nil {
						return
					}
				}
			}()
		}
	}()
	return l.Addr().String(), &conns
}

// rawRoundTrip writes raw to a new connection and returns all it reads
// until the connection closes or wait passes.
func rawRoundTrip(t *testing.T, addr, raw string, wait time.Duration) string {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := io.WriteString(c, raw); err != nil {
		t.Fatal(err)
	}
	_ = c.SetReadDeadline(time.Now().Add(wait))
	out, _ := io.ReadAll(c)
	return string(out)
}

// readResponses parses the responses in out, for requests with the given
// methods, as a client would.
func readResponses(t *testing.T, out string, methods ...string) []*http.Response {
	t.Helper()
	br := bufio.NewReader(strings.NewReader(out))
	var resps []*http.Response
	for _, m := range methods {
		resp, err := http.ReadResponse(br, &http.Request{Method: m})
		if err != nil {
			break
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body = io.NopCloser(strings.NewReader(string(body)))
		resps = append(resps, resp)
	}
	if rest, _ := io.ReadAll(br); len(rest) > 0 {
		t.Errorf("bytes after the responses: %q", rest)
	}
	return resps
}

func bodyOf(resp *http.Response) string {
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

const pipelinedGets = "GET /a HTTP/1.1\r\nHost: x\r\nX-Cafe-Uid: U1010\r\n\r\n" +
	"GET /b HTTP/1.1\r\nHost: x\r\nX-Cafe-Uid: U1010\r\nConnection: close\r\n\r\n"

// TestUpstreamLengthWithChunkedRefused: an upstream response framed by both
// Content-Length and chunked encoding is refused (502), so its decoded body
// can never be relayed under its shorter length and split into a forged
// response to the client's next pipelined request.
func TestUpstreamLengthWithChunkedRefused(t *testing.T) {
	forged := "HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nforged"
	up, _ := rawUpstream(t,
		"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n"+
			"2d\r\nok"+forged+"\r\n0\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nsecond")
	r := singleUnitRouter(t, Options{Outlier: noEjection}, Route{}, up)
	out := rawRoundTrip(t, r.addr, pipelinedGets, time.Second)
	resps := readResponses(t, out, "GET", "GET")
	if len(resps) != 2 {
		t.Fatalf("want 2 responses, got %d in %q", len(resps), out)
	}
	if resps[0].StatusCode != http.StatusBadGateway {
		t.Errorf("first response: %d, want 502", resps[0].StatusCode)
	}
	if got := bodyOf(resps[1]); got != "second" {
		t.Errorf("second response body %q, want %q (all: %q)", got, "second", out)
	}
}

// TestFrontWriterHoldsToContentLength: a handler on the lean path that
// writes more than the Content-Length it declared gets an error for the
// excess, and one that writes less ends the connection: either way the
// client never reads a body byte as the start of the next response.
func TestFrontWriterHoldsToContentLength(t *testing.T) {
	for _, tc := range []struct {
		name, body string
		wantErr    bool
	}{
		{"longer", "hello, and more", true},
		{"shorter", "he", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var writeErr error
			done := make(chan struct{}, 2)
			srv := NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				defer func() { done <- struct{}{} }()
				if r.URL.Path != "/a" {
					_, _ = io.WriteString(w, "next")
					return
				}
				w.Header().Set("Content-Length", "5")
				_, writeErr = io.WriteString(w, tc.body)
			}), ServerOptions{})
			l := listenLoopback(t)
			go func() { _ = srv.Serve(l) }()
			t.Cleanup(func() { _ = srv.Close() })
			out := rawRoundTrip(t, l.Addr().String(),
				"GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /b HTTP/1.1\r\nHost: x\r\n\r\n", 2*time.Second)
			<-done
			if (writeErr != nil) != tc.wantErr {
				t.Errorf("write error %v, want one: %v", writeErr, tc.wantErr)
			}
			head, body, _ := strings.Cut(out, "\r\n\r\n")
			if !strings.Contains(head+"\r\n", "Content-Length: 5\r\n") || strings.Contains(head, "Transfer-Encoding") {
				t.Errorf("head %q, want Content-Length: 5 only", head)
			}
			if want := tc.body[:min(5, len(tc.body))]; body != want {
				t.Errorf("client read %q after the head, want %q and the connection closed", body, want)
			}
		})
	}
}

// TestBodilessResponsesGetNoLength: a response with no body by definition
// (204, 304, any answer to HEAD) is relayed without a Content-Length the
// upstream did not send; one it sent to HEAD is kept, since it describes
// the representation.
func TestBodilessResponsesGetNoLength(t *testing.T) {
	up, _ := rawUpstream(t,
		"HTTP/1.1 204 No Content\r\n\r\n",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
		"HTTP/1.1 304 Not Modified\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: 1234\r\n\r\n")
	r := singleUnitRouter(t, Options{Outlier: noEjection}, Route{}, up)
	req := func(method, extra string) string {
		return method + " /a HTTP/1.1\r\nHost: x\r\nX-Cafe-Uid: U1010\r\n" + extra + "\r\n"
	}
	out := rawRoundTrip(t, r.addr, req("GET", "")+req("HEAD", "")+req("GET", "")+req("HEAD", "Connection: close\r\n"), time.Second)
	resps := readResponses(t, out, "GET", "HEAD", "GET", "HEAD")
	if len(resps) != 4 {
		t.Fatalf("want 4 responses, got %d in %q", len(resps), out)
	}
	for i, want := range []string{"", "", "", "1234"} {
		if got := resps[i].Header.Get("Content-Length"); got != want {
			t.Errorf("response %d (%d): Content-Length %q, want %q", i, resps[i].StatusCode, got, want)
		}
		if te := resps[i].TransferEncoding; len(te) > 0 {
			t.Errorf("response %d (%d): Transfer-Encoding %q", i, resps[i].StatusCode, te)
		}
	}
}

// TestUpstreamConnectionFieldsAllCount: every Connection field of an
// upstream response counts, for hop-by-hop fields and for a close.
func TestUpstreamConnectionFieldsAllCount(t *testing.T) {
	up, conns := rawUpstream(t,
		"HTTP/1.1 200 OK\r\nConnection: X-A\r\nConnection: close\r\nX-A: a\r\nX-B: b\r\nConnection: keep-alive, X-B\r\nContent-Length: 2\r\n\r\nok",
		"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
	r := singleUnitRouter(t, Options{Outlier: noEjection}, Route{}, up)
	resp, _ := get(t, r.addr, "/a", uid(10))
	if resp.Header.Get("X-A") != "" || resp.Header.Get("X-B") != "" {
		t.Errorf("fields named by Connection were relayed: %v", resp.Header)
	}
	if resp, body := get(t, r.addr, "/b", uid(10)); resp.StatusCode != http.StatusOK || body != "ok" {
		t.Fatalf("second request: %d %q", resp.StatusCode, body)
	}
	if n := conns.Load(); n != 2 {
		t.Errorf("upstream saw %d connections, want 2: the close in the second Connection field was missed", n)
	}
}

// TestRepeatedResponseFieldsRelayed: every value of a field an upstream
// repeats reaches the client, in order, beside the others and the length.
func TestRepeatedResponseFieldsRelayed(t *testing.T) {
	up, _ := rawUpstream(t, "HTTP/1.1 200 OK\r\nSet-Cookie: a=1\r\nVary: Accept\r\nSet-Cookie: b=2\r\nContent-Length: 2\r\nSet-Cookie: c=3\r\n\r\nhi")
	r := singleUnitRouter(t, Options{Outlier: noEjection}, Route{}, up)
	resp, body := get(t, r.addr, "/a", uid(10))
	if got := resp.Header.Values("Set-Cookie"); strings.Join(got, " ") != "a=1 b=2 c=3" {
		t.Errorf("Set-Cookie %q, want a=1, b=2, c=3", got)
	}
	if vary, length := resp.Header.Get("Vary"), resp.Header.Get("Content-Length"); vary != "Accept" || length != "2" || body != "hi" {
		t.Errorf("Vary %q, Content-Length %q, body %q", vary, length, body)
	}
}
