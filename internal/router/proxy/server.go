package proxy

import (
	"crypto/tls"
	"log/slog"
	"time"
)

// TransportOptions tune the client for upstreams and peer routers; zero
// fields take the defaults in withDefaults.
type TransportOptions struct {
	DialTimeout            time.Duration // default 2s
	KeepAlive              time.Duration // TCP keep-alive period, default 30s
	ResponseHeaderTimeout  time.Duration // default 30s
	IdleConnTimeout        time.Duration // default 90s
	MaxIdleConnsPerHost    int           // default 512
	MaxResponseHeaderBytes int64         // default 64 KiB
	// BodyIdleTimeout bounds each read of a response body from an
	// upstream (or peer router) once its head arrived: a read that makes
	// no progress for this long ends the exchange, and the client's
	// connection with it, whether or not the route has a request timeout;
	// default DefaultBodyIdleTimeout.
	BodyIdleTimeout time.Duration
}

// DefaultBodyIdleTimeout is the default of ServerOptions.BodyIdleTimeout and
// TransportOptions.BodyIdleTimeout.
const DefaultBodyIdleTimeout = 60 * time.Second

func (o TransportOptions) withDefaults() TransportOptions {
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
	if o.BodyIdleTimeout <= 0 {
		o.BodyIdleTimeout = DefaultBodyIdleTimeout
	}
	return o
}

// ServerOptions tune the router's server; zero fields take the defaults in
// withDefaults.
type ServerOptions struct {
	// ReadHeaderTimeout bounds reading a request head, and a TLS
	// handshake: the defence against slowloris; default 10s.
	ReadHeaderTimeout time.Duration
	// IdleTimeout bounds keep-alive waits; default 120s.
	IdleTimeout time.Duration
	// MaxHeaderBytes bounds a request head (431 beyond); default 32 KiB.
	MaxHeaderBytes int
	// BodyIdleTimeout bounds each write to a client: one that makes no
	// progress for this long (the client stopped reading) ends the
	// connection, and the upstream exchange whose response it carried.
	// It applies to every connection, HTTP/2's included (as net/http's
	// WriteByteTimeout); default DefaultBodyIdleTimeout.
	BodyIdleTimeout time.Duration
	// TLSConfig, if not nil, makes the server speak TLS, offering h2 and
	// http/1.1 by ALPN; it needs a certificate.
	TLSConfig *tls.Config
	// OnRefuse, if not nil, receives the reason of every request the
	// request-smuggling guard refuses (see Metrics.Refused).
	OnRefuse func(reason string)
	// Logger receives the server's own errors; nil discards them.
	Logger *slog.Logger
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
	if o.BodyIdleTimeout <= 0 {
		o.BodyIdleTimeout = DefaultBodyIdleTimeout
	}
	if o.OnRefuse == nil {
		o.OnRefuse = func(string) {}
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return o
}
