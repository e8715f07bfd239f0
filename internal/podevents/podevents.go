// Package podevents filters the pod update events that wake CAFE's
// controllers down to those that change something a controller decides on.
//
// A pod's status is rewritten with nothing new in it more often than one
// would think: a kubelet (or the simulator) that re-applies a state stamps
// fresh lastTransitionTime, lastProbeTime and startedAt values on conditions
// and containers that did not change. At thousands of pods such writes keep
// every workload reconciling while nothing happens. The cache still holds
// the latest pod; only the wake-up is skipped.
package podevents

import (
	"maps"
	"slices"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
)

// Changed passes creates, deletes and generic events, and updates for which
// Meaningful holds.
func Changed() predicate.Funcs {
	return predicate.Funcs{
		UpdateFunc: func(e event.UpdateEvent) bool {
			before, okBefore := e.ObjectOld.(*corev1.Pod)
			after, okAfter := e.ObjectNew.(*corev1.Pod)
			return !okBefore || !okAfter || Meaningful(before, after)
		},
	}
}

// Meaningful reports whether an update changed the pod's metadata that
// controllers read (labels, annotations, owners, deletion), its spec, or its
// status other than by timestamps alone.
func Meaningful(before, after *corev1.Pod) bool {
	switch {
	case !maps.Equal(before.Labels, after.Labels), !maps.Equal(before.Annotations, after.Annotations):
		return true
	case !equality.Semantic.DeepEqual(before.OwnerReferences, after.OwnerReferences):
		return true
	case (before.DeletionTimestamp == nil) != (after.DeletionTimestamp == nil):
		return true
	case !slices.Equal(before.Finalizers, after.Finalizers):
		return true
	case !equality.Semantic.DeepEqual(before.Spec, after.Spec):
		return true
	}
	return !equality.Semantic.DeepEqual(statusShape(&before.Status), statusShape(&after.Status))
}

// statusShape is a pod status without its timestamps.
func statusShape(s *corev1.PodStatus) *corev1.PodStatus {
	out := s.DeepCopy()
	out.StartTime = nil
	for i := range out.Conditions {
		out.Conditions[i].LastTransitionTime = metav1Zero
		out.Conditions[i].LastProbeTime = metav1Zero
	}
	for _, list := range [][]corev1.ContainerStatus{out.InitContainerStatuses, out.ContainerStatuses, out.EphemeralContainerStatuses} {
		for i := range list {
			withoutTimes(&list[i].State)
			withoutTimes(&list[i].LastTerminationState)
		}
	}
	return out
}

var metav1Zero metav1.Time

func withoutTimes(s *corev1.ContainerState) {
	if s.Running != nil {
		s.Running.StartedAt = metav1Zero
	}
	if s.Terminated != nil {
		s.Terminated.StartedAt = metav1Zero
		s.Terminated.FinishedAt = metav1Zero
	}
}
