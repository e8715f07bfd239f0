package cli

import (
	"strconv"

	corev1 "k8s.io/api/core/v1"

	appsv1alpha1 "github.com/cafe-dev/cafe/api/apps/v1alpha1"
	"github.com/cafe-dev/cafe/internal/podset"
)

// Pod statuses as the console shows them, in the order a pod goes through
// them during an in-place change: Serving, Draining (out of traffic, not
// yet changed), Starting (containers not ready), Joining (ready, not yet
// back in traffic), Serving.
const (
	statusServing       = "Serving"
	statusDraining      = "Draining"
	statusStarting      = "Starting"
	statusJoining       = "Joining"
	statusTerminating   = "Terminating"
	statusPending       = "Pending"
	statusUnschedulable = "Unschedulable"
	statusStopped       = "Stopped"
	statusStopping      = "Stopping"
)

// podView describes a pod; setUpdateRevision is its InPlaceSet's
// status.updateRevision, which tells a pod draining for an update from one
// already updated and joining traffic again.
func podView(pod *corev1.Pod, setUpdateRevision string) PodView {
	index, err := strconv.Atoi(pod.Labels[appsv1alpha1.InstanceIndexLabel])
	if err != nil {
		index = -1
	}
	p := PodView{
		Name:    pod.Name,
		Index:   index,
		Node:    pod.Spec.NodeName,
		IP:      pod.Status.PodIP,
		Ready:   conditionTrue(pod, corev1.ContainersReady),
		Serving: conditionTrue(pod, appsv1alpha1.ServingCondition),
	}
	for _, c := range pod.Status.ContainerStatuses {
		p.Restarts += c.RestartCount
	}
	p.Status = podStatus(pod, p, setUpdateRevision)
	return p
}

func podStatus(pod *corev1.Pod, p PodView, setUpdateRevision string) string {
	switch {
	case pod.DeletionTimestamp != nil:
		return statusTerminating
	case pod.Spec.NodeName == "":
		if c := condition(pod, corev1.PodScheduled); c != nil && c.Reason == corev1.PodReasonUnschedulable {
			return statusUnschedulable
		}
		return statusPending
	case pod.Status.Phase == corev1.PodFailed || pod.Status.Phase == corev1.PodSucceeded:
		return string(pod.Status.Phase)
	}
	for _, c := range pod.Status.ContainerStatuses {
		if w := c.State.Waiting; w != nil && w.Reason != "" && w.Reason != "ContainerCreating" {
			return w.Reason // CrashLoopBackOff, ErrImagePull, ...
		}
	}
	switch {
	case !p.Ready:
		return statusStarting
	case p.Serving:
		return statusServing
	}
	serving := condition(pod, appsv1alpha1.ServingCondition)
	if serving == nil {
		return statusJoining
	}
	switch podset.ServingReason(serving.Reason) {
	case podset.ServingScaleIn, podset.ServingStopped:
		return statusDraining
	case podset.ServingUpdate:
		if setUpdateRevision != "" && pod.Labels[appsv1alpha1.RevisionLabel] != setUpdateRevision {
			return statusDraining
		}
	case podset.ServingRestart:
		if pod.Annotations[appsv1alpha1.RestartRequestedAnnotation] != pod.Annotations[appsv1alpha1.RestartHandledAnnotation] {
			return statusDraining
		}
	}
	return statusJoining
}

func condition(pod *corev1.Pod, t corev1.PodConditionType) *corev1.PodCondition {
	for i := range pod.Status.Conditions {
		if pod.Status.Conditions[i].Type == t {
			return &pod.Status.Conditions[i]
		}
	}
	return nil
}

func conditionTrue(pod *corev1.Pod, t corev1.PodConditionType) bool {
	c := condition(pod, t)
	return c != nil && c.Status == corev1.ConditionTrue
}
