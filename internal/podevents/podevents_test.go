package podevents

import (
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/event"
)

func runningPod() *corev1.Pod {
	t0 := metav1.NewTime(time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC))
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "web-0", Labels: map[string]string{"app": "web"}, ResourceVersion: "10"},
		Spec:       corev1.PodSpec{NodeName: "n1", Containers: []corev1.Container{{Name: "app", Image: "web:v1"}}},
		Status: corev1.PodStatus{
			Phase:     corev1.PodRunning,
			PodIP:     "100.64.1.2",
			StartTime: &t0,
			Conditions: []corev1.PodCondition{
				{Type: corev1.ContainersReady, Status: corev1.ConditionTrue, LastTransitionTime: t0},
				{Type: corev1.PodReady, Status: corev1.ConditionTrue, LastTransitionTime: t0},
			},
			ContainerStatuses: []corev1.ContainerStatus{{
				Name: "app", Image: "web:v1", Ready: true,
				State:                corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: t0}},
				LastTerminationState: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 0, StartedAt: t0, FinishedAt: t0}},
			}},
		},
	}
}

func TestMeaningful(t *testing.T) {
	later := metav1.NewTime(time.Date(2026, 11, 25, 12, 5, 0, 0, time.UTC))
	cases := []struct {
		name   string
		change func(*corev1.Pod)
		want   bool
	}{
		{"nothing but the resource version", func(p *corev1.Pod) { p.ResourceVersion = "11" }, false},
		{"conditions and container re-stamped with the same states", func(p *corev1.Pod) {
			p.Status.Conditions[0].LastTransitionTime = later
			p.Status.Conditions[1].LastProbeTime = later
			p.Status.ContainerStatuses[0].State.Running.StartedAt = later
			p.Status.ContainerStatuses[0].LastTerminationState.Terminated.FinishedAt = later
			p.Status.StartTime = &later
		}, false},
		{"a condition's status", func(p *corev1.Pod) { p.Status.Conditions[1].Status = corev1.ConditionFalse }, true},
		{"a condition's reason", func(p *corev1.Pod) { p.Status.Conditions[1].Reason = "ReadinessGatesNotReady" }, true},
		{"a new condition", func(p *corev1.Pod) {
			p.Status.Conditions = append(p.Status.Conditions, corev1.PodCondition{Type: "apps.cafe.dev/serving", Status: corev1.ConditionTrue})
		}, true},
		{"the phase", func(p *corev1.Pod) { p.Status.Phase = corev1.PodFailed }, true},
		{"the address", func(p *corev1.Pod) { p.Status.PodIP = "100.64.1.3" }, true},
		{"the image a container runs", func(p *corev1.Pod) { p.Status.ContainerStatuses[0].Image = "web:v2" }, true},
		{"a restart", func(p *corev1.Pod) { p.Status.ContainerStatuses[0].RestartCount = 1 }, true},
		{"a container's state", func(p *corev1.Pod) {
			p.Status.ContainerStatuses[0].State = corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "ContainerCreating"}}
		}, true},
		{"a container's readiness", func(p *corev1.Pod) { p.Status.ContainerStatuses[0].Ready = false }, true},
		{"the spec's image", func(p *corev1.Pod) { p.Spec.Containers[0].Image = "web:v2" }, true},
		{"a label", func(p *corev1.Pod) { p.Labels["apps.cafe.dev/revision"] = "r2" }, true},
		{"an annotation", func(p *corev1.Pod) { p.Annotations = map[string]string{"apps.cafe.dev/restart-requested": "t1"} }, true},
		{"deletion", func(p *corev1.Pod) { p.DeletionTimestamp = &later }, true},
		{"a finalizer", func(p *corev1.Pod) { p.Finalizers = []string{"example.com/hold"} }, true},
		{"an owner", func(p *corev1.Pod) { p.OwnerReferences = []metav1.OwnerReference{{Name: "web", UID: "u1"}} }, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before := runningPod()
			after := before.DeepCopy()
			c.change(after)
			if got := Meaningful(before, after); got != c.want {
				t.Fatalf("Meaningful = %v, want %v", got, c.want)
			}
			if got := Changed().Update(event.UpdateEvent{ObjectOld: before, ObjectNew: after}); got != c.want {
				t.Fatalf("the predicate passed = %v, want %v", got, c.want)
			}
			if before.Status.Conditions[0].LastTransitionTime != runningPod().Status.Conditions[0].LastTransitionTime {
				t.Fatal("Meaningful changed the pod it was given")
			}
		})
	}
}

func TestChangedPassesCreatesAndDeletes(t *testing.T) {
	p := Changed()
	if !p.Create(event.CreateEvent{Object: runningPod()}) || !p.Delete(event.DeleteEvent{Object: runningPod()}) {
		t.Fatal("creates and deletes must pass")
	}
}
