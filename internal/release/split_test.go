package release

import (
	"math/rand"
	"reflect"
	"testing"
)

func q(a Amount) *Amount { return &a }

func TestSplitReplicas(t *testing.T) {
	cases := []struct {
		name  string
		total int32
		units []UnitQuota
		want  []int32
	}{
		{"even", 30, []UnitQuota{{Name: "a"}, {Name: "b"}, {Name: "c"}}, []int32{10, 10, 10}},
		{"remainder to the first units", 11, []UnitQuota{{Name: "a"}, {Name: "b"}, {Name: "c"}}, []int32{4, 4, 3}},
		{"fewer pods than units", 2, []UnitQuota{{Name: "a"}, {Name: "b"}, {Name: "c"}}, []int32{1, 1, 0}},
		{"zero", 0, []UnitQuota{{Name: "a"}, {Name: "b"}}, []int32{0, 0}},
		{"one unit", 7, []UnitQuota{{Name: "a"}}, []int32{7}},
		{"fixed count, rest shared", 10, []UnitQuota{{Name: "a", Quota: q(Pods(6))}, {Name: "b"}, {Name: "c"}}, []int32{6, 2, 2}},
		{"percentage rounds down, rest shared", 10, []UnitQuota{{Name: "a", Quota: q(Percent(33))}, {Name: "b"}, {Name: "c"}}, []int32{3, 4, 3}},
		{"count and percentage", 20, []UnitQuota{{Name: "a", Quota: q(Pods(3))}, {Name: "b", Quota: q(Percent(50))}, {Name: "c"}}, []int32{3, 10, 7}},
		{"zero quota", 9, []UnitQuota{{Name: "a", Quota: q(Pods(0))}, {Name: "b"}, {Name: "c"}}, []int32{0, 5, 4}},
		{"quotas fill total exactly", 10, []UnitQuota{{Name: "a", Quota: q(Pods(4))}, {Name: "b", Quota: q(Pods(6))}, {Name: "c"}}, []int32{4, 6, 0}},
		// Every unit has a quota, and the quotas ask for less than total:
		// total is shared in proportion to them.
		{"percentages summing to 100 by largest remainder", 3, []UnitQuota{{Name: "a", Quota: q(Percent(70))}, {Name: "b", Quota: q(Percent(30))}}, []int32{2, 1}},
		{"percentage tie goes to the earlier unit", 3, []UnitQuota{{Name: "a", Quota: q(Percent(50))}, {Name: "b", Quota: q(Percent(50))}}, []int32{2, 1}},
		{"fixed counts below total scale up", 6, []UnitQuota{{Name: "a", Quota: q(Pods(2))}, {Name: "b", Quota: q(Pods(1))}}, []int32{4, 2}},
		// Quotas ask for more than total (an HPA scaled down): shrink in
		// proportion, units without a quota get nothing.
		{"fixed counts above total shrink", 6, []UnitQuota{{Name: "a", Quota: q(Pods(10))}, {Name: "b", Quota: q(Pods(5))}, {Name: "c"}}, []int32{4, 2, 0}},
		{"shrink by largest remainder", 5, []UnitQuota{{Name: "a", Quota: q(Pods(3))}, {Name: "b", Quota: q(Pods(3))}, {Name: "c", Quota: q(Pods(3))}}, []int32{2, 2, 1}},
		{"scaled to zero", 0, []UnitQuota{{Name: "a", Quota: q(Pods(3))}, {Name: "b", Quota: q(Pods(3))}}, []int32{0, 0}},
		{"nothing asked, nobody shares", 5, []UnitQuota{{Name: "a", Quota: q(Pods(0))}, {Name: "b", Quota: q(Percent(0))}}, []int32{3, 2}},
		{"huge numbers do not overflow", 2_000_000_000, []UnitQuota{{Name: "a", Quota: q(Pods(2_000_000_000))}, {Name: "b", Quota: q(Pods(2_000_000_000))}}, []int32{1_000_000_000, 1_000_000_000}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := SplitReplicas(tc.total, tc.units)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("SplitReplicas(%d) = %v, want %v", tc.total, got, tc.want)
			}
		})
	}
}

func TestSplitReplicasRejectsInvalidInput(t *testing.T) {
	cases := []struct {
		name  string
		total int32
		units []UnitQuota
	}{
		{"negative total", -1, []UnitQuota{{Name: "a"}}},
		{"no units", 3, nil},
		{"duplicate names", 3, []UnitQuota{{Name: "a"}, {Name: "a"}}},
		{"empty name", 3, []UnitQuota{{Name: ""}}},
		{"negative count", 3, []UnitQuota{{Name: "a", Quota: q(Pods(-1))}}},
		{"percentage over 100", 3, []UnitQuota{{Name: "a", Quota: q(Percent(101))}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got, err := SplitReplicas(tc.total, tc.units); err == nil {
				t.Errorf("SplitReplicas = %v, want an error", got)
			}
		})
	}
}

func TestSplitReplicasProperties(t *testing.T) {
	seed := testSeed(t)
	rng := rand.New(rand.NewSource(seed))
	for range 5000 {
		total := int32(rng.Intn(200))
		units := make([]UnitQuota, 1+rng.Intn(6))
		sharing := false
		for i := range units {
			units[i].Name = string(rune('a' + i))
			switch rng.Intn(3) {
			case 0:
				sharing = true
			case 1:
				units[i].Quota = q(Pods(int32(rng.Intn(60))))
			default:
				units[i].Quota = q(Percent(int32(rng.Intn(60))))
			}
		}
		got, err := SplitReplicas(total, units)
		if err != nil {
			t.Fatal(err)
		}
		again, _ := SplitReplicas(total, units)
		if !reflect.DeepEqual(got, again) {
			t.Fatalf("not deterministic: %v then %v", got, again)
		}
		var sum int32
		var askedHundredths int64
		for i, n := range got {
			if n < 0 {
				t.Fatalf("unit %d gets %d pods", i, n)
			}
			sum += n
			if u := units[i].Quota; u != nil && u.Percent {
				askedHundredths += int64(u.Value) * int64(total)
			} else if u != nil {
				askedHundredths += 100 * int64(u.Value)
			}
		}
		if sum != total {
			t.Fatalf("split %v of %v sums to %d, want %d", got, units, sum, total)
		}
		// When the quotas fit and some unit takes the rest, every fixed
		// count is met exactly.
		if sharing && askedHundredths <= 100*int64(total) {
			for i, u := range units {
				if u.Quota != nil && !u.Quota.Percent && got[i] != u.Quota.Value {
					t.Fatalf("unit %d gets %d pods, its fixed quota is %d (split %v of %v)", i, got[i], u.Quota.Value, got, units)
				}
			}
		}
	}
}
