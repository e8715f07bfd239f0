package cafedeployment

import (
	"context"
	"time"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	appsv1alpha1 "github.com/cafe-dev/cafe/api/apps/v1alpha1"
	"github.com/cafe-dev/cafe/internal/release"
)

// observeUnits counts, per unit, the workload's pods as the release planner
// needs them. Pods are read from the cache by the workload label, without
// copying them: they are only counted.
func (r *Reconciler) observeUnits(ctx context.Context, cd *appsv1alpha1.CafeDeployment, target string, now time.Time) ([]release.UnitObservation, error) {
	pods, err := r.Pods.OfCafeDeployment(ctx, cd.Namespace, cd.Name)
	if err != nil {
		return nil, err
	}
	minReady := time.Duration(cd.Spec.Strategy.MinReadySeconds) * time.Second
	byUnit := map[string]*release.UnitObservation{}
	var out []release.UnitObservation
	for _, u := range cd.Spec.Topology.Units {
		out = append(out, release.UnitObservation{Name: u.Name})
	}
	for i := range out {
		byUnit[out[i].Name] = &out[i]
	}
	for _, pod := range pods {
		o := byUnit[pod.Labels[appsv1alpha1.UnitLabel]]
		if o == nil || pod.DeletionTimestamp != nil {
			continue
		}
		o.Replicas++
		updated := pod.Labels[appsv1alpha1.ReleaseRevisionLabel] == target
		ready, readySince := podReady(pod)
		available := ready && now.Sub(readySince) >= minReady
		if ready {
			o.Ready++
		}
		if available {
			o.Available++
		}
		if updated {
			o.Updated++
			if available {
				o.UpdatedAvailable++
			}
			if failing(pod) {
				o.Failing++
			}
		}
		if since, ok := unschedulableSince(pod); ok {
			o.Unschedulable = append(o.Unschedulable, since)
		}
	}
	if ar := cd.Spec.Topology.AutoReschedule; ar != nil && ar.Enabled && (anyUnschedulable(out) || len(cd.Status.Rescheduled) > 0) {
		if err := r.observeCapacity(ctx, cd, out); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func anyUnschedulable(units []release.UnitObservation) bool {
	for _, u := range units {
		if len(u.Unschedulable) > 0 {
			return true
		}
	}
	return false
}

// podReady reports the pod's Ready condition (which includes CAFE's serving
// gate) and since when.
func podReady(pod *corev1.Pod) (bool, time.Time) {
	for _, c := range pod.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue, c.LastTransitionTime.Time
		}
	}
	return false, time.Time{}
}

// failing reports a pod whose containers cannot run: crash looping, an image
// that cannot be pulled, a container that cannot be created, or a pod that
// ended.
func failing(pod *corev1.Pod) bool {
	if pod.Status.Phase == corev1.PodFailed {
		return true
	}
	for _, s := range pod.Status.ContainerStatuses {
		if w := s.State.Waiting; w != nil {
			switch w.Reason {
			case "CrashLoopBackOff", "ErrImagePull", "ImagePullBackOff", "InvalidImageName", "CreateContainerError", "CreateContainerConfigError", "RunContainerError":
				return true
			}
		}
	}
	return false
}

// unschedulableSince reports a pod the scheduler could not place.
func unschedulableSince(pod *corev1.Pod) (time.Time, bool) {
	if pod.Spec.NodeName != "" {
		return time.Time{}, false
	}
	for _, c := range pod.Status.Conditions {
		if c.Type == corev1.PodScheduled && c.Status == corev1.ConditionFalse && c.Reason == corev1.PodReasonUnschedulable {
			return c.LastTransitionTime.Time, true
		}
	}
	return time.Time{}, false
}

// observeCapacity estimates, per unit, how many more of the workload's pods
// its nodes can take: for every schedulable node of the unit, the free pod
// slots, CPU and memory (allocatable minus the requests of the pods on it)
// divided by one pod's requests. It reads all pods of the unit's nodes
// straight from the API (the cache holds only CAFE's pods), and only while
// some pod is unschedulable or moved quota waits to go back.
func (r *Reconciler) observeCapacity(ctx context.Context, cd *appsv1alpha1.CafeDeployment, units []release.UnitObservation) error {
	var nodes corev1.NodeList
	if err := r.APIReader.List(ctx, &nodes); err != nil {
		return err
	}
	want := podRequests(&cd.Spec.Template.Spec)
	label := unitLabel(cd)
	for i := range units {
		var free int32
		for j := range nodes.Items {
			node := &nodes.Items[j]
			if node.Labels[label] != units[i].Name || node.Spec.Unschedulable {
				continue
			}
			var onNode corev1.PodList
			if err := r.APIReader.List(ctx, &onNode, client.MatchingFields{"spec.nodeName": node.Name}); err != nil {
				return err
			}
			free += fits(node, onNode.Items, want)
		}
		units[i].FreeCapacity = free
	}
	return nil
}

func podRequests(spec *corev1.PodSpec) corev1.ResourceList {
	total := corev1.ResourceList{}
	for _, c := range spec.Containers {
		for name, q := range c.Resources.Requests {
			sum := total[name]
			sum.Add(q)
			total[name] = sum
		}
	}
	return total
}

// fits is how many pods with requests want fit on node next to pods.
func fits(node *corev1.Node, pods []corev1.Pod, want corev1.ResourceList) int32 {
	used := corev1.ResourceList{}
	count := int64(0)
	for i := range pods {
		if pods[i].Status.Phase == corev1.PodSucceeded || pods[i].Status.Phase == corev1.PodFailed {
			continue
		}
		count++
		for name, q := range podRequests(&pods[i].Spec) {
			sum := used[name]
			sum.Add(q)
			used[name] = sum
		}
	}
	n := node.Status.Allocatable.Pods().Value() - count
	for name, q := range want {
		if q.IsZero() {
			continue
		}
		alloc, ok := node.Status.Allocatable[name]
		if !ok {
			return 0
		}
		u := used[name]
		left := alloc.DeepCopy()
		left.Sub(u)
		n = min(n, left.MilliValue()/q.MilliValue())
	}
	return int32(max(n, 0))
}
