package inplaceset

import (
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/cafe-dev/cafe/internal/podset"
)

// The drain is counted from when the controller first saw the pod out of
// every endpoint, not from the serving condition's transition, so a slow
// endpoints controller never shortens it.
func TestDrainClockCountsFromLeavingTheEndpoints(t *testing.T) {
	t0 := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	const set, uid = types.UID("set"), types.UID("pod")
	d := newDrainClock()
	step := func(name string, p podset.Pod, now time.Time, want time.Time) {
		t.Helper()
		d.adjust(set, uid, &p, now)
		if !p.ServingSince.Equal(want) {
			t.Errorf("%s: drain counted from %s, want %s", name, p.ServingSince.Sub(t0), want.Sub(t0))
		}
	}
	out := func(since time.Time, left bool) podset.Pod {
		return podset.Pod{Serving: corev1.ConditionFalse, ServingSince: since, OutOfEndpoints: left}
	}

	step("out of traffic, still listed", out(t0, false), t0.Add(time.Second), t0)
	step("left the endpoints 3s after leaving traffic", out(t0, true), t0.Add(3*time.Second), t0.Add(3*time.Second))
	step("remembered on the next plan", out(t0, true), t0.Add(5*time.Second), t0.Add(3*time.Second))
	step("listed again: forgotten", out(t0, false), t0.Add(6*time.Second), t0)
	step("left again: counted anew", out(t0, true), t0.Add(7*time.Second), t0.Add(7*time.Second))
	step("back in traffic: forgotten", podset.Pod{Serving: corev1.ConditionTrue, ServingSince: t0.Add(8 * time.Second), OutOfEndpoints: true}, t0.Add(8*time.Second), t0.Add(8*time.Second))
	step("out again later, already unlisted: from the new transition", out(t0.Add(9*time.Second), true), t0.Add(9*time.Second), t0.Add(9*time.Second))
	step("a transition newer than the memory wins", out(t0.Add(20*time.Second), true), t0.Add(20*time.Second), t0.Add(20*time.Second))

	d.forget(set, map[types.UID]bool{})
	if len(d.bySet[set]) != 0 {
		t.Errorf("forget kept pods that no longer exist: %v", d.bySet[set])
	}
	d.forget(set, nil)
	if _, ok := d.bySet[set]; ok {
		t.Errorf("forget(nil) kept the set")
	}
}
