package inplaceset

import (
	"fmt"
	"strconv"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	appsv1alpha1 "github.com/cafe-dev/cafe/api/apps/v1alpha1"
)

// PodName is the stable name of a set's slot.
func PodName(set *appsv1alpha1.InPlaceSet, index int) string {
	return fmt.Sprintf("%s-%d", set.Name, index)
}

// newPod builds the pod for a slot from a revision's template. Every pod
// carries CAFE's serving readiness gate, so it enters traffic only when CAFE
// says so, and it is created out of traffic.
func newPod(set *appsv1alpha1.InPlaceSet, template *corev1.PodTemplateSpec, index int, revision string) *corev1.Pod {
	t := template.DeepCopy()
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			Name:        PodName(set, index),
			Namespace:   set.Namespace,
			Labels:      t.Labels,
			Annotations: t.Annotations,
			Finalizers:  t.Finalizers,
		},
		Spec: t.Spec,
	}
	if pod.Labels == nil {
		pod.Labels = map[string]string{}
	}
	pod.Labels[appsv1alpha1.RevisionLabel] = revision
	pod.Labels[appsv1alpha1.InstanceIndexLabel] = strconv.Itoa(index)
	for _, key := range []string{appsv1alpha1.UnitLabel, appsv1alpha1.CafeDeploymentLabel} {
		if v, ok := set.Labels[key]; ok {
			pod.Labels[key] = v
		}
	}
	if !hasGate(pod, appsv1alpha1.ServingCondition) {
		pod.Spec.ReadinessGates = append(pod.Spec.ReadinessGates, corev1.PodReadinessGate{ConditionType: appsv1alpha1.ServingCondition})
	}
	// Stable names double as host names, as a VM's would.
	if pod.Spec.Hostname == "" {
		pod.Spec.Hostname = pod.Name
	}
	pod.OwnerReferences = []metav1.OwnerReference{*metav1.NewControllerRef(set, appsv1alpha1.GroupVersion.WithKind("InPlaceSet"))}
	mountClaims(set, pod)
	return pod
}

func hasGate(pod *corev1.Pod, t corev1.PodConditionType) bool {
	for _, g := range pod.Spec.ReadinessGates {
		if g.ConditionType == t {
			return true
		}
	}
	return false
}
