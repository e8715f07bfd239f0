package cli

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	appsv1alpha1 "github.com/cafe-dev/cafe/api/apps/v1alpha1"
)

func TestSettledWhenTheReleaseCompletesOrWaitsForSomeone(t *testing.T) {
	done := &metav1.Time{}
	inProgress := []appsv1alpha1.BatchRecord{{Batch: 1, CompletedAt: done}, {Batch: 2}}
	completed := []appsv1alpha1.BatchRecord{{Batch: 1, CompletedAt: done}, {Batch: 2, CompletedAt: done}}
	failing := []appsv1alpha1.BatchRecord{{Batch: 1, CompletedAt: done}, {Batch: 2, FailureThresholdReachedAt: done}}
	serving := []corev1.Pod{fixturePod("unit-a", 0, "pay-v1"), fixturePod("unit-a", 1, "pay-v1")}
	returning := []corev1.Pod{fixturePod("unit-a", 0, "pay-v1"), fixturePod("unit-a", 1, "pay-v2")}
	draining := []corev1.Pod{fixturePod("unit-a", 0, "pay-v1"), fixturePod("unit-a", 1, "pay-v1", setCondition(appsv1alpha1.ServingCondition, corev1.ConditionFalse, "Update"))}
	cases := []struct {
		name         string
		phase        appsv1alpha1.ReleasePhase
		unobserved   bool
		userPause    bool
		batches      []appsv1alpha1.BatchRecord
		pods         []corev1.Pod
		firstRelease bool
		want         bool
	}{
		{name: "completed", phase: appsv1alpha1.ReleaseCompleted, want: true},
		{name: "waiting for a confirmation", phase: appsv1alpha1.ReleaseWaitingForConfirmation, want: true},
		{name: "progressing", phase: appsv1alpha1.ReleaseProgressing},
		{name: "past its deadline, the batch may still complete", phase: appsv1alpha1.ReleaseFailed},
		{name: "not yet planned", phase: ""},
		{name: "completed, before the controller saw the change", phase: appsv1alpha1.ReleaseCompleted, unobserved: true},
		{name: "waiting, before the controller saw the change", phase: appsv1alpha1.ReleaseWaitingForConfirmation, unobserved: true},
		{name: "paused midway, a pod still changing", phase: appsv1alpha1.ReleasePaused, userPause: true, batches: inProgress, pods: draining},
		{name: "paused midway, frozen", phase: appsv1alpha1.ReleasePaused, userPause: true, batches: inProgress, pods: serving, want: true},
		{name: "paused, the batch completed", phase: appsv1alpha1.ReleasePaused, userPause: true, batches: completed, want: true},
		{name: "paused before any batch", phase: appsv1alpha1.ReleasePaused, userPause: true, want: true},
		{name: "paused by failing pods", phase: appsv1alpha1.ReleasePaused, userPause: true, batches: failing, want: true},
		{name: "paused by a one-replica unit", phase: appsv1alpha1.ReleasePaused, batches: inProgress, want: true},
		{name: "aborted, pods back", phase: appsv1alpha1.ReleaseAborted, pods: serving, want: true},
		{name: "aborted, a pod still at the release's revision", phase: appsv1alpha1.ReleaseAborted, pods: returning},
		{name: "aborted, a pod draining", phase: appsv1alpha1.ReleaseAborted, pods: draining},
		{name: "aborted first release: pods only freeze", phase: appsv1alpha1.ReleaseAborted, pods: returning, firstRelease: true, want: true},
	}
	for _, c := range cases {
		cd := fixtureWorkload(2, c.phase, 2, 3, "unit-a")
		if c.unobserved {
			cd.Generation++
		}
		cd.Spec.Strategy.Paused = c.userPause
		cd.Status.Release.Batches = c.batches
		if c.firstRelease {
			cd.Status.CurrentRevision = ""
		}
		snap := &snapshot{workload: cd, sets: []appsv1alpha1.InPlaceSet{fixtureSet("unit-a", "")}, pods: c.pods}
		if got := settled(cd, buildView(snap)); got != c.want {
			t.Errorf("%s: settled %v, want %v", c.name, got, c.want)
		}
	}
}
