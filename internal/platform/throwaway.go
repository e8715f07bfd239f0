package platform

import (
	"context"
	"os"
	"path/filepath"

	"k8s.io/client-go/rest"
)

// StartThrowaway starts a platform whose data lives in a new temporary
// directory (opts.DataDir is ignored), as the benchmarks want one: a fresh
// cluster each run, nothing left behind. stop ends the platform's processes
// and removes the directory.
func StartThrowaway(ctx context.Context, opts Options) (p *Platform, cfg *rest.Config, stop func(), err error) {
	dir, err := os.MkdirTemp("", "cafe-platform-")
	if err != nil {
		return nil, nil, nil, err
	}
	opts.DataDir = filepath.Join(dir, "data")
	if p, err = Start(ctx, opts); err != nil {
		os.RemoveAll(dir)
		return nil, nil, nil, err
	}
	stop = func() {
		p.Stop()
		os.RemoveAll(dir)
	}
	if cfg, err = p.RESTConfig(); err != nil {
		stop()
		return nil, nil, nil, err
	}
	return p, cfg, stop, nil
}
