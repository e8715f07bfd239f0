package cafedeployment

import (
	"sync"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"

	appsv1alpha1 "github.com/cafe-dev/cafe/api/apps/v1alpha1"
)

// recheckTimers wake a workload when its release planner asked to look
// again (a batch's progress deadline, an auto-reschedule delay). Unlike a
// delayed requeue, which the work queue cannot take back, a timer is replaced
// by each plan and stopped once a plan asks for nothing: a release that has
// completed is not woken ten minutes later by its last batch's deadline.
type recheckTimers struct {
	mu     sync.Mutex
	timers map[types.NamespacedName]*time.Timer
	wake   chan event.GenericEvent
}

func newRecheckTimers() *recheckTimers {
	return &recheckTimers{timers: map[types.NamespacedName]*time.Timer{}, wake: make(chan event.GenericEvent, 1024)}
}

// set wakes key after d, in place of any earlier timer; d <= 0 only stops it.
func (t *recheckTimers) set(key types.NamespacedName, d time.Duration) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if old := t.timers[key]; old != nil {
		old.Stop()
		delete(t.timers, key)
	}
	if d <= 0 {
		return
	}
	var timer *time.Timer
	timer = time.AfterFunc(d, func() {
		t.mu.Lock()
		current := t.timers[key] == timer
		if current {
			delete(t.timers, key)
		}
		t.mu.Unlock()
		if current {
			t.wake <- event.GenericEvent{Object: workloadKey(key)}
		}
	})
	t.timers[key] = timer
}

// workloadKey is an object that names the workload, all a wake-up needs.
func workloadKey(key types.NamespacedName) client.Object {
	return &appsv1alpha1.CafeDeployment{ObjectMeta: metav1.ObjectMeta{Namespace: key.Namespace, Name: key.Name}}
}
