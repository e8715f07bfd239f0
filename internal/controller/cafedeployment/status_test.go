package cafedeployment

import (
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	appsv1alpha1 "github.com/cafe-dev/cafe/api/apps/v1alpha1"
)

// Counts and the words that quote them wait for the next counts write;
// anything the planner remembers or a condition's status or reason goes
// out at once.
func TestOnlyCountsChanged(t *testing.T) {
	base := func() *appsv1alpha1.CafeDeploymentStatus {
		return &appsv1alpha1.CafeDeploymentStatus{
			Replicas: 30, UpdatedReplicas: 10,
			Units: []appsv1alpha1.UnitStatus{{Name: "unit-a", Target: 4, Replicas: 10, UpdatedReplicas: 3}},
			Release: appsv1alpha1.ReleaseStatus{Revision: "pay-2", Batch: 1, TotalBatches: 3,
				Phase: appsv1alpha1.ReleaseProgressing, WaitingFor: "batch 1 of 3 to become available: unit-a 3/4"},
			Conditions: []metav1.Condition{{Type: "Progressing", Status: metav1.ConditionTrue, Reason: "BatchInProgress",
				Message: "batch 1 of 3 to become available: unit-a 3/4"}},
		}
	}
	cases := []struct {
		name   string
		change func(*appsv1alpha1.CafeDeploymentStatus)
		want   bool
	}{
		{"counts", func(s *appsv1alpha1.CafeDeploymentStatus) { s.UpdatedReplicas, s.Units[0].UpdatedReplicas = 11, 4 }, true},
		{"the words that quote them", func(s *appsv1alpha1.CafeDeploymentStatus) {
			s.Release.WaitingFor = "batch 1 of 3 to become available: unit-a 4/4"
			s.Conditions[0].Message = s.Release.WaitingFor
		}, true},
		{"the batch", func(s *appsv1alpha1.CafeDeploymentStatus) { s.Release.Batch = 2 }, false},
		{"a unit's target", func(s *appsv1alpha1.CafeDeploymentStatus) { s.Units[0].Target = 7 }, false},
		{"a condition's reason", func(s *appsv1alpha1.CafeDeploymentStatus) { s.Conditions[0].Reason = "ReleaseCompleted" }, false},
		{"a condition's status", func(s *appsv1alpha1.CafeDeploymentStatus) { s.Conditions[0].Status = metav1.ConditionFalse }, false},
		{"a new condition", func(s *appsv1alpha1.CafeDeploymentStatus) {
			s.Conditions = append(s.Conditions, metav1.Condition{Type: "Paused", Status: metav1.ConditionTrue, Reason: "Paused"})
		}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			updated := base()
			tc.change(updated)
			if got := onlyCountsChanged(base(), updated); got != tc.want {
				t.Fatalf("onlyCountsChanged = %v, want %v", got, tc.want)
			}
		})
	}
}
