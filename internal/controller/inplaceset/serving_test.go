package inplaceset

import (
	"encoding/json"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/strategicpatch"

	appsv1alpha1 "github.com/cafe-dev/cafe/api/apps/v1alpha1"
)

func TestServingPatchWritesReadyOnlyWhereTheKubeletsRuleDecidesIt(t *testing.T) {
	const otherGate corev1.PodConditionType = "router.cafe.dev/serving"
	now := time.Date(2026, 11, 26, 4, 0, 0, 0, time.UTC)
	pod := func(gates []corev1.PodConditionType, conds map[corev1.PodConditionType]corev1.ConditionStatus) *corev1.Pod {
		p := &corev1.Pod{}
		p.UID, p.ResourceVersion = "uid-1", "42"
		for _, g := range gates {
			p.Spec.ReadinessGates = append(p.Spec.ReadinessGates, corev1.PodReadinessGate{ConditionType: g})
		}
		for typ, st := range conds {
			p.Status.Conditions = append(p.Status.Conditions, corev1.PodCondition{Type: typ, Status: st, Reason: "Old", Message: "old"})
		}
		return p
	}
	cafe := []corev1.PodConditionType{appsv1alpha1.ServingCondition}
	tests := []struct {
		name    string
		pod     *corev1.Pod
		serving bool
		// wantReady is the pod's Ready after the patch.
		wantReady corev1.ConditionStatus
	}{
		{"out of traffic: Ready goes False with the gate", pod(cafe, map[corev1.PodConditionType]corev1.ConditionStatus{
			corev1.ContainersReady: "True", corev1.PodReady: "True", appsv1alpha1.ServingCondition: "True"}),
			false, "False"},
		{"out of traffic, Ready already False: left as it is", pod(cafe, map[corev1.PodConditionType]corev1.ConditionStatus{
			corev1.ContainersReady: "False", corev1.PodReady: "False"}),
			false, "False"},
		{"back, containers ready: Ready True, conditional", pod(cafe, map[corev1.PodConditionType]corev1.ConditionStatus{
			corev1.ContainersReady: "True", corev1.PodReady: "False", appsv1alpha1.ServingCondition: "False"}),
			true, "True"},
		{"back, containers not ready: Ready left to the kubelet", pod(cafe, map[corev1.PodConditionType]corev1.ConditionStatus{
			corev1.ContainersReady: "False", corev1.PodReady: "False"}),
			true, "False"},
		{"back, another gate False: Ready left to the kubelet", pod(append(cafe, otherGate), map[corev1.PodConditionType]corev1.ConditionStatus{
			corev1.ContainersReady: "True", corev1.PodReady: "False", otherGate: "False"}),
			true, "False"},
		{"back, another gate True: Ready True", pod(append(cafe, otherGate), map[corev1.PodConditionType]corev1.ConditionStatus{
			corev1.ContainersReady: "True", corev1.PodReady: "False", otherGate: "True"}),
			true, "True"},
		{"pod without CAFE's gate: Ready not CAFE's to decide", pod(nil, map[corev1.PodConditionType]corev1.ConditionStatus{
			corev1.ContainersReady: "True", corev1.PodReady: "True"}),
			false, "True"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			patch, err := ServingPatch(tc.pod, tc.serving, "Test", now)
			if err != nil {
				t.Fatal(err)
			}
			var meta struct {
				Metadata map[string]any `json:"metadata"`
			}
			if err := json.Unmarshal(patch, &meta); err != nil {
				t.Fatal(err)
			}
			if meta.Metadata["uid"] != "uid-1" || meta.Metadata["resourceVersion"] != "42" {
				t.Errorf("patch does not pin the pod's UID and resourceVersion: %s", patch)
			}
			got := applyPatch(t, tc.pod, patch)
			want := corev1.ConditionFalse
			if tc.serving {
				want = corev1.ConditionTrue
			}
			if c := findCondition(got, appsv1alpha1.ServingCondition); c == nil || c.Status != want {
				t.Errorf("serving condition = %+v, want %s", c, want)
			}
			ready := findCondition(got, corev1.PodReady)
			if ready == nil || ready.Status != tc.wantReady {
				t.Fatalf("Ready = %+v, want %s (patch %s)", ready, tc.wantReady, patch)
			}
			before := findCondition(tc.pod, corev1.PodReady)
			if ready.Status != before.Status {
				if !ready.LastTransitionTime.Time.Equal(now) {
					t.Errorf("Ready changed but lastTransitionTime = %v, want %v", ready.LastTransitionTime, now)
				}
				if ready.Status == corev1.ConditionTrue && (ready.Reason != "" || ready.Message != "") {
					t.Errorf("Ready True keeps the old False's reason %q / message %q", ready.Reason, ready.Message)
				}
			} else if *ready != *before {
				t.Errorf("unchanged Ready was rewritten: %+v, was %+v", ready, before)
			}
		})
	}
}

// applyPatch applies a status patch the way the API server does for a pod.
func applyPatch(t *testing.T, pod *corev1.Pod, patch []byte) *corev1.Pod {
	t.Helper()
	orig, err := json.Marshal(pod)
	if err != nil {
		t.Fatal(err)
	}
	merged, err := strategicpatch.StrategicMergePatch(orig, patch, corev1.Pod{})
	if err != nil {
		t.Fatal(err)
	}
	var out corev1.Pod
	if err := json.Unmarshal(merged, &out); err != nil {
		t.Fatal(err)
	}
	return &out
}

func findCondition(pod *corev1.Pod, t corev1.PodConditionType) *corev1.PodCondition {
	for i := range pod.Status.Conditions {
		if pod.Status.Conditions[i].Type == t {
			return &pod.Status.Conditions[i]
		}
	}
	return nil
}
