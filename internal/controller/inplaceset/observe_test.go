package inplaceset

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
)

// A pod is changing in place while some container runs another image than
// its spec names; the same reference written short or long is no change.
func TestInPlaceInProgress(t *testing.T) {
	cases := []struct {
		name           string
		spec, status   map[string]string // container name → image
		wantInProgress bool
	}{
		{"same image", map[string]string{"app": "pay:v2"}, map[string]string{"app": "pay:v2"}, false},
		{"the node reports the long form", map[string]string{"app": "pay:v2"}, map[string]string{"app": "docker.io/library/pay:v2"}, false},
		{"no tag is latest", map[string]string{"app": "pay"}, map[string]string{"app": "docker.io/library/pay:latest"}, false},
		{"the node still runs the old tag", map[string]string{"app": "pay:v2"}, map[string]string{"app": "pay:v1"}, true},
		{"a restart switched to the digest", map[string]string{"app": "pay@sha256:abc"}, map[string]string{"app": "pay:v2"}, true},
		{"one of two containers changing", map[string]string{"app": "pay:v2", "log": "log:v1"}, map[string]string{"app": "pay:v2", "log": "log:v0"}, true},
		{"a container the node does not report yet", map[string]string{"app": "pay:v2", "log": "log:v1"}, map[string]string{"app": "pay:v2"}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			pod := &corev1.Pod{}
			for name, image := range tc.spec {
				pod.Spec.Containers = append(pod.Spec.Containers, corev1.Container{Name: name, Image: image})
			}
			for name, image := range tc.status {
				pod.Status.ContainerStatuses = append(pod.Status.ContainerStatuses, corev1.ContainerStatus{Name: name, Image: image})
			}
			if got := inPlaceInProgress(pod); got != tc.wantInProgress {
				t.Fatalf("inPlaceInProgress = %v, want %v", got, tc.wantInProgress)
			}
		})
	}
}
