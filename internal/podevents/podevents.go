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
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/conversion"
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
// status other than by timestamps alone. The status goes first: it is what
// most updates change, and the comparison stops at the first difference.
func Meaningful(before, after *corev1.Pod) bool {
	switch {
	case !maps.Equal(before.Labels, after.Labels), !maps.Equal(before.Annotations, after.Annotations):
		return true
	case (before.DeletionTimestamp == nil) != (after.DeletionTimestamp == nil):
		return true
	case !slices.Equal(before.Finalizers, after.Finalizers):
		return true
	case !timeless.DeepEqual(before.Status, after.Status):
		return true
	case !equality.Semantic.DeepEqual(before.OwnerReferences, after.OwnerReferences):
		return true
	}
	return !equality.Semantic.DeepEqual(before.Spec, after.Spec)
}

// timeless compares as equality.Semantic does, except that it takes any two
// timestamps as equal; it reads the objects in place, copying nothing.
var timeless = conversion.EqualitiesOrDie(
	func(a, b metav1.Time) bool { return true },
	func(a, b metav1.MicroTime) bool { return true },
	func(a, b resource.Quantity) bool { return a.Cmp(b) == 0 },
)
