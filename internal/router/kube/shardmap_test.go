package kube

import (
	"errors"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	trafficv1alpha1 "github.com/cafe-dev/cafe/api/traffic/v1alpha1"
	"github.com/cafe-dev/cafe/internal/router/shard"
)

func twoUnitSpec() trafficv1alpha1.ShardMapSpec {
	return trafficv1alpha1.ShardMapSpec{
		Shards: 100,
		Key:    trafficv1alpha1.ShardKey{Source: trafficv1alpha1.ShardKeyFromHeader, Name: "X-Cafe-Uid", Digits: &trafficv1alpha1.ShardKeyDigits{Count: 2}},
		Units: []trafficv1alpha1.ShardUnit{
			{Name: "a", Ranges: []trafficv1alpha1.ShardRange{{From: 0, To: 49}}, FailoverTo: "b", RouterAddress: "127.0.0.1:1"},
			{Name: "b", Ranges: []trafficv1alpha1.ShardRange{{From: 50, To: 99}}, FailoverTo: "a", RouterAddress: "127.0.0.1:2"},
		},
	}
}

// stampedMap is a ShardMap whose status a controller wrote for its spec,
// with the units in failed compiled as Down.
func stampedMap(t *testing.T, spec trafficv1alpha1.ShardMapSpec, epoch int64, failed map[string]bool) *trafficv1alpha1.ShardMap {
	t.Helper()
	table, err := shard.Compile(MapSpec(spec, epoch, failed))
	if err != nil {
		t.Fatal(err)
	}
	sm := &trafficv1alpha1.ShardMap{Spec: spec}
	sm.Generation = 3
	sm.Status = trafficv1alpha1.ShardMapStatus{
		ObservedGeneration: 3, Epoch: epoch, Effective: EffectiveRows(table),
		Conditions: []metav1.Condition{{Type: trafficv1alpha1.ShardMapValid, Status: metav1.ConditionTrue, Reason: trafficv1alpha1.ReasonCompiled}},
	}
	return sm
}

func TestMapSpecConvertsEveryField(t *testing.T) {
	seg := int32(2)
	spec := trafficv1alpha1.ShardMapSpec{
		Shards:       10,
		Key:          trafficv1alpha1.ShardKey{Source: trafficv1alpha1.ShardKeyFromPathSegment, PathSegment: &seg, Digits: &trafficv1alpha1.ShardKeyDigits{Offset: 1, Count: 1}},
		OnMissingKey: trafficv1alpha1.MissingKeyPolicy{Action: trafficv1alpha1.MissingKeyDefaultUnit, Unit: "b"},
		Units: []trafficv1alpha1.ShardUnit{
			{Name: "a", Ranges: []trafficv1alpha1.ShardRange{{From: 0, To: 4}}, State: trafficv1alpha1.UnitDraining, FailoverTo: "b", RouterAddress: "10.0.0.1:80"},
			{Name: "b", Ranges: []trafficv1alpha1.ShardRange{{From: 5, To: 9}}},
		},
	}
	got := MapSpec(spec, 7, map[string]bool{"b": true})
	if got.Epoch != 7 || got.Shards != 10 || got.Key.Source != shard.KeyFromPathSegment || got.Key.PathSegment != 2 ||
		got.Key.Digits == nil || *got.Key.Digits != (shard.Digits{Offset: 1, Count: 1}) ||
		got.OnMissingKey != (shard.MissingKeyPolicy{Action: shard.DefaultUnitForMissingKey, Unit: "b"}) {
		t.Fatalf("converted %+v", got)
	}
	a, b := got.Units[0], got.Units[1]
	if a.State != shard.UnitDraining || a.FailoverTo != "b" || a.RouterAddress != "10.0.0.1:80" || len(a.Ranges) != 1 || a.Ranges[0] != (shard.Range{From: 0, To: 4}) {
		t.Errorf("unit a converted to %+v", a)
	}
	if b.State != shard.UnitDown {
		t.Errorf("failed-over unit b has state %q, want Down", b.State)
	}
}

func TestMapSpecDefaultsAnAbsentKey(t *testing.T) {
	spec := twoUnitSpec()
	spec.Key = trafficv1alpha1.ShardKey{}
	spec.OnMissingKey = trafficv1alpha1.MissingKeyPolicy{}
	got := MapSpec(spec, 1, nil)
	if got.Key.Source != shard.KeyFromHeader || got.Key.Name != shard.DefaultKeyHeader || got.Key.Digits == nil || got.Key.Digits.Count != 2 {
		t.Errorf("absent key became %+v, want the API default", got.Key)
	}
	if got.OnMissingKey.Action != shard.RejectMissingKey {
		t.Errorf("absent onMissingKey became %+v, want Reject", got.OnMissingKey)
	}
}

func TestFailedOver(t *testing.T) {
	spec := twoUnitSpec()
	spec.Units = append(spec.Units, trafficv1alpha1.ShardUnit{Name: "c", State: trafficv1alpha1.UnitDown, FailoverTo: "a"})
	status := trafficv1alpha1.ShardMapStatus{Effective: []trafficv1alpha1.ShardAssignment{
		{Unit: "a", ServedBy: "a"},
		{Unit: "b", ServedBy: "a"}, // Active but served elsewhere: failed over
		{Unit: "c", ServedBy: "a"}, // Down by hand: not the controller's doing
	}}
	got := FailedOver(spec, status)
	if len(got) != 1 || !got["b"] {
		t.Fatalf("FailedOver = %v, want only b", got)
	}
}

func TestCompileShardMap(t *testing.T) {
	good := stampedMap(t, twoUnitSpec(), 4, map[string]bool{"b": true})
	table, err := CompileShardMap(good)
	if err != nil {
		t.Fatalf("a stamped map was refused: %v", err)
	}
	if owner, _ := table.Owner(75); table.Epoch() != 4 || owner.Name != "a" {
		t.Fatalf("epoch %d, shard 75 served by %q; want epoch 4 and a (b failed over)", table.Epoch(), owner.Name)
	}

	unstamped := good.DeepCopy()
	unstamped.Generation = 4
	if _, err := CompileShardMap(unstamped); !errors.Is(err, ErrNotStamped) {
		t.Errorf("a spec newer than its status: err %v, want ErrNotStamped", err)
	}
	never := good.DeepCopy()
	never.Status = trafficv1alpha1.ShardMapStatus{}
	never.Generation = 0
	if _, err := CompileShardMap(never); !errors.Is(err, ErrNotStamped) {
		t.Errorf("a map without epoch: err %v, want ErrNotStamped", err)
	}

	invalid := good.DeepCopy()
	invalid.Status.Conditions[0].Status = metav1.ConditionFalse
	invalid.Status.Conditions[0].Message = "shards 0-9 are owned by no unit"
	if _, err := CompileShardMap(invalid); err == nil || !strings.Contains(err.Error(), "shards 0-9 are owned by no unit") {
		t.Errorf("a map the controller found invalid: err %v", err)
	}

	broken := good.DeepCopy()
	broken.Spec.Units[1].Ranges[0].From = 40 // overlaps a
	if _, err := CompileShardMap(broken); err == nil || !strings.Contains(err.Error(), "also owned by unit") {
		t.Errorf("an overlapping spec: err %v", err)
	}

	disagrees := good.DeepCopy()
	disagrees.Status.Effective[0].ServedBy = "b"
	if _, err := CompileShardMap(disagrees); !errors.Is(err, ErrStatusDisagrees) || !strings.Contains(err.Error(), `unit "a" is served by "b" in status`) {
		t.Errorf("a status that disagrees with the spec: err %v", err)
	}
	extra := good.DeepCopy()
	extra.Status.Effective = append(extra.Status.Effective, trafficv1alpha1.ShardAssignment{Unit: "z", ServedBy: "z"})
	if _, err := CompileShardMap(extra); !errors.Is(err, ErrStatusDisagrees) {
		t.Errorf("a status with an unknown unit: err %v", err)
	}
}

func TestNewerNeverGoesBack(t *testing.T) {
	cur := appliedMap{uid: "u1", epoch: 5}
	cases := []struct {
		have  bool
		uid   string
		epoch int64
		want  bool
	}{
		{false, "u1", 1, true}, // nothing in force
		{true, "u1", 6, true},  // newer
		{true, "u1", 5, false}, // same epoch: same table
		{true, "u1", 4, false}, // older: never go back
		{true, "u2", 1, true},  // deleted and created again
	}
	for _, c := range cases {
		if got := newer(cur, c.have, types.UID(c.uid), c.epoch); got != c.want {
			t.Errorf("newer(have=%v uid=%s epoch=%d) = %v, want %v", c.have, c.uid, c.epoch, got, c.want)
		}
	}
}
