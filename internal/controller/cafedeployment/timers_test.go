package cafedeployment

import (
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/types"
)

func TestRecheckTimers(t *testing.T) {
	key := types.NamespacedName{Namespace: "ns", Name: "pay"}
	quiet := func(t *testing.T, timers *recheckTimers, within time.Duration) {
		t.Helper()
		select {
		case ev := <-timers.wake:
			t.Fatalf("woke %s/%s after the timer was taken back", ev.Object.GetNamespace(), ev.Object.GetName())
		case <-time.After(within):
		}
	}

	t.Run("wakes the workload once", func(t *testing.T) {
		timers := newRecheckTimers()
		timers.set(key, 20*time.Millisecond)
		select {
		case ev := <-timers.wake:
			if ev.Object.GetNamespace() != "ns" || ev.Object.GetName() != "pay" {
				t.Fatalf("woke %s/%s", ev.Object.GetNamespace(), ev.Object.GetName())
			}
		case <-time.After(5 * time.Second):
			t.Fatal("never woke")
		}
		quiet(t, timers, 100*time.Millisecond)
	})
	t.Run("a plan that asks for nothing stops it", func(t *testing.T) {
		timers := newRecheckTimers()
		timers.set(key, 50*time.Millisecond)
		timers.set(key, 0)
		quiet(t, timers, 200*time.Millisecond)
	})
	t.Run("a new plan replaces the earlier timer", func(t *testing.T) {
		timers := newRecheckTimers()
		timers.set(key, 20*time.Millisecond)
		timers.set(key, 150*time.Millisecond)
		quiet(t, timers, 100*time.Millisecond)
		select {
		case <-timers.wake:
		case <-time.After(5 * time.Second):
			t.Fatal("the replacing timer never woke")
		}
		quiet(t, timers, 100*time.Millisecond)
	})
}
