package cafecli

import (
	"context"
	"fmt"
	"io"

	"os"
	"path/filepath"

	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	"github.com/cafe-dev/cafe/internal/manager"
)

// startCafe installs CAFE's CRDs and runs its controllers against cfg. ready
// is closed once their caches are in sync; errs receives a fatal error.
func startCafe(ctx context.Context, cfg *rest.Config, out io.Writer, logDir string) (<-chan struct{}, <-chan error) {
	ready := make(chan struct{})
	errs := make(chan error, 1)
	logFile, err := os.OpenFile(filepath.Join(logDir, "cafe-controllers.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		errs <- err
		return ready, errs
	}
	ctrl.SetLogger(zap.New(zap.WriteTo(logFile)))
	fmt.Fprintln(out, "  starting CAFE's controllers")
	mgr, err := manager.New(cfg, manager.Options{QPS: 200, Burst: 400, Concurrency: 8})
	if err != nil {
		errs <- err
		return ready, errs
	}
	go func() {
		if err := mgr.Start(ctx); err != nil {
			errs <- fmt.Errorf("CAFE's controllers stopped: %w", err)
		}
	}()
	go func() {
		if mgr.GetCache().WaitForCacheSync(ctx) {
			close(ready)
		}
	}()
	return ready, errs
}

func waitStarted(ctx context.Context, ready <-chan struct{}, errs <-chan error) error {
	select {
	case <-ready:
		return nil
	case err := <-errs:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}
