package demo

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"
)

// Run serves cfg until ctx ends (SIGTERM), then shuts down without failing a
// request: /readyz turns 503 at once so that routers take the replica out
// of rotation, the server keeps serving for cfg.ShutdownDelay while they
// notice, then it stops accepting and waits up to cfg.ShutdownTimeout for
// in-flight requests. It returns nil after a clean shutdown.
func Run(ctx context.Context, cfg Config, log *slog.Logger) error {
	store, err := OpenStore(cfg.EtcdEndpoints, cfg.EtcdPrefix, cfg.EtcdTimeout)
	if err != nil {
		return err
	}
	defer store.Close()
	listener, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return fmt.Errorf("--listen %s: %w", cfg.Listen, err)
	}
	api := NewServer(cfg.Identity, store, cfg.RequestTimeout)
	server := &http.Server{
		Handler:           api,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       90 * time.Second,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	served := make(chan error, 1)
	go func() { served <- server.Serve(listener) }()
	log.Info("serving", "listen", listener.Addr().String(), "etcd", cfg.EtcdEndpoints)

	select {
	case err := <-served:
		return fmt.Errorf("HTTP server stopped on its own: %w", err)
	case <-ctx.Done():
	}
	log.Info("shutting down: not ready, still serving", "drain", cfg.ShutdownDelay.String())
	api.StartDraining()
	// Answers from now on close their connection, so keep-alive clients
	// reconnect (through the router, to a replica that stays) instead of
	// sending their next request to a socket about to close.
	server.SetKeepAlivesEnabled(false)
	time.Sleep(cfg.ShutdownDelay)

	shutdownCtx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	defer cancel()
	if err := server.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("in-flight requests did not finish within --shutdown-timeout %s: %w", cfg.ShutdownTimeout, err)
	}
	if err := <-served; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	log.Info("stopped cleanly")
	return nil
}
