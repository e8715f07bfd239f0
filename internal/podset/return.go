package podset

import (
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
)

// Putting a pod back into traffic is split between two controllers, by the
// reason the pod is out:
//
//   - The serving controller returns a pod once the change it left traffic
//     for shows as done on the pod itself: a new pod (no serving condition
//     yet), or a pod taken out for an update or a restart, that now runs the
//     set's update revision, has no restart left to do, runs every image its
//     spec names and has had its containers ready for minReadySeconds.
//     Nothing about the rest of the set can make such a pod wrong to serve,
//     so no plan of the set is needed.
//   - Plan returns every other pod out of traffic whose change was called off
//     (a partition raised, a slot started again, InPlaceOnly refusing a
//     recreation): only the set's plan knows that it was.
//
// The two never both return a pod. Taking pods out stays with Plan alone:
// it spends the set's unavailability budget.

// ReturnedByServingController reports whether the serving controller, not
// Plan, puts p back into traffic once it qualifies (see Returnable).
func ReturnedByServingController(p *Pod, updateRevision string) bool {
	if p.Revision != updateRevision || p.Serving == corev1.ConditionTrue {
		return false
	}
	switch {
	case p.Serving != corev1.ConditionFalse: // never set: a new pod
		return true
	case p.ServingReason == ServingUpdate, p.ServingReason == ServingRestart:
		return true
	}
	return false
}

// Returnable is the serving controller's decision for one pod of a set whose
// update revision is updateRevision: whether to set its serving condition
// True now, or else how long until minReadySeconds could allow it (zero when
// only a change of the pod can).
func Returnable(p *Pod, updateRevision string, minReady time.Duration, now time.Time) (bool, time.Duration) {
	if !ReturnedByServingController(p, updateRevision) || !p.active() || p.Pending ||
		p.InPlaceInProgress || p.restartPending() || !p.Ready {
		return false, 0
	}
	if readyFor := p.readyFor(now); readyFor < minReady {
		return false, minReady - max(readyFor, 0)
	}
	return true, 0
}

// waitReturning records that a ready pod waits for the serving controller.
func (pl *planner) waitReturning(p *Pod) {
	pl.wait(Wait{Pod: p.Name, Reason: WaitReturning, Message: fmt.Sprintf(
		"pod %s ready; the serving controller puts it back into traffic", p.Name)})
}
