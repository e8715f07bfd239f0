package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"golang.org/x/sync/errgroup"

	"github.com/cafe-dev/cafe/internal/router/proxy"
)

// shutdownGrace is how long in-flight requests may finish after SIGTERM.
const shutdownGrace = 10 * time.Second

// run serves until ctx ends or a part fails.
func run(ctx context.Context, o options, logger *slog.Logger) error {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	metrics, err := proxy.NewMetrics(reg)
	if err != nil {
		return err
	}
	// The configuration source is chosen below, but the handler needs the
	// newer-epoch hook now; it forwards to whichever source is set.
	var onNewer atomic.Pointer[func(proxy.NewerEpoch)]
	handler, err := proxy.NewHandler(proxy.Options{
		Unit:                o.unit,
		Upstream:            proxy.TransportOptions{BodyIdleTimeout: o.bodyIdleTimeout},
		Metrics:             metrics,
		Logger:              logger.With("log", "access"),
		AccessLogSampleRate: o.accessLogSample,
		OnNewerEpoch: func(ev proxy.NewerEpoch) {
			if f := onNewer.Load(); f != nil {
				(*f)(ev)
			}
		},
	})
	if err != nil {
		return err
	}
	serverOptions := proxy.ServerOptions{Logger: logger, OnRefuse: metrics.Refused, BodyIdleTimeout: o.bodyIdleTimeout}
	if o.tlsCertFile != "" {
		cert, err := tls.LoadX509KeyPair(o.tlsCertFile, o.tlsKeyFile)
		if err != nil {
			return fmt.Errorf("--tls-cert-file, --tls-key-file: %w", err)
		}
		serverOptions.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	}
	listener, err := net.Listen("tcp", o.listen)
	if err != nil {
		return fmt.Errorf("--listen %s: %w", o.listen, err)
	}
	server := proxy.NewServer(handler, serverOptions)

	g, ctx := errgroup.WithContext(ctx)
	var source configSource
	if o.configFile != "" {
		source, err = newFileSource(o, handler, logger)
	} else {
		source, err = newKubeSource(o, handler, reg, logger)
	}
	if err != nil {
		listener.Close()
		return err
	}
	hook := source.newerEpoch
	onNewer.Store(&hook)
	g.Go(func() error { return source.run(ctx) })

	if o.metricsListen != "" {
		admin, err := newAdminServer(o, reg, source.ready)
		if err != nil {
			listener.Close()
			return err
		}
		g.Go(func() error { return serveUntil(ctx, admin.server, admin.listener) })
	}
	g.Go(func() error {
		return serveUntil(ctx, server, listener)
	})
	logger.Info("cafe-router started", "listen", listener.Addr().String(), "tls", o.tlsCertFile != "", "metricsListen", o.metricsListen, "standalone", o.configFile != "")
	return g.Wait()
}

// configSource feeds the handler: the Kubernetes API or a file.
type configSource interface {
	run(ctx context.Context) error
	ready() bool
	newerEpoch(proxy.NewerEpoch)
}

// server is what serveUntil runs: the router's proxy.Server or the admin
// http.Server.
type server interface {
	Serve(net.Listener) error
	Shutdown(context.Context) error
}

// serveUntil serves until ctx ends, then lets in-flight requests finish.
func serveUntil(ctx context.Context, srv server, l net.Listener) error {
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(l) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return err
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
