package proxy

import (
	"crypto/tls"
	"io"
	"net"
	"strings"
	"testing"
	"time"
)

// TestTLSStateSurvivesHandOff: a request the lean path hands to net/http on
// a TLS connection (here for Expect) is still known to be over TLS, and the
// upstream is told https.
func TestTLSStateSurvivesHandOff(t *testing.T) {
	cert, _ := testCertificate(t)
	r := protocolRouter(t, ServerOptions{TLSConfig: &tls.Config{Certificates: []tls.Certificate{cert}}})
	c, err := tls.Dial("tcp", r.addr, &tls.Config{InsecureSkipVerify: true, NextProtos: []string{"http/1.1"}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_, _ = io.WriteString(c, "GET /a HTTP/1.1\r\nHost: x\r\nX-Cafe-Uid: U01\r\n\r\n"+
		"POST /a HTTP/1.1\r\nHost: x\r\nX-Cafe-Uid: U01\r\nExpect: 100-continue\r\nContent-Length: 2\r\nConnection: close\r\n\r\nhi")
	_ = c.SetReadDeadline(time.Now().Add(3 * time.Second))
	out, _ := io.ReadAll(c)
	if n := strings.Count(string(out), "HTTP/1.1 https"); n != 2 {
		t.Errorf("%d of 2 requests were forwarded as https: %q", n, out)
	}
}

// TestNewConnectionWaitsReadHeaderTimeout: a connection that sends nothing
// is closed after the read-header timeout, not the much longer idle
// timeout meant for keep-alive waits, with or without TLS.
func TestNewConnectionWaitsReadHeaderTimeout(t *testing.T) {
	cert, _ := testCertificate(t)
	for _, withTLS := range []bool{false, true} {
		so := ServerOptions{ReadHeaderTimeout: 200 * time.Millisecond, IdleTimeout: time.Minute}
		if withTLS {
			so.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}}
		}
		r := protocolRouter(t, so)
		var c net.Conn
		var err error
		if withTLS {
			c, err = tls.Dial("tcp", r.addr, &tls.Config{InsecureSkipVerify: true, NextProtos: []string{"http/1.1"}})
		} else {
			c, err = net.Dial("tcp", r.addr)
		}
		if err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
		_, err = c.Read(make([]byte, 1))
		if took := time.Since(start); err == nil || took > 2*time.Second {
			t.Errorf("TLS %v: a silent new connection was closed after %v (%v)", withTLS, took, err)
		}
		_ = c.Close()
	}
}

// TestCloseDuringTLS: closing the server while connections finish their
// TLS handshake is free of data races (run with -race).
func TestCloseDuringTLS(t *testing.T) {
	cert, _ := testCertificate(t)
	for i := 0; i < 5; i++ {
		srv := NewServer(nil, ServerOptions{TLSConfig: &tls.Config{Certificates: []tls.Certificate{cert}}})
		l := listenLoopback(t)
		go func() { _ = srv.Serve(l) }()
		c, err := tls.Dial("tcp", l.Addr().String(), &tls.Config{InsecureSkipVerify: true, NextProtos: []string{"http/1.1"}})
		if err != nil {
			t.Fatal(err)
		}
		_ = srv.Close()
		_ = c.Close()
	}
}
