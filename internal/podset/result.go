package podset

import (
	"strings"
	"time"
)

// Result is a plan: the actions to take now, what the set waits for, and
// when to look again.
type Result struct {
	// Actions to carry out, at most one per pod. Their order is the order in
	// which Plan decided them; the shell may run them in any order.
	Actions []Action
	// Waiting lists what keeps the set from its desired state, in words.
	Waiting []Wait
	// RequeueAfter is when a time-based wait (a drain, minReadySeconds, the
	// maximum drain wait) ends; zero when no such wait is running. Other
	// waits end with a pod or endpoints change the shell watches anyway.
	RequeueAfter time.Duration
	// Status is the pod counts for the InPlaceSet's status.
	Status Status
	// DroppedStoppedIndexes are stopped slots that scale-in removed from the
	// set; the shell should forget them so they do not come back, still
	// stopped, on a later scale-out.
	DroppedStoppedIndexes []int
}

// WaitingMessage joins the waits' messages into one line for a condition or
// an event, in the order Plan found them.
func (r Result) WaitingMessage() string {
	messages := make([]string, len(r.Waiting))
	for i, w := range r.Waiting {
		messages[i] = w.Message
	}
	return strings.Join(messages, "; ")
}

// Wait is one thing the set waits for.
type Wait struct {
	// Pod is the pod the wait is about; empty when it is about the set.
	Pod string
	// Reason is a CamelCase code for machines.
	Reason WaitReason
	// Message says the same for people, e.g. "pod web-3 draining: 2s of 5s".
	Message string
}

// WaitReason is a machine-readable cause of a wait.
type WaitReason string

const (
	// WaitTerminating: a pod is being deleted.
	WaitTerminating WaitReason = "Terminating"
	// WaitDraining: a pod is out of traffic and its drain time runs.
	WaitDraining WaitReason = "Draining"
	// WaitLeavingEndpoints: a pod drained but some endpoints still list it.
	WaitLeavingEndpoints WaitReason = "LeavingEndpoints"
	// WaitCannotLeaveEndpoints: a pod drains, but a Service that publishes
	// not-ready addresses will list it whatever its readiness; it changes
	// after the drain time, still listed.
	WaitCannotLeaveEndpoints WaitReason = "CannotLeaveEndpoints"
	// WaitInPlaceInProgress: a pod's containers are taking an in-place
	// update or restart.
	WaitInPlaceInProgress WaitReason = "InPlaceInProgress"
	// WaitNotReady: a pod's containers are not ready.
	WaitNotReady WaitReason = "NotReady"
	// WaitMinReady: a pod's containers are ready but not yet for
	// minReadySeconds.
	WaitMinReady WaitReason = "MinReadySeconds"
	// WaitReturning: a pod is ready to go back into traffic and the serving
	// controller, not the set's plan, puts it there (see Returnable).
	WaitReturning WaitReason = "ReturningToTraffic"
	// WaitMaxUnavailable: changing another pod would make more pods
	// unavailable than maxUnavailable allows.
	WaitMaxUnavailable WaitReason = "MaxUnavailable"
	// WaitUnitWouldBeEmpty: the change would take the set's last pod in
	// traffic out, and allowEmpty is false.
	WaitUnitWouldBeEmpty WaitReason = "UnitWouldBeEmpty"
	// WaitInPlaceImpossible: the update needs new pods but the policy is
	// InPlaceOnly.
	WaitInPlaceImpossible WaitReason = "InPlaceImpossible"
	// WaitPaused: the set is paused, and pods wait to start their update.
	WaitPaused WaitReason = "Paused"
)

// Status is the pod counts an InPlaceSet reports.
type Status struct {
	// Replicas counts pods that exist and have neither ended nor begun
	// terminating.
	Replicas int
	// ReadyReplicas counts pods in traffic: containers ready, serving True.
	ReadyReplicas int
	// AvailableReplicas counts pods in traffic, ready for minReadySeconds
	// and not being changed.
	AvailableReplicas int
	// UpdatedReplicas counts the pods of Replicas at the update revision.
	UpdatedReplicas int
	// UpdatedReadyReplicas counts ReadyReplicas at the update revision.
	UpdatedReadyReplicas int
}

func countStatus(in *Input) Status {
	var s Status
	for i := range in.Pods {
		p := &in.Pods[i]
		if !p.active() {
			continue
		}
		updated := p.Revision == in.UpdateRevision
		s.Replicas++
		if updated {
			s.UpdatedReplicas++
		}
		if p.inTraffic() {
			s.ReadyReplicas++
			if updated {
				s.UpdatedReadyReplicas++
			}
		}
		if p.available(in.Now, in.MinReady) {
			s.AvailableReplicas++
		}
	}
	return s
}
