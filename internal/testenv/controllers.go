package testenv

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	"github.com/cafe-dev/cafe/internal/manager"
)

// StartControllers runs CAFE's controllers in the test process until the
// returned stop function is called.
func (e *Env) StartControllers(o manager.Options) (stop func(), err error) {
	if o.QPS == 0 {
		o.QPS, o.Burst = 200, 400
	}
	if logFile, err := os.OpenFile(filepath.Join(e.Platform.LogDir(), "cafe-controllers.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644); err == nil {
		ctrl.SetLogger(zap.New(zap.WriteTo(logFile)))
	}
	mgr, err := manager.New(e.Config, o)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- mgr.Start(ctx) }()
	syncCtx, syncCancel := context.WithTimeout(ctx, time.Minute)
	defer syncCancel()
	if !mgr.GetCache().WaitForCacheSync(syncCtx) {
		cancel()
		return nil, fmt.Errorf("controller caches did not sync: %v", <-done)
	}
	return func() {
		cancel()
		<-done
	}, nil
}
