package proxy

import (
	"crypto/tls"
	"log/slog"
	"net"
	"net/http"
	"time"
)

// TransportOptions tune the upstream transport; zero fields take the
// defaults in NewTransport.
type TransportOptions struct {
	DialTimeout            time.Duration // default 2s
	KeepAlive              time.Duration // TCP keep-alive period, default 30s
	ResponseHeaderTimeout  time.Duration // default 30s
	IdleConnTimeout        time.Duration // default 90s
	MaxIdleConnsPerHost    int           // default 512
	MaxResponseHeaderBytes int64         // default 64 KiB
}

// NewTransport returns the HTTP/1.1 transport the router uses for upstreams
// and peer routers: a deep keep-alive pool per host (a router talks to few
// hosts, many requests each), no compression (bodies pass through as the
// upstream sent them), no environment proxy, and a timeout on every phase.
func NewTransport(o TransportOptions) *http.Transport {
	if o.DialTimeout <= 0 {
		o.DialTimeout = 2 * time.Second
	}
	if o.KeepAlive <= 0 {
		o.KeepAlive = 30 * time.Second
	}
	if o.ResponseHeaderTimeout <= 0 {
		o.ResponseHeaderTimeout = 30 * time.Second
	}
	if o.IdleConnTimeout <= 0 {
		o.IdleConnTimeout = 90 * time.Second
	}
	if o.MaxIdleConnsPerHost <= 0 {
		o.MaxIdleConnsPerHost = 512
	}
	if o.MaxResponseHeaderBytes <= 0 {
		o.MaxResponseHeaderBytes = 64 << 10
	}
	dialer := &net.Dialer{Timeout: o.DialTimeout, KeepAlive: o.KeepAlive}
	return &http.Transport{
		Proxy:                  nil,
		DialContext:            dialer.DialContext,
		MaxIdleConns:           0, // bounded per host instead
		MaxIdleConnsPerHost:    o.MaxIdleConnsPerHost,
		IdleConnTimeout:        o.IdleConnTimeout,
		ResponseHeaderTimeout:  o.ResponseHeaderTimeout,
		ExpectContinueTimeout:  time.Second,
		TLSHandshakeTimeout:    o.DialTimeout,
		MaxResponseHeaderBytes: o.MaxResponseHeaderBytes,
		DisableCompression:     true,
		ForceAttemptHTTP2:      false,
		// A non-nil empty map turns HTTP/2 off even for TLS upstreams.
		TLSNextProto: map[string]func(string, *tls.Conn) http.RoundTripper{},
	}
}

// ServerOptions tune the router's HTTP server; zero fields take the
// defaults in NewServer.
type ServerOptions struct {
	// ReadHeaderTimeout bounds reading a request head, the defence against
	// slowloris; default 10s.
	ReadHeaderTimeout time.Duration
	// IdleTimeout bounds keep-alive waits; default 120s.
	IdleTimeout time.Duration
	// MaxHeaderBytes bounds a request head (431 beyond); default 32 KiB.
	MaxHeaderBytes int
	// Logger receives the server's own errors; nil discards them.
	Logger *slog.Logger
}

// NewServer returns an HTTP/1.1 server for handler. It sets no read or
// write timeout for bodies, which may stream for long; per-route request
// timeouts bound those. Serve it on GuardListener(l, MaxHeaderBytes, ...).
func NewServer(handler http.Handler, o ServerOptions) *http.Server {
	o = o.withDefaults()
	logger := o.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: o.ReadHeaderTimeout,
		IdleTimeout:       o.IdleTimeout,
		MaxHeaderBytes:    o.MaxHeaderBytes,
		ConnContext:       guardConnContext,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
		TLSNextProto:      map[string]func(*http.Server, *tls.Conn, http.Handler){},
	}
}

func (o ServerOptions) withDefaults() ServerOptions {
	if o.ReadHeaderTimeout <= 0 {
		o.ReadHeaderTimeout = 10 * time.Second
	}
	if o.IdleTimeout <= 0 {
		o.IdleTimeout = 120 * time.Second
	}
	if o.MaxHeaderBytes <= 0 {
		o.MaxHeaderBytes = 32 << 10
	}
	return o
}
