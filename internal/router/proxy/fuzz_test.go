package proxy

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net/http"
	"net/http/httputil"
	"net/url"
	"slices"
	"strings"
	"testing"
)

// FuzzParseRequestHead checks the lean path's parser against net/http's: a
// head the router accepts must be one net/http reads the same way (method,
// target, every field, body framing), so a client cannot make the two
// disagree about where a request ends. Only targets net/url refuses may
// part them, and the lean path refuses those before routing.
func FuzzParseRequestHead(f *testing.F) {
	for _, seed := range []string{
		"GET / HTTP/1.1\r\nHost: x\r\n\r\n",
		"POST /a?b=c HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nX-Cafe-Uid: U01\r\n\r\n",
		"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n",
		"POST / HTTP/1.1\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n",
		"GET / HTTP/1.1\r\nX-A: a\r\n b\r\n\r\n",
		"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
		"POST / HTTP/1.1\r\nContent-Length: 1\r\ncontent-length: 01\r\n\r\n",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, head string) {
		rh, refusal := parseRequestHead(head, nil)
		if refusal != "" {
			return
		}
		if !isToken(rh.method) || !validTarget(rh.target) {
			t.Fatalf("accepted method %q target %q", rh.method, rh.target)
		}
		req, err := http.ReadRequest(bufio.NewReader(strings.NewReader(head)))
		if err != nil {
			var urlErr *url.Error
			if errors.As(err, &urlErr) || strings.Contains(err.Error(), "URL") {
				return
			}
			t.Fatalf("router accepts, net/http refuses: %v", err)
		}
		if req.Method != rh.method || req.RequestURI != rh.target {
			t.Fatalf("net/http reads %s %s, router %s %s", req.Method, req.RequestURI, rh.method, rh.target)
		}
		wantChunked := slices.Equal(req.TransferEncoding, []string{"chunked"})
		if wantChunked != rh.framing.chunked || !wantChunked && req.ContentLength != rh.framing.length {
			t.Fatalf("net/http frames chunked=%v length %d, router %+v", wantChunked, req.ContentLength, rh.framing)
		}
		for _, field := range rh.fields {
			name := http.CanonicalHeaderKey(field.name)
			if name == "Host" || name == "Content-Length" || name == "Transfer-Encoding" {
				continue // net/http moves these out of Header
			}
			if !slices.Contains(req.Header[name], field.value) {
				t.Fatalf("field %s: router %q, net/http %q", name, field.value, req.Header[name])
			}
		}
	})
}

// FuzzChunkedBody checks the lean path's chunked decoder against
// net/http's: whatever the router decodes whole, net/http decodes to the
// same bytes.
func FuzzChunkedBody(f *testing.F) {
	for _, seed := range []string{
		"0\r\n\r\n",
		"4\r\nbody\r\n0\r\n\r\n",
		"4;ext=1\r\nbody\r\n0\r\nTrailer-A: 1\r\n\r\n",
		"A\r\n0123456789\r\n0\r\n\r\n",
		"zz\r\n",
		"4\r\nbodyX\r\n0\r\n\r\n",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, encoded string) {
		body := &chunkedBody{r: bufio.NewReaderSize(strings.NewReader(encoded), 16)}
		got, err := io.ReadAll(body)
		if err != nil {
			return
		}
		if !body.done() {
			t.Fatal("body read to its end without its last chunk")
		}
		want, err := io.ReadAll(httputil.NewChunkedReader(strings.NewReader(encoded)))
		if err != nil {
			t.Fatalf("router decodes %q, net/http fails: %v", got, err)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("router decodes %q, net/http %q", got, want)
		}
	})
}

// FuzzParseResponseHead checks the router's reading of upstream responses
// (readResponse: the head read line by line, parseHead, interim responses
// skipped, the body framed) against net/http's http.ReadResponse, read the
// way net/http's Transport does (1xx other than 101 skipped). A response
// the router accepts must be one net/http reads the same way: status, every
// field, and a body of the same bytes, so an upstream cannot make the
// router and a client behind it disagree about where a response ends.
func FuzzParseResponseHead(f *testing.F) {
	for _, seed := range []string{
		"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nokk",
		"HTTP/1.1 200 OK\r\nX-A: a\r\n b\r\nContent-Length: 0\r\n\r\n",
		"HTTP/1.1 200 OK\nContent-Length: 2\n\nok",
		"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n",
		"HTTP/1.0 200 OK\r\nConnection: keep-alive\r\n\r\nuntil close",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, data string) {
		uc := &upstreamConn{br: bufio.NewReaderSize(strings.NewReader(data), 64), pool: newUpstreamPool(TransportOptions{})}
		resp, err := uc.readResponse(false)
		if err != nil {
			return
		}
		fields := slices.Clone(resp.fields)
		got, err := io.ReadAll(resp)
		if err != nil {
			return // the router refuses the body's framing
		}
		br := bufio.NewReader(strings.NewReader(data))
		var want *http.Response
		for {
			want, err = http.ReadResponse(br, nil)
			if err != nil {
				t.Fatalf("router reads status %d, net/http refuses: %v", resp.status, err)
			}
			if want.StatusCode >= 200 || want.StatusCode == http.StatusSwitchingProtocols {
				break
			}
		}
		if want.StatusCode != resp.status {
			t.Fatalf("net/http reads status %d, router %d", want.StatusCode, resp.status)
		}
		body, err := io.ReadAll(want.Body)
		if err != nil {
			t.Fatalf("router reads body %q, net/http fails: %v", got, err)
		}
		if !bytes.Equal(got, body) {
			t.Fatalf("router reads body %q, net/http %q", got, body)
		}
		if resp.keepAlive && want.Close {
			t.Fatalf("router keeps the connection, net/http closes it")
		}
		for _, field := range fields {
			if field.name == "Content-Length" || field.name == "Transfer-Encoding" {
				continue // net/http may move these out of Header
			}
			if !slices.Contains(want.Header[field.name], field.value) {
				t.Fatalf("field %s: router %q, net/http %q", field.name, field.value, want.Header[field.name])
			}
		}
	})
}
