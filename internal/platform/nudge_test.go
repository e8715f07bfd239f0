package platform

import (
	"encoding/json"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestStalledFindsOnlyForgottenPods(t *testing.T) {
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	at := func(ago time.Duration) metav1.Time { return metav1.NewTime(now.Add(-ago)) }
	pod := func(mods ...func(*corev1.Pod)) *corev1.Pod {
		p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{CreationTimestamp: at(time.Minute)}, Spec: corev1.PodSpec{NodeName: "n"}}
		for _, m := range mods {
			m(p)
		}
		return p
	}
	withIP := func(p *corev1.Pod) { p.Status.PodIP = "100.64.0.1" }
	waitingContainer := func(p *corev1.Pod) {
		p.Status.ContainerStatuses = []corev1.ContainerStatus{{State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{}}}}
	}
	cases := map[string]struct {
		pod  *corev1.Pod
		want bool
	}{
		"no IP for a minute":             {pod(), true},
		"running with an IP":             {pod(withIP), false},
		"container waiting for a minute": {pod(withIP, waitingContainer), true},
		"unscheduled":                    {pod(func(p *corev1.Pod) { p.Spec.NodeName = "" }), false},
		"terminating":                    {pod(func(p *corev1.Pod) { d := at(0); p.DeletionTimestamp = &d }), false},
		"just created":                   {pod(func(p *corev1.Pod) { p.CreationTimestamp = at(time.Second) }), false},
		"recent condition change": {pod(func(p *corev1.Pod) {
			p.Status.Conditions = []corev1.PodCondition{{LastTransitionTime: at(time.Second)}}
		}), false},
		"nudged recently": {pod(func(p *corev1.Pod) {
			p.Annotations = map[string]string{NudgeAnnotation: now.Add(-time.Second).Format(time.RFC3339)}
		}), false},
		"nudged long ago and still forgotten": {pod(func(p *corev1.Pod) {
			p.Annotations = map[string]string{NudgeAnnotation: now.Add(-time.Minute).Format(time.RFC3339)}
		}), true},
	}
	for name, c := range cases {
		if got := stalled(c.pod, now, 10*time.Second); got != c.want {
			t.Errorf("%s: stalled = %v, want %v", name, got, c.want)
		}
	}
}

// TestNudgePatchHoldsTheReadVersion: the nudge must not land on a pod that
// changed after the (possibly seconds-old) page it was read from.
func TestNudgePatchHoldsTheReadVersion(t *testing.T) {
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{ResourceVersion: "4711"}}
	var patch struct {
		Metadata struct {
			ResourceVersion string            `json:"resourceVersion"`
			Annotations     map[string]string `json:"annotations"`
		} `json:"metadata"`
	}
	now := time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC)
	if err := json.Unmarshal(nudgePatch(pod, now), &patch); err != nil {
		t.Fatal(err)
	}
	if patch.Metadata.ResourceVersion != "4711" || patch.Metadata.Annotations[NudgeAnnotation] != "2026-11-26T09:00:00Z" {
		t.Fatalf("nudge patch %+v", patch)
	}
}
