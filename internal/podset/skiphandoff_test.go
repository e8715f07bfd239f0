package podset

import (
	"reflect"
	"testing"
)

// Without hand-off, pods change while in traffic, still within the budget.
func TestSkipHandoffChangesInTrafficWithinTheBudget(t *testing.T) {
	cases := []struct {
		name   string
		policy UpdatePolicy
		max    int
		want   []Action
	}{
		{"in place, one at a time", InPlaceIfPossible, 1, []Action{UpdateInPlace{Name: "web-2", Revision: "v2"}}},
		{"in place, two at a time", InPlaceIfPossible, 2, []Action{UpdateInPlace{Name: "web-2", Revision: "v2"}, UpdateInPlace{Name: "web-1", Revision: "v2"}}},
		{"recreate", Recreate, 1, []Action{DeletePod{Name: "web-2", Reason: DeleteRecreate}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			in := baseInput(servingPod(0, "v1"), servingPod(1, "v1"), servingPod(2, "v1"))
			in.SkipHandoff, in.Policy, in.MaxUnavailable = true, tc.policy, tc.max
			got := Plan(in).Actions
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("actions %#v, want %#v", got, tc.want)
			}
		})
	}
}

// A pod changing in place already spends the budget: no second one starts.
func TestSkipHandoffWaitsForTheChangingPod(t *testing.T) {
	in := baseInput(servingPod(0, "v1"), servingPod(1, "v1"), servingPod(2, "v2", inProgress))
	in.SkipHandoff = true
	res := Plan(in)
	if len(res.Actions) != 0 {
		t.Fatalf("started another change while one is in progress: %#v", res.Actions)
	}
	if len(res.Waiting) == 0 {
		t.Fatal("no wait reported")
	}
}
