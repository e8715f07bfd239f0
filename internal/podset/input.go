// Package podset decides what an InPlaceSet does next with its pods.
//
// Plan is a pure function of the set's spec, its pods' observed state and the
// current time: it makes no API calls and reads no clock, so the controller
// (the "shell") gathers an Input, calls Plan, and carries out the returned
// actions. Running Plan again on the same state yields the same plan, which
// is what makes a crashed or restarted controller safe.
//
// The package knows nothing of the apps.cafe.dev API types on purpose: the
// shell translates an InPlaceSet and its pods into Input.
package podset

import (
	"time"

	corev1 "k8s.io/api/core/v1"
)

// UpdatePolicy says how pods move to a new revision. The values match the
// InPlaceSet's spec.updatePolicy.
type UpdatePolicy string

const (
	// InPlaceIfPossible patches a pod when the change is in-place-able and
	// recreates it otherwise.
	InPlaceIfPossible UpdatePolicy = "InPlaceIfPossible"
	// InPlaceOnly patches pods and never recreates one to update it.
	InPlaceOnly UpdatePolicy = "InPlaceOnly"
	// Recreate always deletes the pod and creates it again.
	Recreate UpdatePolicy = "Recreate"
)

// Input is everything Plan needs to know about one InPlaceSet.
type Input struct {
	// Replicas is the number of slots, stopped slots included.
	Replicas int
	// Partition is the number of slots that stay at CurrentRevision.
	Partition int
	// MinReady is how long a pod's containers must be ready before the pod
	// goes (back) into traffic and counts as available.
	MinReady time.Duration
	// MaxUnavailable is the resolved spec.maxUnavailable (see
	// ResolveMaxUnavailable). Below 1 it forbids every disruptive change.
	MaxUnavailable int
	// Policy says how pods move to UpdateRevision.
	Policy UpdatePolicy
	// Drain is how long a pod stays out of traffic before it is changed.
	Drain time.Duration
	// MaxDrainWait bounds the wait for a pod's address to leave endpoints,
	// counted from when it was taken out of traffic.
	MaxDrainWait time.Duration
	// AllowEmpty lets the set take its last pod in traffic out.
	AllowEmpty bool
	// SkipHandoff changes pods without setting their serving condition False
	// first (trafficHandoff.disabled): the budget still limits how many
	// change at once.
	SkipHandoff bool
	// Paused starts no new update: a pod already out of traffic for one
	// finishes it, and no other pod leaves traffic or changes for the update
	// revision until it is lifted. Creations, replacements of lost pods,
	// restarts, stops and scale-in go on.
	Paused bool

	// UpdateRevision is the revision every pod above the partition moves to.
	UpdateRevision string
	// CurrentRevision is the revision the partition keeps pods at; pods that
	// replace lost ones below the partition are created at it. Empty means
	// the set has no older revision, and replacements use UpdateRevision.
	CurrentRevision string
	// InPlaceUpdatable tells whether every pod not at UpdateRevision can be
	// switched to it in place (see InPlaceUpdatable, the function). The shell
	// must set it false if any old revision present differs from the update
	// revision beyond what an in-place update can change.
	InPlaceUpdatable bool

	// StoppedIndexes are slots the user stopped (the InPlaceSet's
	// apps.cafe.dev/stopped-slots annotation): they still count toward
	// Replicas, run no pod, and their index is neither recreated nor given
	// to another pod.
	StoppedIndexes []int

	// Now is the time the state was observed; Plan reads no clock.
	Now time.Time

	// Pods are the pods the set owns, in any order.
	Pods []Pod
}

// Pod is the observed state of one pod of the set.
type Pod struct {
	// Name is the pod's name, `<set>-<index>`.
	Name string
	// Index is the pod's slot. Indexes must be unique and non-negative; a pod
	// whose index is negative or already held by a pod with a smaller name is
	// surplus and is removed like a scaled-in pod.
	Index int
	// Revision is the pod's revision label.
	Revision string
	// Phase is the pod's phase; Failed and Succeeded pods are replaced.
	Phase corev1.PodPhase
	// Deleting is true once the pod has a deletion timestamp.
	Deleting bool

	// Ready reports the pod's ContainersReady condition. It must not be the
	// PodReady condition: PodReady includes the serving readiness gate, which
	// Plan only opens once the containers are ready, so waiting for PodReady
	// would wait forever.
	Ready bool
	// ReadySince is the ContainersReady condition's lastTransitionTime.
	ReadySince time.Time

	// Serving is the status of the pod's apps.cafe.dev/serving condition;
	// a pod without one (a new pod) may say "" or Unknown, both meaning "not
	// yet put into traffic".
	Serving corev1.ConditionStatus
	// ServingSince is the serving condition's lastTransitionTime; when the
	// condition is False it marks the start of the pod's drain.
	ServingSince time.Time
	// ServingReason is the serving condition's reason: why the pod went out
	// of (or into) traffic.
	ServingReason ServingReason

	// HeldOut is true while a readiness gate of another component (a
	// router, a service registry) is not True on the pod: Kubernetes keeps
	// the pod out of its Services' endpoints whatever CAFE's gate says. Such
	// a pod is neither in traffic nor available; Plan waits for that
	// component rather than acting on its behalf.
	HeldOut bool

	// OutOfEndpoints is true when the pod's IP is in no ready or serving
	// endpoint of any Service selecting the pod.
	OutOfEndpoints bool
	// CannotLeaveEndpoints is true when some Service keeps the pod in its
	// endpoints whatever its readiness (publishNotReadyAddresses), so waiting
	// for OutOfEndpoints is pointless.
	CannotLeaveEndpoints bool

	// InPlaceInProgress is true from the moment the shell changed the pod in
	// place (UpdateInPlace or RestartInPlace) until its containers run the
	// change: for an update, until every changed container reports the new
	// image; for a restart, until every container has restarted. The pod is
	// kept out of traffic while it is true.
	InPlaceInProgress bool

	// RestartRequested is the apps.cafe.dev/restart-requested token, if any.
	RestartRequested string
	// RestartHandled is the last restart token the shell acted on.
	RestartHandled string

	// Pending is true while a write the shell sent for this pod (a create,
	// a delete or a change) has not shown in what it observes: the state
	// above is from before the write, or, for a create, unknown beyond the
	// name, index and revision. Plan takes no action on a pending pod and
	// counts it as unavailable and out of traffic, so the shell can plan the
	// rest of the set while its last writes are in flight.
	Pending bool
}

func (p *Pod) terminated() bool {
	return p.Phase == corev1.PodFailed || p.Phase == corev1.PodSucceeded
}

// active pods count toward status.replicas: they run or will run.
func (p *Pod) active() bool { return !p.Deleting && !p.terminated() }

// inTraffic pods are in Service endpoints as far as CAFE can tell: their
// containers are ready and every readiness gate, CAFE's and others', is open.
func (p *Pod) inTraffic() bool {
	return p.active() && p.Ready && p.Serving == corev1.ConditionTrue && !p.HeldOut
}

func (p *Pod) readyFor(now time.Time) time.Duration { return now.Sub(p.ReadySince) }

// available pods are in traffic, have been ready for minReady and are not in
// the middle of a change.
func (p *Pod) available(now time.Time, minReady time.Duration) bool {
	return p.inTraffic() && !p.InPlaceInProgress && p.readyFor(now) >= minReady
}

func (p *Pod) restartPending() bool {
	return p.RestartRequested != "" && p.RestartRequested != p.RestartHandled
}
