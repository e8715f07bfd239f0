package platform

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
)

// NudgeAnnotation is touched on a simulated pod that kwok forgot.
const NudgeAnnotation = "cafe.dev/simulator-nudge"

// nudgeStalledPods works around a kwok v0.8 race: kwok keys its pending
// stage jobs by namespace/name, so when a pod is deleted and another is
// created under the same name (CAFE recreates pods under stable names), the
// old pod's Deleted event can cancel the new pod's first stage, and the new
// pod stays without an IP forever. Touching an annotation on such a pod makes
// kwok evaluate it again. Only pods that made no progress for longer than a
// start should take are touched.
func (p *Platform) nudgeStalledPods(ctx context.Context, cs kubernetes.Interface) {
	stall := p.opts.SandboxLatency + p.opts.StartLatency + 10*time.Second
	tick := time.NewTicker(5 * time.Second)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		nudgeStalled(ctx, cs, stall)
	}
}

// nudgeStalled looks at every pod once, a page at a time, so that with
// thousands of pods no whole list is ever held at once (in `cafe up` and the
// benchmarks this runs in the process of CAFE's controllers).
func nudgeStalled(ctx context.Context, cs kubernetes.Interface, stall time.Duration) {
	continueFrom := ""
	for {
		pods, err := cs.CoreV1().Pods("").List(ctx, metav1.ListOptions{Limit: 500, Continue: continueFrom})
		if err != nil {
			return
		}
		now := time.Now()
		for i := range pods.Items {
			pod := &pods.Items[i]
			if stalled(pod, now, stall) {
				_, _ = cs.CoreV1().Pods(pod.Namespace).Patch(ctx, pod.Name, types.MergePatchType, nudgePatch(pod, now), metav1.PatchOptions{})
			}
		}
		if continueFrom = pods.Continue; continueFrom == "" {
			return
		}
	}
}

// nudgePatch touches the annotation only on the pod as it was read: the
// pages of one list all show the moment of its first page, which can be
// seconds old by the last one, and a pod that moved on since then (the API
// server refuses the patch as a conflict) needs no nudge.
func nudgePatch(pod *corev1.Pod, now time.Time) []byte {
	return fmt.Appendf(nil, `{"metadata":{"resourceVersion":%q,"annotations":{%q:%q}}}`,
		pod.ResourceVersion, NudgeAnnotation, now.UTC().Format(time.RFC3339))
}

// stalled reports a scheduled, live pod that has had no IP, or a waiting
// container, for longer than stall since its last change.
func stalled(pod *corev1.Pod, now time.Time, stall time.Duration) bool {
	if pod.Spec.NodeName == "" || pod.DeletionTimestamp != nil {
		return false
	}
	waiting := pod.Status.PodIP == ""
	for _, s := range pod.Status.ContainerStatuses {
		if s.State.Waiting != nil {
			waiting = true
		}
	}
	if !waiting {
		return false
	}
	last := pod.CreationTimestamp.Time
	for _, c := range pod.Status.Conditions {
		if c.LastTransitionTime.After(last) {
			last = c.LastTransitionTime.Time
		}
	}
	if at, err := time.Parse(time.RFC3339, pod.Annotations[NudgeAnnotation]); err == nil && at.After(last) {
		last = at
	}
	return now.Sub(last) > stall
}
