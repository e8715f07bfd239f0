// Command cafe-demo is CAFE's demo payment service (internal/demo): accounts
// and transfers in etcd, applied exactly once per idempotency key, with a
// graceful shutdown that fails no request. A node agent runs image
// cafe/demo:<version> as this binary with --version <version>; see
// docs/demo-service.md.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/cafe-dev/cafe/internal/demo"
)

func main() {
	cfg, err := demo.ParseConfig(os.Args[1:], os.Getenv)
	if errors.Is(err, flag.ErrHelp) {
		os.Exit(0)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "cafe-demo:", err)
		os.Exit(2)
	}
	if cfg.Identity.Pod == "" {
		cfg.Identity.Pod, _ = os.Hostname()
	}
	logger := slog.New(slog.NewJSONHandler(os.Stderr, nil)).With(
		"version", cfg.Identity.Version, "unit", cfg.Identity.Unit, "pod", cfg.Identity.Pod)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := demo.Run(ctx, cfg, logger); err != nil {
		logger.Error("cafe-demo stopped", "err", err)
		os.Exit(1)
	}
}
