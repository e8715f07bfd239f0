package failover

import (
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	trafficv1alpha1 "github.com/cafe-dev/cafe/api/traffic/v1alpha1"
)

var t0 = time.Date(2025, 1, 1, 12, 0, 0, 0, time.UTC)

var policy = Policy{FailoverAfter: 2 * time.Second, FailbackAfter: 30 * time.Second}

// threeUnits: a owns 0-33, b 34-66, c 67-99; a and b fail over to each
// other, c fails over to a.
func threeUnits() trafficv1alpha1.ShardMapSpec {
	return trafficv1alpha1.ShardMapSpec{
		Shards: 100,
		Key:    trafficv1alpha1.ShardKey{Source: trafficv1alpha1.ShardKeyFromHeader, Name: "X-Cafe-Uid", Digits: &trafficv1alpha1.ShardKeyDigits{Count: 2}},
		Units: []trafficv1alpha1.ShardUnit{
			{Name: "a", Ranges: []trafficv1alpha1.ShardRange{{From: 0, To: 33}}, FailoverTo: "b", RouterAddress: "127.0.0.1:1"},
			{Name: "b", Ranges: []trafficv1alpha1.ShardRange{{From: 34, To: 66}}, FailoverTo: "a", RouterAddress: "127.0.0.1:2"},
			{Name: "c", Ranges: []trafficv1alpha1.ShardRange{{From: 67, To: 99}}, FailoverTo: "a", RouterAddress: "127.0.0.1:3"},
		},
	}
}

func healthy(since time.Duration) Health   { return Health{Healthy: true, Since: t0.Add(-since)} }
func unhealthy(since time.Duration) Health { return Health{Healthy: false, Since: t0.Add(-since)} }

func allHealthy() map[string]Health {
	return map[string]Health{"a": healthy(time.Hour), "b": healthy(time.Hour), "c": healthy(time.Hour)}
}

// stamped is the status Decide gives spec with every unit healthy.
func stamped(t *testing.T, spec trafficv1alpha1.ShardMapSpec) trafficv1alpha1.ShardMapStatus {
	t.Helper()
	d := Decide(Input{Generation: 1, Spec: spec, Health: allHealthy(), Policy: policy, Now: t0.Add(-time.Minute)})
	if !d.Changed || d.Status.Epoch != 1 {
		t.Fatalf("first decision: changed=%v epoch=%d", d.Changed, d.Status.Epoch)
	}
	return d.Status
}

func servedByUnit(status trafficv1alpha1.ShardMapStatus) map[string]string {
	out := map[string]string{}
	for _, r := range status.Effective {
		out[r.Unit] = r.ServedBy
	}
	return out
}

func TestDecide(t *testing.T) {
	base := stamped(t, threeUnits())
	// failedB is base after b failed over to a.
	failedB := Decide(Input{Generation: 1, Spec: threeUnits(), Status: base, Policy: policy, Now: t0,
		Health: map[string]Health{"a": healthy(time.Hour), "b": unhealthy(3 * time.Second), "c": healthy(time.Hour)}}).Status

	withState := func(unit string, state trafficv1alpha1.UnitState) trafficv1alpha1.ShardMapSpec {
		s := threeUnits()
		for i := range s.Units {
			if s.Units[i].Name == unit {
				s.Units[i].State = state
			}
		}
		return s
	}
	broken := threeUnits()
	broken.Units[2].Ranges = []trafficv1alpha1.ShardRange{{From: 60, To: 99}} // overlaps b

	tests := []struct {
		name       string
		generation int64
		spec       trafficv1alpha1.ShardMapSpec
		status     trafficv1alpha1.ShardMapStatus
		health     map[string]Health
		wantEpoch  int64
		wantServed map[string]string
		wantValid  metav1.ConditionStatus
		wantMoves  []string
		recheck    time.Duration
	}{
		{
			name: "nothing changed", generation: 1, spec: threeUnits(), status: base, health: allHealthy(),
			wantEpoch: 1, wantServed: map[string]string{"a": "a", "b": "b", "c": "c"}, wantValid: metav1.ConditionTrue,
		},
		{
			name: "unhealthy for less than failoverAfter waits", generation: 1, spec: threeUnits(), status: base,
			health:    map[string]Health{"a": healthy(time.Hour), "b": unhealthy(500 * time.Millisecond), "c": healthy(time.Hour)},
			wantEpoch: 1, wantServed: map[string]string{"a": "a", "b": "b", "c": "c"}, wantValid: metav1.ConditionTrue,
			recheck: 1500 * time.Millisecond,
		},
		{
			name: "unhealthy for failoverAfter fails over", generation: 1, spec: threeUnits(), status: base,
			health:    map[string]Health{"a": healthy(time.Hour), "b": unhealthy(2 * time.Second), "c": healthy(time.Hour)},
			wantEpoch: 2, wantServed: map[string]string{"a": "a", "b": "a", "c": "c"}, wantValid: metav1.ConditionTrue,
			wantMoves: []string{`unit "b" fails over to "a"`},
		},
		{
			name: "no failover onto an unhealthy target", generation: 1, spec: threeUnits(), status: base,
			health:    map[string]Health{"a": unhealthy(time.Second), "b": unhealthy(time.Minute), "c": healthy(time.Hour)},
			wantEpoch: 1, wantServed: map[string]string{"a": "a", "b": "b", "c": "c"}, wantValid: metav1.ConditionTrue,
			recheck: time.Second,
		},
		{
			name:       "both of a mutual pair dead: only the first to time out moves, and only if its target is not unhealthy",
			generation: 1, spec: threeUnits(), status: base,
			health:    map[string]Health{"a": unhealthy(time.Minute), "b": unhealthy(time.Minute), "c": healthy(time.Hour)},
			wantEpoch: 1, wantServed: map[string]string{"a": "a", "b": "b", "c": "c"}, wantValid: metav1.ConditionTrue,
		},
		{
			name: "unknown health keeps the standing", generation: 1, spec: threeUnits(), status: failedB,
			health:    map[string]Health{"a": healthy(time.Hour)},
			wantEpoch: 2, wantServed: map[string]string{"a": "a", "b": "a", "c": "c"}, wantValid: metav1.ConditionTrue,
		},
		{
			name: "healthy for less than failbackAfter stays failed over", generation: 1, spec: threeUnits(), status: failedB,
			health:    map[string]Health{"a": healthy(time.Hour), "b": healthy(10 * time.Second), "c": healthy(time.Hour)},
			wantEpoch: 2, wantServed: map[string]string{"a": "a", "b": "a", "c": "c"}, wantValid: metav1.ConditionTrue,
			recheck: 20 * time.Second,
		},
		{
			name: "healthy for failbackAfter fails back", generation: 1, spec: threeUnits(), status: failedB,
			health:    map[string]Health{"a": healthy(time.Hour), "b": healthy(30 * time.Second), "c": healthy(time.Hour)},
			wantEpoch: 3, wantServed: map[string]string{"a": "a", "b": "b", "c": "c"}, wantValid: metav1.ConditionTrue,
			wantMoves: []string{`unit "b" fails back`},
		},
		{
			name:       "a failed-over unit whose target goes Down by hand serves itself again",
			generation: 2, spec: withState("a", trafficv1alpha1.UnitDown), status: failedB,
			health:    map[string]Health{"a": healthy(time.Hour), "b": unhealthy(time.Minute), "c": healthy(time.Hour)},
			wantEpoch: 3, wantServed: map[string]string{"a": "b", "b": "b", "c": "c"}, wantValid: metav1.ConditionTrue,
			wantMoves: []string{`unit "b" serves its shards again`},
		},
		{
			name: "Draining by hand moves a healthy unit's shards", generation: 2, spec: withState("c", trafficv1alpha1.UnitDraining), status: base,
			health:    allHealthy(),
			wantEpoch: 2, wantServed: map[string]string{"a": "a", "b": "b", "c": "a"}, wantValid: metav1.ConditionTrue,
		},
		{
			name: "Down by hand wins over health, and is not failed back", generation: 2, spec: withState("b", trafficv1alpha1.UnitDown), status: failedB,
			health:    allHealthy(),
			wantEpoch: 3, wantServed: map[string]string{"a": "a", "b": "a", "c": "c"}, wantValid: metav1.ConditionTrue,
		},
		{
			name: "a new generation bumps the epoch even when owners stay", generation: 2, spec: threeUnits(), status: base,
			health:    allHealthy(),
			wantEpoch: 2, wantServed: map[string]string{"a": "a", "b": "b", "c": "c"}, wantValid: metav1.ConditionTrue,
		},
		{
			name: "an invalid spec keeps epoch and owners and says why", generation: 2, spec: broken, status: failedB,
			health:    allHealthy(),
			wantEpoch: 2, wantServed: map[string]string{"a": "a", "b": "a", "c": "c"}, wantValid: metav1.ConditionFalse,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in := Input{Generation: tc.generation, Spec: tc.spec, Status: tc.status, Health: tc.health, Policy: policy, Now: t0}
			d := Decide(in)
			if d.Status.Epoch != tc.wantEpoch {
				t.Errorf("epoch %d, want %d", d.Status.Epoch, tc.wantEpoch)
			}
			if got := servedByUnit(d.Status); !equalMaps(got, tc.wantServed) {
				t.Errorf("servedBy %v, want %v", got, tc.wantServed)
			}
			valid := meta.FindStatusCondition(d.Status.Conditions, trafficv1alpha1.ShardMapValid)
			if valid == nil || valid.Status != tc.wantValid {
				t.Fatalf("Valid condition %+v, want %s", valid, tc.wantValid)
			}
			if tc.wantValid == metav1.ConditionFalse && !strings.Contains(valid.Message, "also owned by unit") {
				t.Errorf("Valid=False message %q does not name the problem", valid.Message)
			}
			if d.Status.ObservedGeneration != tc.generation {
				t.Errorf("observedGeneration %d, want %d", d.Status.ObservedGeneration, tc.generation)
			}
			if len(d.Moves) != len(tc.wantMoves) {
				t.Fatalf("moves %q, want %q", d.Moves, tc.wantMoves)
			}
			for i, want := range tc.wantMoves {
				if !strings.HasPrefix(d.Moves[i], want) {
					t.Errorf("move %d is %q, want it to start with %q", i, d.Moves[i], want)
				}
			}
			if d.Recheck != tc.recheck {
				t.Errorf("recheck %v, want %v", d.Recheck, tc.recheck)
			}
			if again := Decide(in); !again.Changed && d.Changed || again.Status.Epoch != d.Status.Epoch {
				t.Errorf("the same input gave a different decision")
			}
		})
	}
}

func TestDecideNoChangeWritesNothing(t *testing.T) {
	base := stamped(t, threeUnits())
	d := Decide(Input{Generation: 1, Spec: threeUnits(), Status: base, Health: allHealthy(), Policy: policy, Now: t0.Add(time.Hour)})
	if d.Changed {
		t.Fatalf("an unchanged map was rewritten: %+v", d.Status)
	}
}

func TestDecideServingCondition(t *testing.T) {
	spec := threeUnits()
	for i := range spec.Units {
		spec.Units[i].State = trafficv1alpha1.UnitDown
	}
	d := Decide(Input{Generation: 1, Spec: spec, Health: allHealthy(), Policy: policy, Now: t0})
	c := meta.FindStatusCondition(d.Status.Conditions, trafficv1alpha1.ShardMapServing)
	if c == nil || c.Status != metav1.ConditionFalse || c.Reason != trafficv1alpha1.ReasonShardsUnserved || !strings.Contains(c.Message, "a, b, c") {
		t.Fatalf("Serving condition %+v, want False naming a, b, c", c)
	}
	if got := servedByUnit(d.Status); got["a"] != "" || got["b"] != "" || got["c"] != "" {
		t.Fatalf("servedBy %v, want nobody", got)
	}
}

func equalMaps(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if bv, ok := b[k]; !ok || bv != v {
			return false
		}
	}
	return true
}
