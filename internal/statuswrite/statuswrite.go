// Package statuswrite writes controllers' status subresources the same way
// for every CAFE kind: never over a newer object, and with writes that carry
// nothing but refreshed pod counts spaced out per object.
package statuswrite

import (
	"context"
	"errors"
	"sync"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

var (
	// ErrStale says the write lost a race with a newer object: re-read and
	// plan again rather than overwrite what was not seen.
	ErrStale = errors.New("status changed since it was read")
	// ErrCountsLater says only counts changed and they were written less
	// than the interval ago: requeue to write them later.
	ErrCountsLater = errors.New("pod counts are written at most once per interval")
)

// Writer remembers, per object, when its status was last written.
type Writer struct {
	// Interval is how often, at most, a counts-only write happens.
	Interval time.Duration

	mu   sync.Mutex
	last map[types.UID]time.Time
}

// New spaces counts-only writes of each object by interval.
func New(interval time.Duration) *Writer {
	return &Writer{Interval: interval, last: map[types.UID]time.Time{}}
}

// Write updates obj's status (already set on obj). countsOnly says the new
// status differs from the stored one in counts alone.
func (w *Writer) Write(ctx context.Context, c client.Client, obj client.Object, countsOnly bool, now time.Time) error {
	w.mu.Lock()
	if countsOnly && now.Sub(w.last[obj.GetUID()]) < w.Interval {
		w.mu.Unlock()
		return ErrCountsLater
	}
	w.last[obj.GetUID()] = now
	w.mu.Unlock()
	if err := c.Status().Update(ctx, obj); err != nil {
		if apierrors.IsConflict(err) {
			return ErrStale
		}
		return client.IgnoreNotFound(err)
	}
	return nil
}
