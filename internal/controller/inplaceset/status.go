package inplaceset

import (
	"context"
	"time"

	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	appsv1alpha1 "github.com/cafe-dev/cafe/api/apps/v1alpha1"
	"github.com/cafe-dev/cafe/internal/podset"
)

// Condition types of an InPlaceSet.
const (
	// ConditionUpdated is True when every pod runs the update revision.
	ConditionUpdated = "Updated"
	// ConditionWaiting is True while the set waits for something before its
	// next step (a drain, readiness, the unavailability budget); its message
	// says what.
	ConditionWaiting = "Waiting"
)

// updateStatus writes the set's status if it changed (see statuswrite.Writer
// for the errors).
func (r *Reconciler) updateStatus(ctx context.Context, set *appsv1alpha1.InPlaceSet, plan podset.Result, updateRev, currentRev string, replicas int) error {
	s := set.Status.DeepCopy()
	s.ObservedGeneration = set.Generation
	s.Replicas = int32(plan.Status.Replicas)
	s.ReadyReplicas = int32(plan.Status.ReadyReplicas)
	s.AvailableReplicas = int32(plan.Status.AvailableReplicas)
	s.UpdatedReplicas = int32(plan.Status.UpdatedReplicas)
	s.UpdatedReadyReplicas = int32(plan.Status.UpdatedReadyReplicas)
	s.UpdateRevision = updateRev
	s.CurrentRevision = currentRev
	if selector, err := metav1.LabelSelectorAsSelector(set.Spec.Selector); err == nil {
		s.Selector = selector.String()
	}
	stopped := StoppedSlots(set)
	s.StoppedIndexes = nil
	for _, i := range stopped {
		s.StoppedIndexes = append(s.StoppedIndexes, int32(i))
	}
	// The current revision catches up once no pod is left behind on it.
	allUpdated := plan.Status.UpdatedReplicas == plan.Status.Replicas && plan.Status.Replicas == replicas-len(stopped)
	if allUpdated {
		s.CurrentRevision = updateRev
	}
	updated := metav1.Condition{Type: ConditionUpdated, Status: metav1.ConditionFalse, Reason: "Updating",
		Message: "some pods are not at the update revision", ObservedGeneration: set.Generation}
	if allUpdated {
		updated.Status, updated.Reason, updated.Message = metav1.ConditionTrue, "AllPodsUpdated", "every pod runs the update revision"
	}
	meta.SetStatusCondition(&s.Conditions, updated)
	waiting := metav1.Condition{Type: ConditionWaiting, Status: metav1.ConditionFalse, Reason: "NotWaiting", ObservedGeneration: set.Generation}
	if len(plan.Waiting) > 0 {
		waiting.Status, waiting.Reason, waiting.Message = metav1.ConditionTrue, string(plan.Waiting[0].Reason), plan.WaitingMessage()
	}
	meta.SetStatusCondition(&s.Conditions, waiting)
	if equality.Semantic.DeepEqual(&set.Status, s) {
		return nil
	}
	countsOnly := onlyCountsChanged(&set.Status, s)
	set.Status = *s
	return r.status.Write(ctx, r.Client, set, countsOnly, r.Now())
}

// countsInterval is how often, at most, a status write carries nothing but
// refreshed progress: pod counts and what the set waits for, which change
// with every pod event and which nothing in CAFE plans on.
const countsInterval = time.Second

// onlyCountsChanged reports whether two statuses differ only in progress:
// pod counts, the Waiting condition (during a release it moves between
// draining, readiness and the budget with nearly every pod's step; its
// status, reason and message lag by at most countsInterval), or the wording
// of another condition whose status and reason stay the same.
func onlyCountsChanged(old, updated *appsv1alpha1.InPlaceSetStatus) bool {
	a, b := old.DeepCopy(), updated.DeepCopy()
	for _, s := range []*appsv1alpha1.InPlaceSetStatus{a, b} {
		s.Replicas, s.ReadyReplicas, s.AvailableReplicas, s.UpdatedReplicas, s.UpdatedReadyReplicas = 0, 0, 0, 0, 0
		for i := range s.Conditions {
			c := &s.Conditions[i]
			c.Message = ""
			c.LastTransitionTime = metav1.Time{}
			if c.Type == ConditionWaiting {
				c.Status, c.Reason = "", ""
			}
		}
	}
	return equality.Semantic.DeepEqual(a, b)
}
