package cli

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	appsv1alpha1 "github.com/cafe-dev/cafe/api/apps/v1alpha1"
)

func TestWaitingForNamesWhatMovesTheReleaseOn(t *testing.T) {
	cases := []struct {
		name  string
		phase appsv1alpha1.ReleasePhase
		edit  func(*appsv1alpha1.CafeDeployment)
		pods  []corev1.Pod
		want  []string
	}{
		{name: "confirmation", phase: appsv1alpha1.ReleaseWaitingForConfirmation,
			want: []string{"confirmation of batch 1 of 3: kubectl cafe confirm pay --batch 1"}},
		{name: "paused by the user", phase: appsv1alpha1.ReleasePaused,
			edit: func(cd *appsv1alpha1.CafeDeployment) { cd.Spec.Strategy.Paused = true },
			want: []string{"resume: the release is paused before batch 1 of 3 (kubectl cafe resume pay)"}},
		{name: "paused during a batch", phase: appsv1alpha1.ReleasePaused,
			edit: func(cd *appsv1alpha1.CafeDeployment) {
				cd.Spec.Strategy.Paused = true
				cd.Status.Release.Batches = []appsv1alpha1.BatchRecord{{Batch: 1}}
			},
			want: []string{"resume: the release is paused midway through batch 1 of 3; pods already changing finish, no other starts (kubectl cafe resume pay)"}},
		{name: "paused by failing pods", phase: appsv1alpha1.ReleasePaused,
			edit: func(cd *appsv1alpha1.CafeDeployment) {
				cd.Status.Conditions = []metav1.Condition{{Type: appsv1alpha1.CafeDeploymentWaitingForConfirmation, Status: metav1.ConditionTrue, Reason: "FailureThresholdReached"}}
			},
			want: []string{"confirmation after failing pods reached the failure threshold: kubectl cafe confirm pay --batch 1 goes on, kubectl cafe rollback pay goes back"}},
		{name: "paused for another reason says the controller's words", phase: appsv1alpha1.ReleasePaused,
			edit: func(cd *appsv1alpha1.CafeDeployment) {
				cd.Status.Release.WaitingFor = "spec.strategy.allowUnitOutage: ..."
			},
			want: []string{"spec.strategy.allowUnitOutage: ..."}},
		{name: "aborted", phase: appsv1alpha1.ReleaseAborted,
			want: []string{"the abort to be lifted (kubectl cafe resume pay); meanwhile the changed pods return to revision 1"}},
		{name: "progressing, with pods waiting", phase: appsv1alpha1.ReleaseProgressing,
			edit: func(cd *appsv1alpha1.CafeDeployment) {
				cd.Status.Release.WaitingFor = "batch 1 of 3 to become available"
				cd.Status.Conditions = []metav1.Condition{{Type: appsv1alpha1.CafeDeploymentProgressDeadlineExceeded, Status: metav1.ConditionTrue, Message: "batch 1 has not become available within 10m"}}
			},
			pods: []corev1.Pod{
				fixturePod("unit-a", 0, "pay-v2", setCondition(corev1.ContainersReady, corev1.ConditionFalse, "")),
				fixturePod("unit-a", 1, "pay-v1", setCondition(appsv1alpha1.ServingCondition, corev1.ConditionFalse, "Update")),
				fixturePod("unit-b", 0, "pay-v2", unscheduled),
				fixturePod("unit-b", 1, "pay-v2", func(p *corev1.Pod) {
					p.Status.ContainerStatuses[0].State.Waiting = &corev1.ContainerStateWaiting{Reason: "ErrImagePull"}
				}),
			},
			want: []string{
				"batch 1 of 3 to become available",
				"readiness: 1 pod not ready or not yet back in traffic: pay-unit-a-0",
				"drain: 1 pod leaving traffic: pay-unit-a-1",
				"failing: pay-unit-b-1 ErrImagePull",
				"capacity: unit-b has 1 pod no node has taken: pay-unit-b-0",
				"deadline: batch 1 has not become available within 10m",
			}},
		{name: "status behind the spec", phase: appsv1alpha1.ReleaseCompleted,
			edit: func(cd *appsv1alpha1.CafeDeployment) { cd.Generation = 4 },
			want: []string{"the controller to act on the latest change (generation 4; what follows describes generation 3)"}},
		{name: "completed", phase: appsv1alpha1.ReleaseCompleted},
	}
	for _, c := range cases {
		cd := fixtureWorkload(2, c.phase, 1, 3, "unit-a", "unit-b")
		if c.edit != nil {
			c.edit(cd)
		}
		sets := []appsv1alpha1.InPlaceSet{fixtureSet("unit-a", ""), fixtureSet("unit-b", "")}
		v := buildView(&snapshot{workload: cd, sets: sets, pods: c.pods, revisions: waitingSnapshot(t).revisions})
		if got, want := strings.Join(v.WaitingFor, "\n"), strings.Join(c.want, "\n"); got != want {
			t.Errorf("%s:\ngot\n%s\nwant\n%s", c.name, got, want)
		}
	}
}
