package release

import (
	"errors"
	"fmt"
	"math/bits"
)

// UnitQuota is one unit's entry in spec.topology.units.
type UnitQuota struct {
	Name string
	// Quota is a fixed count or a percentage of the workload's replicas; nil
	// means the unit shares, evenly, what the units with a quota leave.
	Quota *Amount
}

// SplitReplicas divides total pods among units, in the units' order.
//
// The usual case, quotas that fit and at least one unit without a quota:
// every fixed count is given as is, every percentage of total rounded down,
// and the units without a quota share the rest evenly, the first ones in list
// order taking one more pod each until the remainder is used up.
//
// Otherwise the quotas cannot be met as written: either they ask for more
// than total (an HPA or `kubectl scale` went below the sum of the fixed
// counts, which the API server allows on purpose so that scaling down is
// never refused), or every unit has a quota and they ask for less than total.
// Then all of total is shared in proportion to what each unit asked for, by
// largest remainder (ties go to the earlier unit), and units without a quota
// get nothing. Should no unit ask for anything, total is spread evenly.
//
// The result always sums to total, is never negative, and depends only on
// the arguments. The error reports input that the API's validation rules out.
func SplitReplicas(total int32, units []UnitQuota) ([]int32, error) {
	if err := checkQuotas(total, units); err != nil {
		return nil, err
	}
	// Work in hundredths of a pod so that counts and percentages compare.
	asked := make([]uint64, len(units))
	var askedSum uint64
	var sharing []int
	for i, u := range units {
		switch {
		case u.Quota == nil:
			sharing = append(sharing, i)
		case u.Quota.Percent:
			asked[i] = uint64(u.Quota.Value) * uint64(total)
		default:
			asked[i] = uint64(u.Quota.Value) * 100
		}
		askedSum += asked[i]
	}

	out := make([]int32, len(units))
	if len(sharing) > 0 && askedSum <= 100*uint64(total) {
		rest := total
		for i := range units {
			out[i] = int32(asked[i] / 100)
			rest -= out[i]
		}
		spreadEvenly(out, sharing, rest)
		return out, nil
	}
	if askedSum == 0 {
		all := make([]int, len(units))
		for i := range all {
			all[i] = i
		}
		spreadEvenly(out, all, total)
		return out, nil
	}
	apportion(out, asked, askedSum, total)
	return out, nil
}

func checkQuotas(total int32, units []UnitQuota) error {
	if total < 0 {
		return fmt.Errorf("replicas %d is negative", total)
	}
	if len(units) == 0 {
		return errors.New("no units")
	}
	seen := make(map[string]bool, len(units))
	for _, u := range units {
		if u.Name == "" {
			return errors.New("a unit has no name")
		}
		if seen[u.Name] {
			return fmt.Errorf("unit %q is listed twice", u.Name)
		}
		seen[u.Name] = true
		if q := u.Quota; q != nil && (q.Value < 0 || q.Percent && q.Value > 100) {
			return fmt.Errorf("unit %q: quota %s is out of range", u.Name, q)
		}
	}
	return nil
}

// spreadEvenly adds n pods over the units at indexes, the earlier ones taking
// the remainder.
func spreadEvenly(out []int32, indexes []int, n int32) {
	each, extra := n/int32(len(indexes)), n%int32(len(indexes))
	for k, i := range indexes {
		out[i] += each
		if int32(k) < extra {
			out[i]++
		}
	}
}

// apportion sets out to total shared in proportion to weights (which sum to
// weightSum > 0) by largest remainder, ties going to the earlier index.
func apportion(out []int32, weights []uint64, weightSum uint64, total int32) {
	remainders := make([]uint64, len(weights))
	given := int32(0)
	for i, w := range weights {
		q, r := quotient(uint64(total), w, weightSum)
		out[i] = int32(q)
		remainders[i] = r
		given += out[i]
	}
	for ; given < total; given++ {
		best := -1
		for i, r := range remainders {
			if best < 0 || r > remainders[best] {
				best = i
			}
		}
		out[best]++
		// The pods left over number sum(remainders)/weightSum, so there are
		// enough positive remainders for each unit to get at most one.
		remainders[best] = 0
	}
}

// quotient returns total*w/sum and its remainder, for w <= sum: the product
// may need more than 64 bits, the quotient does not.
func quotient(total, w, sum uint64) (q, r uint64) {
	hi, lo := bits.Mul64(total, w)
	return bits.Div64(hi, lo, sum)
}
