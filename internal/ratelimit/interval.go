// Package ratelimit spaces out writes that only refresh derived numbers.
package ratelimit

import (
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/types"
)

// PerObject remembers, per object, when it was last written, so that writes
// carrying nothing but refreshed counts happen at most once per Interval.
type PerObject struct {
	Interval time.Duration

	mu   sync.Mutex
	last map[types.UID]time.Time
}

// NewPerObject spaces writes of each object by interval.
func NewPerObject(interval time.Duration) *PerObject {
	return &PerObject{Interval: interval, last: map[types.UID]time.Time{}}
}

// Due reports whether a counts-only write of uid may happen at now.
func (p *PerObject) Due(uid types.UID, now time.Time) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return now.Sub(p.last[uid]) >= p.Interval
}

// Wrote records a write of uid at now.
func (p *PerObject) Wrote(uid types.UID, now time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.last[uid] = now
}
