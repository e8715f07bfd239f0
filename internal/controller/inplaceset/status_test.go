package inplaceset

import (
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	appsv1alpha1 "github.com/cafe-dev/cafe/api/apps/v1alpha1"
)

// Progress (counts and what the set waits for) waits for the next counts
// write; revisions, the Updated condition and anything else go out at once.
func TestOnlyCountsChanged(t *testing.T) {
	base := func() *appsv1alpha1.InPlaceSetStatus {
		return &appsv1alpha1.InPlaceSetStatus{
			ObservedGeneration: 4, Replicas: 10, ReadyReplicas: 9, UpdatedReplicas: 3,
			UpdateRevision: "pay-2", CurrentRevision: "pay-1",
			Conditions: []metav1.Condition{
				{Type: ConditionUpdated, Status: metav1.ConditionFalse, Reason: "Updating"},
				{Type: ConditionWaiting, Status: metav1.ConditionTrue, Reason: "Draining", Message: "pod pay-3 drains for 2s more"},
			},
		}
	}
	cases := []struct {
		name   string
		change func(*appsv1alpha1.InPlaceSetStatus)
		want   bool
	}{
		{"counts", func(s *appsv1alpha1.InPlaceSetStatus) { s.ReadyReplicas, s.UpdatedReplicas = 8, 4 }, true},
		{"the drain's words", func(s *appsv1alpha1.InPlaceSetStatus) { s.Conditions[1].Message = "pod pay-3 drains for 1s more" }, true},
		{"what the set waits for", func(s *appsv1alpha1.InPlaceSetStatus) {
			s.Conditions[1].Reason, s.Conditions[1].Message = "WaitingForReady", "pod pay-3 to become ready"
		}, true},
		{"no longer waiting", func(s *appsv1alpha1.InPlaceSetStatus) {
			s.Conditions[1] = metav1.Condition{Type: ConditionWaiting, Status: metav1.ConditionFalse, Reason: "NotWaiting"}
		}, true},
		{"the observed generation", func(s *appsv1alpha1.InPlaceSetStatus) { s.ObservedGeneration = 5 }, false},
		{"the current revision", func(s *appsv1alpha1.InPlaceSetStatus) { s.CurrentRevision = "pay-2" }, false},
		{"every pod updated", func(s *appsv1alpha1.InPlaceSetStatus) {
			s.Conditions[0].Status, s.Conditions[0].Reason = metav1.ConditionTrue, "AllPodsUpdated"
		}, false},
		{"a stopped slot", func(s *appsv1alpha1.InPlaceSetStatus) { s.StoppedIndexes = []int32{2} }, false},
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
