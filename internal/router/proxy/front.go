package proxy

import (
	"context"
	"crypto/tls"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// Server is the router's listening side. It serves the common case on its
// own lean path: HTTP/1.1 requests on keep-alive connections, with
// Content-Length or chunked bodies, parsed strictly on the raw connection
// (see parseRequestHead), and the handler's response written straight to
// it. Every other connection goes to a net/http server with the same
// handler: HTTP/2 (h2c with prior knowledge, or h2 chosen by ALPN over
// TLS), HTTP/1.0, upgrades, Expect, targets not in origin form. Those
// HTTP/1 connections pass the request-smuggling guard first (see
// guardedConn), and the lean path applies the same rules itself.
type Server struct {
	handler  http.Handler
	o        ServerOptions
	fallback *http.Server
	handoff  *handoffListener

	closing   atomic.Bool
	mu        sync.Mutex
	listeners map[net.Listener]struct{}
	conns     map[*frontConn]struct{}
}

// NewServer returns a Server for handler. It sets no read or write timeout
// for whole bodies, which may stream for long; per-route request timeouts
// bound those, and ServerOptions.BodyIdleTimeout each write to a client.
func NewServer(handler http.Handler, o ServerOptions) *Server {
	o = o.withDefaults()
	if o.TLSConfig != nil {
		o.TLSConfig = o.TLSConfig.Clone()
		if len(o.TLSConfig.NextProtos) == 0 {
			o.TLSConfig.NextProtos = []string{"h2", "http/1.1"}
		}
	}
	var protocols http.Protocols
	protocols.SetHTTP1(true)
	protocols.SetHTTP2(true)
	protocols.SetUnencryptedHTTP2(true)
	s := &Server{
		handler: handler,
		o:       o,
		handoff: newHandoffListener(),
		fallback: &http.Server{
			Handler:           handedTLS(halfCloseNotGone(handler)),
			ReadHeaderTimeout: o.ReadHeaderTimeout,
			IdleTimeout:       o.IdleTimeout,
			MaxHeaderBytes:    o.MaxHeaderBytes,
			ConnContext:       guardConnContext,
			ErrorLog:          slog.NewLogLogger(o.Logger.Handler(), slog.LevelWarn),
			Protocols:         &protocols,
			// Bounds writes to HTTP/2 connections, which net/http
			// writes (TLS ones are not built on idleWriteConn: it
			// needs the *tls.Conn).
			HTTP2: &http.HTTP2Config{WriteByteTimeout: o.BodyIdleTimeout},
		},
		listeners: map[net.Listener]struct{}{},
		conns:     map[*frontConn]struct{}{},
	}
	go func() { _ = s.fallback.Serve(s.handoff) }()
	return s
}

// handedTLS gives requests on TLS connections the lean path handed to
// net/http their TLS state, which net/http sets only for a *tls.Conn of its
// own: without it they would pass for cleartext (X-Forwarded-Proto).
func handedTLS(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.TLS == nil {
			if g, ok := r.Context().Value(guardedConnKey{}).(*guardedConn); ok {
				r.TLS = g.tls
			}
		}
		h.ServeHTTP(w, r)
	})
}

// halfCloseNotGone keeps net/http from taking a half-close for a client
// gone when the client said it sends nothing more (HTTP/1.0 without
// keep-alive, Connection: close): net/http cancels a request's context as
// soon as its connection reads EOF, but such a client may shut down its
// write side at once and still wait for the answer. The lean path does not
// watch those requests either (see serveRequest); other requests keep
// net/http's cancellation, and a cancelled request is aborted, never
// answered with a made-up status (see proxyError).
func halfCloseNotGone(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ProtoMajor == 1 && r.Close {
			r = r.WithContext(context.WithoutCancel(r.Context()))
		}
		h.ServeHTTP(w, r)
	})
}

// Serve accepts connections on l until Shutdown or Close, which make it
// return http.ErrServerClosed.
func (s *Server) Serve(l net.Listener) error {
	if !s.trackListener(l) {
		return http.ErrServerClosed
	}
	defer s.untrackListener(l)
	var backoff time.Duration
	for {
		c, err := l.Accept()
		if err != nil {
			if s.closing.Load() {
				return http.ErrServerClosed
			}
			if errors.Is(err, net.ErrClosed) {
				return err
			}
			// Out of file descriptors and the like: wait, as net/http
			// does, instead of spinning.
			backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
			s.o.Logger.Warn("accept failed; retrying", "err", err, "in", backoff)
			time.Sleep(backoff)
			continue
		}
		backoff = 0
		fc := s.newConn(c)
		if fc == nil {
			_ = c.Close()
			continue
		}
		go fc.serve()
	}
}

// Shutdown stops accepting, closes idle connections, and waits for the
// others to finish their request, or for ctx to end.
func (s *Server) Shutdown(ctx context.Context) error {
	s.closing.Store(true)
	s.closeListeners()
	fallback := make(chan error, 1)
	go func() { fallback <- s.fallback.Shutdown(ctx) }()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		s.mu.Lock()
		left := len(s.conns)
		for fc := range s.conns {
			if fc.idle.Load() {
				// Wakes the connection from its keep-alive wait.
				_ = fc.raw.SetReadDeadline(aLongTimeAgo)
			}
		}
		s.mu.Unlock()
		if left == 0 {
			return <-fallback
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
	}
}

// Close closes the listeners and every connection at once.
func (s *Server) Close() error {
	s.closing.Store(true)
	s.closeListeners()
	s.mu.Lock()
	for fc := range s.conns {
		_ = fc.raw.Close()
	}
	s.mu.Unlock()
	return s.fallback.Close()
}

func (s *Server) trackListener(l net.Listener) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing.Load() {
		return false
	}
	s.listeners[l] = struct{}{}
	return true
}

func (s *Server) untrackListener(l net.Listener) {
	s.mu.Lock()
	delete(s.listeners, l)
	s.mu.Unlock()
}

func (s *Server) closeListeners() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for l := range s.listeners {
		_ = l.Close()
	}
}

// newConn registers a connection, or returns nil when the server is
// closing.
func (s *Server) newConn(c net.Conn) *frontConn {
	fc := newFrontConn(s, c)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing.Load() {
		return nil
	}
	s.conns[fc] = struct{}{}
	return fc
}

func (s *Server) forget(fc *frontConn) {
	s.mu.Lock()
	delete(s.conns, fc)
	s.mu.Unlock()
}

// startTLS completes the TLS handshake within the read-header timeout. It
// reports false when the connection failed or went to HTTP/2.
func (fc *frontConn) startTLS() bool {
	tc := tls.Server(fc.c, fc.s.o.TLSConfig)
	_ = tc.SetDeadline(time.Now().Add(fc.s.o.ReadHeaderTimeout))
	if err := tc.Handshake(); err != nil {
		return false
	}
	_ = tc.SetDeadline(noDeadline)
	state := tc.ConnectionState()
	if state.NegotiatedProtocol == "h2" {
		fc.handOff(tc)
		return false
	}
	fc.setConn(tc)
	fc.tls = &state
	return true
}
