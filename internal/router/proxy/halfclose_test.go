package proxy

import (
	"bytes"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestHalfCloseNeverGetsMadeUpResponse: a client that shuts down its
// write side (TCP FIN, or TLS close_notify) while its request runs gets
// either the upstream's real response or no response at all (the router
// took it for gone and closed the connection), never a status the
// upstream did not send, on the lean path over plaintext (the hang-up
// watcher) and TLS (a watching goroutine), and on the net/http path
// (HTTP/1.0, an absolute-form target). A client that said it sends nothing
// more (Connection: close, HTTP/1.0) gets the real response: its half-close
// is no sign that it is gone.
func TestHalfCloseNeverGetsMadeUpResponse(t *testing.T) {
	cert, _ := testCertificate(t)
	b := newBackend(t, "a", func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(300 * time.Millisecond)
		w.Header().Set("Content-Length", "4")
		w.WriteHeader(http.StatusCreated)
		_, _ = io.WriteString(w, "real")
	})
	cases := []struct {
		name    string
		withTLS bool
		proto   string
		// close sends Connection: close, after which a half-close is no
		// sign of a client gone: the real response must come (as for
		// HTTP/1.0, which closes unless asked to keep alive).
		close bool
	}{
		{"plaintext", false, "HTTP/1.1", false},
		{"TLS", true, "HTTP/1.1", false},
		{"net/http HTTP/1.0", false, "HTTP/1.0", false},
		{"net/http absolute form", false, "HTTP/1.1", false},
		{"plaintext Connection: close", false, "HTTP/1.1", true},
		{"TLS Connection: close", true, "HTTP/1.1", true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var so ServerOptions
			if tc.withTLS {
				so.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}}
			}
			l := listenLoopback(t)
			r := startRouter(t, l, Options{Unit: "a", Outlier: noEjection}, so)
			spec := twoUnitMap(1, l.Addr().String(), "127.0.0.1:1")
			spec.Units[0].FailoverTo = ""
			r.SetShardMap("users", compile(t, spec))
			r.SetEndpoints("accounts", []string{b.addr()})

			var c net.Conn
			var closeWrite func() error
			if tc.withTLS {
				tc, err := tls.Dial("tcp", r.addr, &tls.Config{InsecureSkipVerify: true, NextProtos: []string{"http/1.1"}})
				if err != nil {
					t.Fatal(err)
				}
				c, closeWrite = tc, tc.CloseWrite
			} else {
				tcp, err := net.Dial("tcp", r.addr)
				if err != nil {
					t.Fatal(err)
				}
				c, closeWrite = tcp, tcp.(*net.TCPConn).CloseWrite
			}
			defer c.Close()
			target := "/a"
			if strings.HasSuffix(tc.name, "absolute form") {
				target = "http://x/a" // left to net/http
			}
			head := "GET " + target + " " + tc.proto + "\r\nHost: x\r\nX-Cafe-Uid: U01\r\n"
			if tc.close {
				head += "Connection: close\r\n"
			}
			if _, err := io.WriteString(c, head+"\r\n"); err != nil {
				t.Fatal(err)
			}
			// Let the request reach the upstream before the half-close.
			time.Sleep(100 * time.Millisecond)
			if err := closeWrite(); err != nil {
				t.Fatal(err)
			}
			_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
			got, err := io.ReadAll(c)
			if err != nil && !errors.Is(err, syscall.ECONNRESET) {
				if errors.Is(err, os.ErrDeadlineExceeded) {
					t.Fatalf("the connection neither answered nor closed within 5s; read %q", got)
				}
				t.Logf("read ended with %v", err)
			}
			switch {
			case len(got) == 0 && (tc.close || tc.proto == "HTTP/1.0"):
				t.Error("a client that sent Connection: close and half-closed got no response")
			case len(got) == 0:
				t.Log("no response: the router took the half-close for the client gone and closed")
			case (bytes.HasPrefix(got, []byte("HTTP/1.1 201 ")) || bytes.HasPrefix(got, []byte("HTTP/1.0 201 "))) && bytes.HasSuffix(got, []byte("\r\n\r\nreal")):
				// The upstream's own response.
			default:
				t.Errorf("a half-closed client got a response the upstream did not send:\n%s", got)
			}
		})
	}
}
