package cli

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	appsv1alpha1 "github.com/cafe-dev/cafe/api/apps/v1alpha1"
)

func TestRestartStage(t *testing.T) {
	requested := func(handled string, restarts int32) func(*corev1.Pod) {
		return func(p *corev1.Pod) {
			p.Annotations = map[string]string{appsv1alpha1.RestartRequestedAnnotation: "t2", appsv1alpha1.RestartHandledAnnotation: handled}
			p.Status.ContainerStatuses[0].RestartCount = restarts
		}
	}
	out := setCondition(appsv1alpha1.ServingCondition, corev1.ConditionFalse, "Restart")
	notReady := setCondition(corev1.ContainersReady, corev1.ConditionFalse, "")
	cases := []struct {
		name string
		pod  corev1.Pod
		want string
		done bool
	}{
		{"asked", fixturePod("unit-a", 0, "pay-v1", requested("t1", 1)), "waiting for its turn to leave traffic", false},
		{"draining", fixturePod("unit-a", 0, "pay-v1", requested("t1", 1), out), "out of traffic, draining", false},
		{"restart written, not yet seen", fixturePod("unit-a", 0, "pay-v1", requested("t2", 1), out), "restarting in place", false},
		{"containers restarting", fixturePod("unit-a", 0, "pay-v1", requested("t2", 2), out, notReady), "restarting in place", false},
		{"ready again", fixturePod("unit-a", 0, "pay-v1", requested("t2", 2), out), "ready, joining traffic", false},
		{"back", fixturePod("unit-a", 0, "pay-v1", requested("t2", 2)), "restarted in place and back in traffic (same pod, IP 10.0.6.1)", true},
	}
	for _, c := range cases {
		got, done, err := restartStage(&c.pod, c.pod.UID, 1, "t2")
		if err != nil || got != c.want || done != c.done {
			t.Errorf("%s: %q %v %v", c.name, got, done, err)
		}
	}
	replaced := fixturePod("unit-a", 0, "pay-v1")
	if _, _, err := restartStage(&replaced, "other-uid", 0, "t2"); err == nil || !strings.Contains(err.Error(), "deleted during the restart") {
		t.Errorf("a replaced pod: %v", err)
	}
	if _, _, err := restartStage(nil, "uid", 0, "t2"); err == nil {
		t.Error("a deleted pod is not an error")
	}
}

func TestStopAndStartStages(t *testing.T) {
	set := fixtureSet("unit-a", "1")
	recorded := set.DeepCopy()
	recorded.Status.StoppedIndexes = []int32{1}
	serving := fixturePod("unit-a", 1, "pay-v1")
	draining := fixturePod("unit-a", 1, "pay-v1", setCondition(appsv1alpha1.ServingCondition, corev1.ConditionFalse, "Stopped"))
	terminating := fixturePod("unit-a", 1, "pay-v1", func(p *corev1.Pod) { p.DeletionTimestamp = &metav1.Time{} })
	stops := []struct {
		set  *appsv1alpha1.InPlaceSet
		pod  *corev1.Pod
		want string
		done bool
	}{
		{&set, &serving, "waiting for its turn to leave traffic", false},
		{&set, &draining, "out of traffic, draining", false},
		{&set, &terminating, "terminating", false},
		{&set, nil, "deleted; waiting for the InPlaceSet to record the stop", false},
		{recorded, nil, "stopped; slot 1 of pay-unit-a is kept for kubectl cafe start", true},
	}
	for _, c := range stops {
		if got, done := stopStage(c.set, c.pod, 1); got != c.want || done != c.done {
			t.Errorf("stop: %q %v, want %q %v", got, done, c.want, c.done)
		}
	}

	joining := fixturePod("unit-a", 1, "pay-v1", setCondition(appsv1alpha1.ServingCondition, corev1.ConditionFalse, ""))
	starting := fixturePod("unit-a", 1, "pay-v1", setCondition(corev1.ContainersReady, corev1.ConditionFalse, ""))
	pending := fixturePod("unit-a", 1, "pay-v1", unscheduled)
	starts := []struct {
		pod  *corev1.Pod
		want string
		done bool
	}{
		{nil, "waiting for the InPlaceSet to create it", false},
		{&terminating, "waiting for the stopped pod to go", false},
		{&pending, "waiting for a node", false},
		{&starting, "starting on unit-a-node-0", false},
		{&joining, "ready, joining traffic", false},
		{&serving, "serving on unit-a-node-0, IP 10.0.6.2", true},
	}
	for _, c := range starts {
		if got, done := startStage(c.pod); got != c.want || done != c.done {
			t.Errorf("start: %q %v, want %q %v", got, done, c.want, c.done)
		}
	}
}
