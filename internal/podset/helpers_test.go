package podset

import (
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
)

// t0 is the fixed "now" of the table tests.
var t0 = time.Date(2025, 11, 25, 12, 0, 0, 0, time.UTC)

// baseInput is a three-replica set releasing v2 over v1 in place, one pod
// at a time, with a 5s drain and a 60s maximum drain wait.
func baseInput(pods ...Pod) Input {
	return Input{
		Replicas:         3,
		MaxUnavailable:   1,
		Policy:           InPlaceIfPossible,
		Drain:            5 * time.Second,
		MaxDrainWait:     60 * time.Second,
		UpdateRevision:   "v2",
		CurrentRevision:  "v1",
		InPlaceUpdatable: true,
		Now:              t0,
		Pods:             pods,
	}
}

// servingPod is a pod that has run, ready and in traffic, for an hour.
func servingPod(index int, revision string, mods ...func(*Pod)) Pod {
	p := Pod{
		Name:         fmt.Sprintf("web-%d", index),
		Index:        index,
		Revision:     revision,
		Phase:        corev1.PodRunning,
		Ready:        true,
		ReadySince:   t0.Add(-time.Hour),
		Serving:      corev1.ConditionTrue,
		ServingSince: t0.Add(-time.Hour),
	}
	for _, m := range mods {
		m(&p)
	}
	return p
}

func notReady(p *Pod) { p.Ready = false; p.ReadySince = t0.Add(-time.Minute) }

// readyFor makes the pod's containers ready for d.
func readyFor(d time.Duration) func(*Pod) {
	return func(p *Pod) { p.Ready = true; p.ReadySince = t0.Add(-d) }
}

// outOfTraffic sets the serving condition False d ago, for an update, with
// the pod's address gone from (or still in) the endpoints.
func outOfTraffic(d time.Duration, leftEndpoints bool) func(*Pod) {
	return func(p *Pod) {
		p.Serving = corev1.ConditionFalse
		p.ServingSince = t0.Add(-d)
		p.ServingReason = ServingUpdate
		p.OutOfEndpoints = leftEndpoints
	}
}

// fresh makes a pod that has no serving condition yet, as created.
func fresh(p *Pod) { p.Serving = ""; p.ServingSince = time.Time{}; p.OutOfEndpoints = true }

func deleting(p *Pod)   { p.Deleting = true }
func failed(p *Pod)     { p.Phase = corev1.PodFailed; p.Ready = false }
func inProgress(p *Pod) { p.InPlaceInProgress = true; p.Ready = false }

// outFor changes why the pod went out of traffic.
func outFor(reason ServingReason) func(*Pod) {
	return func(p *Pod) { p.ServingReason = reason }
}

func restartRequested(token string) func(*Pod) {
	return func(p *Pod) { p.RestartRequested = token }
}

func handled(token string) func(*Pod) {
	return func(p *Pod) { p.RestartHandled = token }
}
