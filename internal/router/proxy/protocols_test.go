package proxy

import (
	"crypto/tls"
	"crypto/x509"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// testCertificate borrows httptest's certificate for 127.0.0.1 and a pool
// that trusts it.
func testCertificate(t *testing.T) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	ts := httptest.NewUnstartedServer(nil)
	ts.StartTLS()
	defer ts.Close()
	return ts.TLS.Certificates[0], ts.Client().Transport.(*http.Transport).TLSClientConfig.RootCAs
}

// protocolRouter is a one-unit router in front of a backend that echoes
// the protocol and X-Forwarded-Proto it was sent.
func protocolRouter(t *testing.T, so ServerOptions) *router {
	t.Helper()
	b := newBackend(t, "a", func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, r.Proto+" "+r.Header.Get("X-Forwarded-Proto"))
	})
	l := listenLoopback(t)
	r := startRouter(t, l, Options{Unit: "a"}, so)
	r.SetShardMap("users", compile(t, twoUnitMap(1, l.Addr().String(), "127.0.0.1:1")))
	r.SetEndpoints("accounts", []string{b.addr()})
	return r
}

func getWith(t *testing.T, client *http.Client, url string) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	req.Header.Set("X-Cafe-Uid", "U01")
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp, string(body)
}

func TestH2CWithPriorKnowledge(t *testing.T) {
	r := protocolRouter(t, ServerOptions{})
	var protocols http.Protocols
	protocols.SetUnencryptedHTTP2(true)
	client := &http.Client{Transport: &http.Transport{Protocols: &protocols}}
	defer client.CloseIdleConnections()
	for i := 0; i < 3; i++ { // several streams on one connection
		resp, body := getWith(t, client, "http://"+r.addr+"/accounts")
		if resp.StatusCode != http.StatusOK || resp.ProtoMajor != 2 || resp.Header.Get(HeaderUnit) != "a" {
			t.Fatalf("got %d over %s, unit %q", resp.StatusCode, resp.Proto, resp.Header.Get(HeaderUnit))
		}
		if body != "HTTP/1.1 http" {
			t.Fatalf("upstream saw %q, want HTTP/1.1 with X-Forwarded-Proto http", body)
		}
	}
}

func TestTLSOffersH2AndHTTP11(t *testing.T) {
	cert, roots := testCertificate(t)
	r := protocolRouter(t, ServerOptions{TLSConfig: &tls.Config{Certificates: []tls.Certificate{cert}}})
	for _, tc := range []struct {
		name      string
		h2        bool
		wantMajor int
	}{{"h2 by ALPN", true, 2}, {"http/1.1 by ALPN", false, 1}} {
		t.Run(tc.name, func(t *testing.T) {
			var protocols http.Protocols
			protocols.SetHTTP1(!tc.h2)
			protocols.SetHTTP2(tc.h2)
			client := &http.Client{Transport: &http.Transport{Protocols: &protocols, TLSClientConfig: &tls.Config{RootCAs: roots}}}
			defer client.CloseIdleConnections()
			for i := 0; i < 2; i++ {
				resp, body := getWith(t, client, "https://"+r.addr+"/accounts")
				if resp.StatusCode != http.StatusOK || resp.ProtoMajor != tc.wantMajor || resp.Header.Get(HeaderUnit) != "a" {
					t.Fatalf("got %d over %s, unit %q", resp.StatusCode, resp.Proto, resp.Header.Get(HeaderUnit))
				}
				if body != "HTTP/1.1 https" {
					t.Fatalf("upstream saw %q, want HTTP/1.1 with X-Forwarded-Proto https", body)
				}
			}
		})
	}
}

// TestRequestsLeftToNetHTTP sends what the lean path hands over: each must
// still be routed, and answered in its own protocol version. exchangeRaw
// half-closes at once, so each request says it sends nothing more
// (HTTP/1.0, Connection: close): a keep-alive request whose client
// half-closes is taken for a client gone and gets no answer (see
// TestHalfCloseNeverGetsMadeUpResponse), where it used to pass on a
// made-up 200.
func TestRequestsLeftToNetHTTP(t *testing.T) {
	r := protocolRouter(t, ServerOptions{})
	const key = "X-Cafe-Uid: U01\r\n"
	for name, raw := range map[string]string{
		"HTTP/1.0":          "GET /a HTTP/1.0\r\nHost: x\r\n" + key + "\r\n",
		"Expect":            "POST /a HTTP/1.1\r\nHost: x\r\n" + key + "Expect: 100-continue\r\nContent-Length: 2\r\nConnection: close\r\n\r\nhi",
		"absolute form":     "GET http://x/a HTTP/1.1\r\nHost: x\r\n" + key + "Connection: close\r\n\r\n",
		"h2c upgrade offer": "GET /a HTTP/1.1\r\nHost: x\r\n" + key + "Connection: Upgrade, HTTP2-Settings, close\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQAoAAAAAIAAAAA\r\n\r\n",
	} {
		t.Run(name, func(t *testing.T) {
			out := exchangeRaw(t, r.addr, raw)
			lines := statusLines(out)
			if len(lines) == 0 || !strings.HasSuffix(lines[len(lines)-1], "200 OK") {
				t.Fatalf("answered %q", out)
			}
		})
	}
}

// TestPipelinedRequestsAnsweredInOrder sends three requests in one write.
func TestPipelinedRequestsAnsweredInOrder(t *testing.T) {
	b := newBackend(t, "a", func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, r.URL.Path)
	})
	r := singleUnitRouter(t, Options{}, Route{}, b.addr())
	const key = "X-Cafe-Uid: U01\r\n"
	raw := "GET /1 HTTP/1.1\r\nHost: x\r\n" + key + "\r\n" +
		"POST /2 HTTP/1.1\r\nHost: x\r\n" + key + "Transfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n" +
		"GET /3 HTTP/1.1\r\nHost: x\r\n" + key + "Connection: close\r\n\r\n"
	out := exchangeRaw(t, r.addr, raw)
	if got := strings.Join(statusLines(out), ","); got != "200 OK,200 OK,200 OK" {
		t.Fatalf("statuses %q in %q", got, out)
	}
	if i1, i2, i3 := strings.Index(out, "\r\n/1"), strings.Index(out, "\r\n/2"), strings.Index(out, "\r\n/3"); i1 < 0 || i1 > i2 || i2 > i3 {
		t.Fatalf("responses out of order: %q", out)
	}
}
