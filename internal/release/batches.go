package release

import "math"

// BatchSpec says how a release is cut into batches.
type BatchSpec struct {
	// Beta makes the first batch one pod in every unit that has work.
	Beta bool
	// Size is the number of pods in every later batch (the last may be
	// smaller); values below 1 count as 1.
	Size int32
}

// BatchSize resolves spec.strategy.batchSize against the workload's
// replicas: a percentage rounds up, and a batch is never empty.
func BatchSize(size Amount, replicas int32) int32 {
	return max(size.of(replicas, true), 1)
}

// Batches cuts work (the pods each unit still has to change or create) into
// batches and returns, for every batch, the cumulative number of pods each
// unit has done once the batch is complete.
//
// After the Beta batch, if any, each batch adds Size pods over all units.
// The work after the Beta batch is shared by largest remainder on every
// batch's cumulative target: each unit gets its exact proportional share
// rounded down, and the pods left over go to the largest fractions (ties to
// the earlier unit). So every batch's total is exact and the last batch ends
// at each unit's whole work, however unbalanced the units. Largest remainder
// can, rarely, give a unit one pod less for a larger target (the Alabama
// paradox); such a unit keeps its earlier count instead, and the pods this
// takes come from the units furthest above their exact share, so a unit's
// count never decreases from one batch to the next.
func Batches(work []int32, spec BatchSpec) [][]int32 {
	return cut(work, spec, math.MaxInt)
}

// cut is Batches stopped after limit batches: Plan only ever needs the next.
func cut(work []int32, spec BatchSpec, limit int) [][]int32 {
	done := make([]int32, len(work))
	var batches [][]int32
	if spec.Beta && limit > 0 {
		some := false
		for i, w := range work {
			if w > 0 {
				done[i] = 1
				some = true
			}
		}
		if some {
			batches = append(batches, append([]int32(nil), done...))
		}
	}
	share := make([]uint64, len(work))
	var total uint64
	for i, w := range work {
		share[i] = uint64(max(w, 0) - done[i])
		total += share[i]
	}
	size := uint64(max(spec.Size, 1))
	given := make([]int32, len(work))
	for handed := uint64(0); handed < total && len(batches) < limit; {
		handed = min(handed+size, total)
		next := make([]int32, len(work))
		apportion(next, share, total, int32(handed))
		keepMonotonic(next, given, share, total, handed)
		given = next
		batch := make([]int32, len(work))
		for i := range batch {
			batch[i] = done[i] + given[i]
		}
		batches = append(batches, batch)
	}
	return batches
}

// keepMonotonic raises every unit that next would give fewer pods than prev
// back to prev, and takes the pods this costs from the units furthest above
// their exact share of target (ties: the later unit), never below prev.
// Enough such pods exist: next and prev sum to target and to less.
func keepMonotonic(next, prev []int32, share []uint64, total, target uint64) {
	var owed int32
	for i := range next {
		if next[i] < prev[i] {
			owed += prev[i] - next[i]
			next[i] = prev[i]
		}
	}
	for ; owed > 0; owed-- {
		best := -1
		var bestExcess int64
		for i := range next {
			if next[i] <= prev[i] {
				continue
			}
			// (next - exact share) * total, where exact = floor + rem/total.
			floor, rem := quotient(target, share[i], total)
			excess := (int64(next[i])-int64(floor))*int64(total) - int64(rem)
			if best < 0 || excess >= bestExcess {
				best, bestExcess = i, excess
			}
		}
		next[best]--
	}
}

// batchCount is len(Batches(work, spec)) without cutting them.
func batchCount(work []int32, spec BatchSpec) int32 {
	var total, units int64
	for _, w := range work {
		if w > 0 {
			total += int64(w)
			units++
		}
	}
	var count int64
	if spec.Beta && units > 0 {
		count, total = 1, total-units
	}
	size := int64(max(spec.Size, 1))
	return int32(count + (total+size-1)/size)
}
