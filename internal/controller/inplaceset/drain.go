package inplaceset

import (
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/types"

	"github.com/cafe-dev/cafe/internal/podset"
)

// drainClock remembers when the controller first saw each pod out of every
// endpoint. The drain time is counted from the later of that moment and the
// serving condition's transition, so a pod stays out of endpoints for the
// whole drain time even when the endpoints controller is slow to drop it.
// After a controller restart the clock starts again: a longer drain, never a
// shorter one.
type drainClock struct {
	mu    sync.Mutex
	bySet map[types.UID]map[types.UID]time.Time // set UID → pod UID → first seen out
}

func newDrainClock() *drainClock {
	return &drainClock{bySet: map[types.UID]map[types.UID]time.Time{}}
}

// adjust sets p.ServingSince to when its drain really began.
func (d *drainClock) adjust(set, uid types.UID, p *podset.Pod, now time.Time) {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := d.bySet[set]
	if out == nil {
		out = map[types.UID]time.Time{}
		d.bySet[set] = out
	}
	if p.Serving != "False" || !p.OutOfEndpoints {
		delete(out, uid)
		return
	}
	since, ok := out[uid]
	if !ok || since.Before(p.ServingSince) {
		since = now
		out[uid] = since
	}
	if since.After(p.ServingSince) {
		p.ServingSince = since
	}
}

// forget drops a set's pods that no longer exist; a nil alive drops the set.
func (d *drainClock) forget(set types.UID, alive map[types.UID]bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if alive == nil {
		delete(d.bySet, set)
		return
	}
	for uid := range d.bySet[set] {
		if !alive[uid] {
			delete(d.bySet[set], uid)
		}
	}
}
