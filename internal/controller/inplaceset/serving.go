package inplaceset

import (
	"encoding/json"
	"time"

	corev1 "k8s.io/api/core/v1"

	appsv1alpha1 "github.com/cafe-dev/cafe/api/apps/v1alpha1"
	"github.com/cafe-dev/cafe/internal/podset"
)

// ServingPatch is the status patch that sets CAFE's serving condition and,
// in the same write, the pod's Ready condition where the kubelet's rule
// (Ready = containers ready and every readiness gate True) already decides
// it. Writing Ready along with the gate takes the pod out of (or back into)
// its Services' endpoints one kubelet status sync sooner, and spares the
// kubelet that write: it computes the same value and finds nothing to change.
// The node lifecycle controller writes Ready=False on pods the same way.
//
// Ready=False is always right once the gate is False. Ready=True is written
// only when the pod as read says its containers are ready and all its other
// gates are True. The patch carries the pod's resourceVersion: the API
// server refuses it (a conflict) if anything changed since the pod was read,
// so neither the Ready it implies nor the decision to write it is ever
// applied to a pod it was not made for.
func ServingPatch(pod *corev1.Pod, serving bool, reason podset.ServingReason, now time.Time) ([]byte, error) {
	status := corev1.ConditionFalse
	if serving {
		status = corev1.ConditionTrue
	}
	stamp := now.UTC().Format(time.RFC3339)
	conditions := []any{map[string]any{
		"type":               appsv1alpha1.ServingCondition,
		"status":             status,
		"reason":             reason,
		"lastTransitionTime": stamp,
	}}
	meta := map[string]any{"uid": pod.UID, "resourceVersion": pod.ResourceVersion}
	if ready, ok := readyWithGate(pod, serving); ok && ConditionStatus(pod, corev1.PodReady) != ready {
		c := map[string]any{"type": corev1.PodReady, "status": ready, "lastTransitionTime": stamp}
		if ready == corev1.ConditionFalse {
			c["reason"] = "ReadinessGatesNotReady"
			c["message"] = "the status of pod readiness gate \"" + appsv1alpha1.ServingCondition + "\" is not \"True\""
		} else {
			c["reason"], c["message"] = nil, nil // drop the old False's explanation
		}
		conditions = append(conditions, c)
	}
	return json.Marshal(map[string]any{
		"metadata": meta,
		"status":   map[string]any{"conditions": conditions},
	})
}

// readyWithGate is the pod's Ready condition by the kubelet's rule once CAFE's
// gate is set to serving; ok is false when that is not decided by what the
// pod shows (it does not declare CAFE's gate, or another gate or its
// containers are not known to be ready).
func readyWithGate(pod *corev1.Pod, serving bool) (corev1.ConditionStatus, bool) {
	if !hasGate(pod, appsv1alpha1.ServingCondition) {
		return "", false
	}
	if !serving {
		return corev1.ConditionFalse, true
	}
	if ConditionStatus(pod, corev1.ContainersReady) != corev1.ConditionTrue || heldOutByOthers(pod) {
		return "", false
	}
	return corev1.ConditionTrue, true
}

// ConditionStatus is the status of the pod's condition of type t, Unknown
// when the pod has none.
func ConditionStatus(pod *corev1.Pod, t corev1.PodConditionType) corev1.ConditionStatus {
	for _, c := range pod.Status.Conditions {
		if c.Type == t {
			return c.Status
		}
	}
	return corev1.ConditionUnknown
}
