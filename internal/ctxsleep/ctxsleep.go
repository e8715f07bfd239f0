// Package ctxsleep waits for a while unless a context ends first.
package ctxsleep

import (
	"context"
	"time"
)

// For waits d and reports true, or reports false as soon as ctx ends. A
// d of zero or less returns at once, true unless ctx has ended.
func For(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-timer.C:
		return true
	}
}
