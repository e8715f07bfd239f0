package release

import (
	"math/rand"
	"reflect"
	"testing"
)

func TestBatches(t *testing.T) {
	cases := []struct {
		name string
		work []int32
		spec BatchSpec
		want [][]int32
	}{
		{
			// Beta changes one pod per unit, then batches of 10, 10 and 7.
			name: "30 over three units, Beta, batches of 10",
			work: []int32{10, 10, 10}, spec: BatchSpec{Beta: true, Size: 10},
			want: [][]int32{{1, 1, 1}, {5, 4, 4}, {8, 8, 7}, {10, 10, 10}},
		},
		{
			name: "30 over three units, batches of 10",
			work: []int32{10, 10, 10}, spec: BatchSpec{Size: 10},
			want: [][]int32{{4, 3, 3}, {7, 7, 6}, {10, 10, 10}},
		},
		{
			name: "unbalanced units with Beta",
			work: []int32{7, 2, 1}, spec: BatchSpec{Beta: true, Size: 3},
			want: [][]int32{{1, 1, 1}, {4, 1, 1}, {6, 2, 1}, {7, 2, 1}},
		},
		{
			name: "units with no work are left alone",
			work: []int32{0, 5, 0}, spec: BatchSpec{Beta: true, Size: 2},
			want: [][]int32{{0, 1, 0}, {0, 3, 0}, {0, 5, 0}},
		},
		{
			name: "Beta covers everything",
			work: []int32{1, 1, 0}, spec: BatchSpec{Beta: true, Size: 5},
			want: [][]int32{{1, 1, 0}},
		},
		{
			// Largest remainder alone would go from 1, 1, 1 to 2, 2, 0 at
			// the fourth pod (the Alabama paradox).
			name: "a unit's count never decreases",
			work: []int32{3, 3, 1}, spec: BatchSpec{Size: 1},
			want: [][]int32{{1, 0, 0}, {1, 1, 0}, {1, 1, 1}, {2, 1, 1}, {2, 2, 1}, {3, 2, 1}, {3, 3, 1}},
		},
		{
			name: "one batch for everything",
			work: []int32{3, 4}, spec: BatchSpec{Size: 100},
			want: [][]int32{{3, 4}},
		},
		{
			name: "size below 1 counts as 1",
			work: []int32{1, 1}, spec: BatchSpec{Size: 0},
			want: [][]int32{{1, 0}, {1, 1}},
		},
		{name: "no work", work: []int32{0, 0}, spec: BatchSpec{Beta: true, Size: 3}, want: nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := Batches(tc.work, tc.spec)
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("Batches(%v, %+v) = %v, want %v", tc.work, tc.spec, got, tc.want)
			}
			if n := batchCount(tc.work, tc.spec); int(n) != len(got) {
				t.Errorf("batchCount = %d, Batches made %d", n, len(got))
			}
		})
	}
}

func TestBatchSize(t *testing.T) {
	cases := []struct {
		size     Amount
		replicas int32
		want     int32
	}{
		{Pods(10), 30, 10},
		{Percent(25), 30, 8}, // 7.5 rounds up
		{Percent(25), 4, 1},
		{Percent(1), 10, 1}, // never empty
		{Percent(100), 30, 30},
		{Percent(50), 0, 1},
	}
	for _, tc := range cases {
		if got := BatchSize(tc.size, tc.replicas); got != tc.want {
			t.Errorf("BatchSize(%s, %d) = %d, want %d", tc.size, tc.replicas, got, tc.want)
		}
	}
}

func TestBatchesProperties(t *testing.T) {
	seed := testSeed(t)
	rng := rand.New(rand.NewSource(seed))
	for range 3000 {
		work := make([]int32, 1+rng.Intn(6))
		var total int32
		for i := range work {
			work[i] = int32(rng.Intn(51))
			total += work[i]
		}
		spec := BatchSpec{Beta: rng.Intn(2) == 0, Size: int32(1 + rng.Intn(20))}
		batches := Batches(work, spec)
		if n := batchCount(work, spec); int(n) != len(batches) {
			t.Fatalf("Batches(%v, %+v): %d batches, batchCount says %d", work, spec, len(batches), n)
		}
		if total == 0 {
			if batches != nil {
				t.Fatalf("Batches(%v) = %v, want none", work, batches)
			}
			continue
		}
		if !reflect.DeepEqual(batches[len(batches)-1], work) {
			t.Fatalf("Batches(%v, %+v) ends at %v", work, spec, batches[len(batches)-1])
		}
		prev := make([]int32, len(work))
		var prevTotal int32
		for k, batch := range batches {
			var sum int32
			for i, n := range batch {
				if n < prev[i] {
					t.Fatalf("Batches(%v, %+v): unit %d goes down from %d to %d in batch %d", work, spec, i, prev[i], n, k)
				}
				if spec.Beta && k == 0 && n != min(work[i], 1) {
					t.Fatalf("Batches(%v, %+v): Beta batch %v is not one pod per unit with work", work, spec, batch)
				}
				sum += n
			}
			step := sum - prevTotal
			last := k == len(batches)-1
			if !(spec.Beta && k == 0) && (step > spec.Size || !last && step != spec.Size || step <= 0) {
				t.Fatalf("Batches(%v, %+v): batch %d adds %d pods", work, spec, k, step)
			}
			prev, prevTotal = batch, sum
		}
		// Each unit's count is its exact proportional share of every
		// cumulative target after the Beta batch, rounded up or down; where
		// keeping counts from decreasing forces it (rarely, with small
		// batches), one pod further off, never more.
		base := make([]int32, len(work))
		if spec.Beta {
			base = batches[0]
		}
		var rest int64
		for i := range work {
			rest += int64(work[i] - base[i])
		}
		for _, batch := range batches {
			var done int64
			for i := range batch {
				done += int64(batch[i] - base[i])
			}
			for i := range batch {
				// |given - done*share/rest| < 2, multiplied through by rest.
				diff := int64(batch[i]-base[i])*rest - done*int64(work[i]-base[i])
				if rest > 0 && (diff >= 2*rest || -diff >= 2*rest) {
					t.Fatalf("Batches(%v, %+v): unit %d has %d in %v, far from its share", work, spec, i, batch[i], batch)
				}
			}
		}
	}
}
