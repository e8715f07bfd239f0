package podset

import (
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
)

func TestReturnable(t *testing.T) {
	v2 := func(mods ...func(*Pod)) Pod { return servingPod(0, "v2", mods...) }
	out := outOfTraffic(10*time.Second, true)
	cases := []struct {
		name     string
		pod      Pod
		minReady time.Duration
		want     bool
		after    time.Duration
	}{
		{name: "updated, ready", pod: v2(out, readyFor(time.Second)), want: true},
		{name: "restarted, ready", pod: v2(out, outFor(ServingRestart), restartRequested("a"), handled("a")), want: true},
		{name: "new, ready", pod: v2(fresh), want: true},
		{name: "new, condition Unknown", pod: v2(fresh, func(p *Pod) { p.Serving = corev1.ConditionUnknown }), want: true},
		{name: "already serving", pod: v2()},
		{name: "at an old revision: only the plan knows whether its change is off", pod: servingPod(0, "v1", out)},
		{name: "out to be scaled in", pod: v2(out, outFor(ServingScaleIn))},
		{name: "out to be stopped", pod: v2(out, outFor(ServingStopped))},
		{name: "restart not yet handled", pod: v2(out, outFor(ServingRestart), restartRequested("b"), handled("a"))},
		{name: "a restart asked of a new pod", pod: v2(fresh, restartRequested("a"))},
		{name: "change in progress", pod: v2(out, inProgress)},
		{name: "containers not ready", pod: v2(out, notReady)},
		{name: "terminating", pod: v2(out, deleting)},
		{name: "ended", pod: v2(out, failed)},
		{name: "the set's own write in flight", pod: v2(out, func(p *Pod) { p.Pending = true })},
		{name: "ready for 4s of 10s", pod: v2(out, readyFor(4*time.Second)), minReady: 10 * time.Second, after: 6 * time.Second},
		{name: "ready for 10s of 10s", pod: v2(out, readyFor(10*time.Second)), minReady: 10 * time.Second, want: true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, after := Returnable(&c.pod, "v2", c.minReady, t0)
			if got != c.want || after != c.after {
				t.Fatalf("Returnable = %v, %s; want %v, %s", got, after, c.want, c.after)
			}
		})
	}
}
