package cli

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	appsv1alpha1 "github.com/cafe-dev/cafe/api/apps/v1alpha1"
)

func TestPodStatusFollowsAnInPlaceChange(t *testing.T) {
	const setUpdate = "pay-unit-a-set-v2" // fixturePod's set revision for pay-v2
	outOfTraffic := func(reason string) func(*corev1.Pod) {
		return setCondition(appsv1alpha1.ServingCondition, corev1.ConditionFalse, reason)
	}
	notReady := setCondition(corev1.ContainersReady, corev1.ConditionFalse, "")
	restart := func(handled string) func(*corev1.Pod) {
		return func(p *corev1.Pod) {
			p.Annotations = map[string]string{appsv1alpha1.RestartRequestedAnnotation: "t2", appsv1alpha1.RestartHandledAnnotation: handled}
		}
	}
	cases := []struct {
		name string
		pod  corev1.Pod
		want string
	}{
		{"in traffic", fixturePod("unit-a", 0, "pay-v1"), statusServing},
		{"out for an update, not yet updated", fixturePod("unit-a", 0, "pay-v1", outOfTraffic("Update")), statusDraining},
		{"updated, containers restarting", fixturePod("unit-a", 0, "pay-v2", outOfTraffic("Update"), notReady), statusStarting},
		{"updated and ready, not yet back", fixturePod("unit-a", 0, "pay-v2", outOfTraffic("Update")), statusJoining},
		{"out for a restart not yet done", fixturePod("unit-a", 0, "pay-v1", outOfTraffic("Restart"), restart("t1")), statusDraining},
		{"restarted, not yet back", fixturePod("unit-a", 0, "pay-v1", outOfTraffic("Restart"), restart("t2")), statusJoining},
		{"leaving for scale-in", fixturePod("unit-a", 0, "pay-v1", outOfTraffic("ScaleIn")), statusDraining},
		{"leaving for a stop", fixturePod("unit-a", 0, "pay-v1", outOfTraffic("Stopped")), statusDraining},
		{"new pod, no serving condition yet", fixturePod("unit-a", 0, "pay-v2", func(p *corev1.Pod) { p.Status.Conditions = p.Status.Conditions[:2] }), statusJoining},
		{"unschedulable", fixturePod("unit-a", 0, "pay-v2", unscheduled), statusUnschedulable},
		{"not yet scheduled", fixturePod("unit-a", 0, "pay-v2", unscheduled, func(p *corev1.Pod) { p.Status.Conditions = nil }), statusPending},
		{"terminating", fixturePod("unit-a", 0, "pay-v2", func(p *corev1.Pod) { p.DeletionTimestamp = &metav1.Time{} }), statusTerminating},
		{"crash looping", fixturePod("unit-a", 0, "pay-v2", notReady, func(p *corev1.Pod) {
			p.Status.ContainerStatuses[0].State.Waiting = &corev1.ContainerStateWaiting{Reason: "CrashLoopBackOff"}
		}), "CrashLoopBackOff"},
		{"failed", fixturePod("unit-a", 0, "pay-v2", func(p *corev1.Pod) { p.Status.Phase = corev1.PodFailed }), "Failed"},
	}
	for _, c := range cases {
		if got := podView(&c.pod, setUpdate).Status; got != c.want {
			t.Errorf("%s: status %s, want %s", c.name, got, c.want)
		}
	}
}

func TestPodViewSumsRestartsAcrossContainers(t *testing.T) {
	p := fixturePod("unit-a", 3, "pay-v1", func(p *corev1.Pod) {
		p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "app", RestartCount: 2}, {Name: "sidecar", RestartCount: 1}}
	})
	v := podView(&p, "")
	if v.Restarts != 3 || v.Index != 3 || v.Node != "unit-a-node-0" || v.IP == "" {
		t.Errorf("%+v", v)
	}
}
