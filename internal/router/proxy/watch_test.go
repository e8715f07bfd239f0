package proxy

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"testing"
	"time"
)

// TestClientGoneCancelsExchangeEveryWay: a client that closes its
// connection while the upstream works cancels the upstream request, over
// plaintext (the hang-up watcher) and TLS (a watching goroutine), with or
// without a body and a route request timeout (which puts the watch one
// context deeper), and after the read-header timeout that bounded the
// request's head, which a request without a body leaves in place.
func TestClientGoneCancelsExchangeEveryWay(t *testing.T) {
	cert, _ := testCertificate(t)
	gone := make(chan time.Duration, 8) // room for every case's send
	b := newBackend(t, "a", func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		select {
		case <-r.Context().Done():
			gone <- time.Since(start)
		case <-time.After(3 * time.Second):
			gone <- -1
		}
	})
	for _, withTLS := range []bool{false, true} {
		for _, timeout := range []time.Duration{0, time.Minute} {
			so := ServerOptions{ReadHeaderTimeout: 300 * time.Millisecond}
			if withTLS {
				so.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}}
			}
			l := listenLoopback(t)
			r := startRouter(t, l, Options{Unit: "a", Outlier: noEjection}, so,
				Route{Name: "accounts", Host: "*", PathPrefix: "/", ShardMap: "users", Timeouts: Timeouts{Request: timeout}})
			spec := twoUnitMap(1, l.Addr().String(), "127.0.0.1:1")
			spec.Units[0].FailoverTo = ""
			r.SetShardMap("users", compile(t, spec))
			r.SetEndpoints("accounts", []string{b.addr()})
			for _, body := range []string{"", "payload"} {
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
				_, _ = fmt.Fprintf(c, "POST /a HTTP/1.1\r\nHost: x\r\nX-Cafe-Uid: U01\r\nContent-Length: %d\r\n\r\n%s", len(body), body)
				time.Sleep(500 * time.Millisecond)
				_ = c.Close()
				select {
				case d := <-gone:
					if d < 0 || d > time.Second {
						t.Errorf("TLS %v, request timeout %v, body %q: the upstream request was cancelled after %v (-1: not within 3s)", withTLS, timeout, body, d)
					}
				case <-time.After(5 * time.Second):
					t.Fatalf("TLS %v, request timeout %v, body %q: the request never reached the upstream", withTLS, timeout, body)
				}
			}
		}
	}
}

// TestClientWatch covers the orders in which a hang-up, a request's watch
// and an exchange's interrupt can meet.
func TestClientWatch(t *testing.T) {
	newWatch := func(gone bool) (*clientWatch, context.Context) {
		ctx, cancel := context.WithCancel(context.Background())
		return &clientWatch{cancel: cancel, clientGone: func() bool { return gone }}, ctx
	}
	interrupts := 0
	interrupt := func() { interrupts++ }

	w, ctx := newWatch(true)
	w.hangUp()
	if ctx.Err() != nil {
		t.Fatal("a hang-up between requests cancelled the context")
	}
	if !w.setInterrupt(interrupt) {
		t.Fatal("setInterrupt failed before the client was found gone")
	}
	w.begin()
	if ctx.Err() == nil || interrupts != 1 {
		t.Fatalf("a watch begun after a hang-up: context %v, %d interrupts; want cancelled, 1", ctx.Err(), interrupts)
	}
	if w.clearInterrupt() {
		t.Error("clearInterrupt reported an interrupt that ran as not run")
	}
	if w.setInterrupt(interrupt) || interrupts != 2 {
		t.Errorf("setInterrupt once the client is gone: %d interrupts, want it refused and interrupting at once", interrupts)
	}

	w, ctx = newWatch(false) // hung up, but a pipelined request waits
	w.begin()
	w.hangUp()
	w.finish()
	if ctx.Err() != nil {
		t.Error("a client with bytes left to read was taken for gone")
	}

	w, ctx = newWatch(true)
	w.begin()
	if !w.setInterrupt(interrupt) || !w.clearInterrupt() {
		t.Error("an exchange's interrupt was reported run with the client there")
	}
	w.finish()
	w.hangUp()
	if ctx.Err() != nil {
		t.Error("a hang-up outside a watch cancelled the context")
	}
}
