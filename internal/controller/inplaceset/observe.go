package inplaceset

import (
	"context"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	appsv1alpha1 "github.com/cafe-dev/cafe/api/apps/v1alpha1"
	"github.com/cafe-dev/cafe/internal/podset"
)

// endpointsView says, per pod name, whether some EndpointSlice still lists the
// pod as ready or serving, and whether a Service keeps it listed whatever its
// readiness (publishNotReadyAddresses), in which case it can never leave.
type endpointsView struct {
	listed      map[string]bool
	cannotLeave map[string]bool
}

// observeEndpoints reads the namespace's EndpointSlices and Services from the
// cache, without copying them: they are only read.
func (r *Reconciler) observeEndpoints(ctx context.Context, namespace string) (endpointsView, error) {
	v := endpointsView{listed: map[string]bool{}, cannotLeave: map[string]bool{}}
	var slices discoveryv1.EndpointSliceList
	if err := r.Client.List(ctx, &slices, client.InNamespace(namespace), client.UnsafeDisableDeepCopy); err != nil {
		return v, err
	}
	var services corev1.ServiceList
	if err := r.Client.List(ctx, &services, client.InNamespace(namespace), client.UnsafeDisableDeepCopy); err != nil {
		return v, err
	}
	publishesNotReady := map[string]bool{}
	for _, s := range services.Items {
		if s.Spec.PublishNotReadyAddresses {
			publishesNotReady[s.Name] = true
		}
	}
	for _, slice := range slices.Items {
		pinned := publishesNotReady[slice.Labels[discoveryv1.LabelServiceName]]
		for _, ep := range slice.Endpoints {
			if ep.TargetRef == nil || ep.TargetRef.Kind != "Pod" {
				continue
			}
			name := ep.TargetRef.Name
			if isTrue(ep.Conditions.Ready) || isTrue(ep.Conditions.Serving) {
				v.listed[name] = true
				if pinned {
					v.cannotLeave[name] = true
				}
			}
		}
	}
	return v, nil
}

func isTrue(b *bool) bool { return b != nil && *b }

// podInput maps a pod to the planner's view of it.
func podInput(pod *corev1.Pod, eps endpointsView) podset.Pod {
	p := ObservePod(pod)
	p.OutOfEndpoints = !eps.listed[pod.Name]
	p.CannotLeaveEndpoints = eps.cannotLeave[pod.Name]
	return p
}

// ObservePod maps what a pod shows of itself to the planner's view of it;
// where its address is listed (endpoints) is not in the pod and is left
// out.
func ObservePod(pod *corev1.Pod) podset.Pod {
	index, err := strconv.Atoi(pod.Labels[appsv1alpha1.InstanceIndexLabel])
	if err != nil || index < 0 {
		index = -1 // not a slot of the set: the planner removes it as surplus
	}
	p := podset.Pod{
		Name:              pod.Name,
		Index:             index,
		Revision:          pod.Labels[appsv1alpha1.RevisionLabel],
		Phase:             pod.Status.Phase,
		Deleting:          pod.DeletionTimestamp != nil,
		InPlaceInProgress: inPlaceInProgress(pod),
		RestartRequested:  pod.Annotations[appsv1alpha1.RestartRequestedAnnotation],
		RestartHandled:    pod.Annotations[appsv1alpha1.RestartHandledAnnotation],
		Serving:           corev1.ConditionUnknown,
	}
	p.HeldOut = heldOutByOthers(pod)
	for _, c := range pod.Status.Conditions {
		switch c.Type {
		case corev1.ContainersReady:
			// The pod's own Ready condition includes CAFE's gate; the planner
			// wants the containers' readiness.
			p.Ready = c.Status == corev1.ConditionTrue
			p.ReadySince = c.LastTransitionTime.Time
		case appsv1alpha1.ServingCondition:
			p.Serving = c.Status
			p.ServingSince = c.LastTransitionTime.Time
			p.ServingReason = podset.ServingReason(c.Reason)
		}
	}
	return p
}

// heldOutByOthers reports whether a readiness gate other than CAFE's is not
// True on the pod: another traffic component holds it out of service.
func heldOutByOthers(pod *corev1.Pod) bool {
	for _, g := range pod.Spec.ReadinessGates {
		if g.ConditionType != appsv1alpha1.ServingCondition && ConditionStatus(pod, g.ConditionType) != corev1.ConditionTrue {
			return true
		}
	}
	return false
}

// inPlaceInProgress reports whether the pod's spec asks for images its
// containers do not run yet: an in-place update or restart (which switches
// the image reference) that the node has not finished.
func inPlaceInProgress(pod *corev1.Pod) bool {
	// Every reconcile asks this of every pod of the set: no allocation, and
	// references are normalized only when they differ as written.
	for _, c := range pod.Spec.Containers {
		for _, s := range pod.Status.ContainerStatuses {
			if s.Name == c.Name && s.Image != c.Image && normalizeImage(s.Image) != normalizeImage(c.Image) {
				return true
			}
		}
	}
	return false
}

// normalizeImage expands a short image reference the way the kubelet reports
// it ("nginx:1.25" → "docker.io/library/nginx:1.25"), so spec and status
// compare equal when they name the same reference.
func normalizeImage(ref string) string {
	ref = strings.TrimPrefix(ref, "docker-pullable://")
	name, rest := ref, ""
	if i := strings.IndexAny(ref, "@"); i >= 0 {
		name, rest = ref[:i], ref[i:]
	} else if i := strings.LastIndex(ref, ":"); i > strings.LastIndex(ref, "/") {
		name, rest = ref[:i], ref[i:]
	}
	first, _, hasSlash := strings.Cut(name, "/")
	if !hasSlash || !(strings.ContainsAny(first, ".:") || first == "localhost") {
		if !hasSlash {
			name = "library/" + name
		}
		name = "docker.io/" + name
	}
	if rest == "" {
		rest = ":latest"
	}
	return name + rest
}

// MinReady is the set's minReadySeconds as a duration.
func MinReady(set *appsv1alpha1.InPlaceSet) time.Duration {
	return time.Duration(set.Spec.MinReadySeconds) * time.Second
}
