//go:build integration

package validation

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	trafficv1alpha1 "github.com/cafe-dev/cafe/api/traffic/v1alpha1"
	"github.com/cafe-dev/cafe/internal/testenv"
)

// shardMap is a ShardMap of shards shards with units given as name and
// ranges, from, to, from, to, ...
func shardMap(ns string, shards int32, units ...unitRanges) *trafficv1alpha1.ShardMap {
	sm := &trafficv1alpha1.ShardMap{
		ObjectMeta: metav1.ObjectMeta{GenerateName: "users-", Namespace: ns},
		Spec: trafficv1alpha1.ShardMapSpec{
			Shards: shards,
			Key:    trafficv1alpha1.ShardKey{Source: trafficv1alpha1.ShardKeyFromHeader, Hash: true},
		},
	}
	for _, u := range units {
		unit := trafficv1alpha1.ShardUnit{Name: u.name}
		for i := 0; i+1 < len(u.ranges); i += 2 {
			unit.Ranges = append(unit.Ranges, trafficv1alpha1.ShardRange{From: u.ranges[i], To: u.ranges[i+1]})
		}
		sm.Spec.Units = append(sm.Spec.Units, unit)
	}
	return sm
}

type unitRanges struct {
	name   string
	ranges []int32
}

func unit(name string, ranges ...int32) unitRanges { return unitRanges{name, ranges} }

// largestShardMap is the largest map the CRD allows: 32 units of 16 ranges,
// one shard each, interleaved across units (unit i owns i, i+32, ...). With
// overlap, unit-31's last range is moved onto unit-0's first shard, leaving
// its own shard unowned.
func largestShardMap(ns string, overlap bool) *trafficv1alpha1.ShardMap {
	var units []unitRanges
	for u := int32(0); u < 32; u++ {
		var ranges []int32
		for r := int32(0); r < 16; r++ {
			ranges = append(ranges, u+32*r, u+32*r)
		}
		units = append(units, unit(fmt.Sprintf("unit-%d", u), ranges...))
	}
	if overlap {
		units[31].ranges[30], units[31].ranges[31] = 0, 0
	}
	return shardMap(ns, 512, units...)
}

// waitForRangesPolicy waits until the cafe-shardmap-ranges policy is in
// force: a policy just installed takes a moment to be enforced.
func waitForRangesPolicy(t *testing.T, ns string) {
	t.Helper()
	testenv.Eventually(t, time.Minute, "the cafe-shardmap-ranges policy to be enforced", func() (bool, string) {
		err := env.Client.Create(context.Background(), shardMap(ns, 20, unit("a", 0, 9), unit("b", 0, 9)), client.DryRunAll)
		return err != nil, fmt.Sprintf("an overlapping map: %v", err)
	})
}

// TestShardMapRangesMustNotOverlap: the CRD checks each range's bounds and
// that the sizes add up to spec.shards; the cafe-shardmap-ranges admission
// policy refuses any two overlapping ranges, so a gap masked by an overlap of
// the same size is refused at apply too, with a message naming both ranges.
func TestShardMapRangesMustNotOverlap(t *testing.T) {
	ns := env.Namespace(t)
	waitForRangesPolicy(t, ns)
	cases := []struct {
		name string
		sm   *trafficv1alpha1.ShardMap
		// want is empty for a map that is accepted; else every string must
		// appear in the refusal.
		want []string
	}{
		{"gap masked by an equal overlap", shardMap(ns, 30, unit("a", 0, 14), unit("b", 10, 24)),
			[]string{"spec.units[].ranges: shards 0-14 of unit a overlap shards 10-24 of unit b"}},
		{"overlap across two units", shardMap(ns, 30, unit("a", 0, 9), unit("b", 10, 19), unit("c", 15, 24)),
			[]string{"spec.units[].ranges: shards 10-19 of unit b overlap shards 15-24 of unit c"}},
		{"same range in two units", shardMap(ns, 20, unit("b", 0, 9), unit("a", 0, 9)),
			[]string{"spec.units[].ranges: shards 0-9 of unit a overlap shards 0-9 of unit b"}},
		{"overlap within one unit", shardMap(ns, 30, unit("a", 0, 9, 5, 14), unit("b", 20, 29)),
			[]string{"spec.units[].ranges: shards 0-9 of unit a overlap shards 5-14 of unit a"}},
		{"two overlaps", shardMap(ns, 40, unit("a", 0, 9, 30, 39), unit("b", 5, 19), unit("c", 30, 34)),
			[]string{"shards 0-9 of unit a overlap shards 5-19 of unit b", "shards 30-39 of unit a overlap shards 30-34 of unit c"}},
		// Naming the pair compares every two ranges, which exceeds the
		// runtime budget here: the refusal falls back to the policy's message.
		{"largest map with an overlap", largestShardMap(ns, true),
			[]string{"spec.units[].ranges: two ranges overlap"}},
		{"ranges touching, not overlapping", shardMap(ns, 20, unit("a", 0, 9), unit("b", 10, 19)), nil},
		{"valid multi-unit map", shardMap(ns, 100,
			unit("unit-a", 50, 59, 0, 24), unit("unit-b", 25, 49), unit("standby"), unit("unit-c", 60, 60, 61, 99)), nil},
		{"largest map", largestShardMap(ns, false), nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := env.Client.Create(context.Background(), tc.sm, client.DryRunAll)
			if len(tc.want) == 0 {
				if err != nil {
					t.Fatalf("a valid map was refused: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatal("accepted overlapping ranges")
			}
			if !apierrors.IsInvalid(err) {
				t.Errorf("refusal is not Invalid: %v", err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("refusal does not say %q:\n%v", w, err)
				}
			}
		})
	}
}

// TestShardMapUpdateToOverlapIsRefused: the policy checks updates too, and
// lets through those that change no range.
func TestShardMapUpdateToOverlapIsRefused(t *testing.T) {
	ns := env.Namespace(t)
	waitForRangesPolicy(t, ns)
	ctx := context.Background()
	sm := shardMap(ns, 20, unit("a", 0, 9), unit("b", 10, 19))
	if err := env.Client.Create(ctx, sm); err != nil {
		t.Fatal(err)
	}
	bad := sm.DeepCopy()
	bad.Spec.Units[0].Ranges[0].To = 14
	bad.Spec.Units[1].Ranges[0].To = 14
	err := env.Client.Update(ctx, bad, client.DryRunAll)
	if err == nil || !strings.Contains(err.Error(), "shards 0-14 of unit a overlap shards 10-14 of unit b") {
		t.Errorf("an update to overlapping ranges: got %v, want the overlap named", err)
	}
	relabelled := sm.DeepCopy()
	relabelled.Labels = map[string]string{"team": "payments"}
	relabelled.Spec.Units[1].State = trafficv1alpha1.UnitDraining
	if err := env.Client.Update(ctx, relabelled, client.DryRunAll); err != nil {
		t.Errorf("an update leaving the ranges alone was refused: %v", err)
	}
}

// TestShardMapRangesPolicyTypeChecks: the API server type-checks the policy
// against the ShardMap schema and reports any expression it could not.
func TestAdmissionPoliciesTypeCheck(t *testing.T) {
	policies := env.Kube.AdmissionregistrationV1().ValidatingAdmissionPolicies()
	for _, name := range []string{"cafe-approver-scope", "cafe-pod-protection", "cafe-release-approver", "cafe-selector-matches-template", "cafe-shardmap-ranges"} {
		testenv.Eventually(t, time.Minute, name+"'s type check", func() (bool, string) {
			p, err := policies.Get(context.Background(), name, metav1.GetOptions{})
			if err != nil {
				return false, err.Error()
			}
			if p.Status.ObservedGeneration != p.Generation || p.Status.TypeChecking == nil {
				return false, fmt.Sprintf("status %+v", p.Status)
			}
			for _, w := range p.Status.TypeChecking.ExpressionWarnings {
				t.Errorf("%s %s: %s", name, w.FieldRef, w.Warning)
			}
			return true, ""
		})
	}
}
