package release

import (
	"reflect"
	"testing"
	"time"
)

// completedInput is steadyInput after its release to v2 completed, with
// auto-reschedule on.
func completedInput() Input {
	in := steadyInput()
	in.TargetRevision = "v1"
	in.AutoReschedule = AutoReschedule{Enabled: true, PendingFor: time.Minute}
	for i := range in.Observed {
		in.Observed[i].Updated, in.Observed[i].UpdatedAvailable = 10, 10
	}
	return in
}

func quotas(out Output) []int32 {
	var n []int32
	for _, u := range out.Status.Units {
		n = append(n, u.Quota)
	}
	return n
}

func TestRescheduleMovesQuotaToTheRoomiestUnit(t *testing.T) {
	in := completedInput()
	in.Observed[1].Unschedulable = []time.Time{t0.Add(-90 * time.Second), t0.Add(-61 * time.Second)}
	in.Observed[0].FreeCapacity = 5
	in.Observed[2].FreeCapacity = 1
	out := mustPlan(t, in)
	wantInts(t, "quotas", quotas(out), []int32{12, 8, 10})
	wantInts(t, "replicas", replicas(out), []int32{12, 8, 10})
	wantInts(t, "partitions", partitions(out), []int32{0, 0, 0})
	want := []QuotaMove{{From: "b", To: "a", Count: 2, Time: t0, Reason: MoveReasonUnschedulable}}
	if !reflect.DeepEqual(out.Status.Moves, want) {
		t.Errorf("moves %+v, want %+v", out.Status.Moves, want)
	}
	wantEvents(t, in, out, ReasonQuotaMoved)
	wantPhase(t, out, PhaseCompleted)

	// The scale-in of b has not happened yet: the same pods do not move again.
	in = then(in, out, stillObserved)
	out = mustPlan(t, in)
	wantInts(t, "quotas", quotas(out), []int32{12, 8, 10})
	wantEvents(t, in, out)
}

func TestRescheduleSpreadsOverUnitsWithRoom(t *testing.T) {
	in := completedInput()
	in.Observed[1].Unschedulable = []time.Time{t0.Add(-2 * time.Minute), t0.Add(-2 * time.Minute), t0.Add(-2 * time.Minute)}
	in.Observed[0].FreeCapacity = 1
	in.Observed[2].FreeCapacity = 1
	out := mustPlan(t, in)
	// Only two pods of room: the third stuck pod stays.
	wantInts(t, "quotas", quotas(out), []int32{11, 8, 11})
	if len(out.Status.Moves) != 2 {
		t.Errorf("moves %+v, want b to a and b to c", out.Status.Moves)
	}
}

func TestRescheduleWaitsForTheDelay(t *testing.T) {
	in := completedInput()
	in.Observed[1].Unschedulable = []time.Time{t0.Add(-20 * time.Second)}
	in.Observed[0].FreeCapacity = 5
	out := mustPlan(t, in)
	wantInts(t, "quotas", quotas(out), []int32{10, 10, 10})
	if out.RecheckAfter != 40*time.Second {
		t.Errorf("RecheckAfter %s, want 40s", out.RecheckAfter)
	}
}

func TestRescheduleNeedsRoomAndSettledUnits(t *testing.T) {
	cases := map[string]func(*Input){
		"disabled":                  func(in *Input) { in.AutoReschedule.Enabled = false },
		"no room anywhere":          func(in *Input) { in.Observed[0].FreeCapacity = 0 },
		"room only in a stuck unit": func(in *Input) { in.Observed[0].Unschedulable = in.Observed[1].Unschedulable },
		"earlier scale-in pending":  func(in *Input) { in.Observed[1].Replicas = 11 },
	}
	for name, change := range cases {
		t.Run(name, func(t *testing.T) {
			in := completedInput()
			in.Observed[1].Unschedulable = []time.Time{t0.Add(-2 * time.Minute)}
			in.Observed[0].FreeCapacity = 5
			change(&in)
			out := mustPlan(t, in)
			wantInts(t, "quotas", quotas(out), []int32{10, 10, 10})
			if len(out.Status.Moves) != 0 {
				t.Errorf("moves %+v, want none", out.Status.Moves)
			}
		})
	}
}

func TestRescheduleGivesQuotaBackOnePodAtATime(t *testing.T) {
	in := completedInput()
	in.Previous.Moves = []QuotaMove{{From: "b", To: "a", Count: 2, Time: t0, Reason: MoveReasonUnschedulable}}
	in.Previous.Units = []UnitState{{Name: "a", Quota: 12, Target: 12}, {Name: "b", Quota: 8, Target: 8}, {Name: "c", Quota: 10, Target: 10}}
	in.Observed[0].Replicas, in.Observed[0].Ready, in.Observed[0].Available = 12, 12, 12
	in.Observed[1].Replicas, in.Observed[1].Ready, in.Observed[1].Available = 8, 8, 8
	in.Observed[1].FreeCapacity = 3

	out := mustPlan(t, in)
	wantInts(t, "quotas", quotas(out), []int32{11, 9, 10})
	wantInts(t, "replicas", replicas(out), []int32{11, 9, 10})
	if len(out.Status.Moves) != 1 || out.Status.Moves[0].Count != 1 {
		t.Errorf("moves %+v, want 1 pod still moved", out.Status.Moves)
	}
	wantEvents(t, in, out, ReasonQuotaReturned)

	// The returned pod is not ready yet: nothing more comes back.
	in = then(in, out, stillObserved)
	in.Observed[1].Replicas = 9
	out = mustPlan(t, in)
	wantInts(t, "quotas", quotas(out), []int32{11, 9, 10})

	in = then(in, out, stillObserved)
	in.Observed[1].Ready = 9
	out = mustPlan(t, in)
	wantInts(t, "quotas", quotas(out), []int32{10, 10, 10})
	if len(out.Status.Moves) != 0 {
		t.Errorf("moves %+v, want none left", out.Status.Moves)
	}
}

// Quota moved back the other way cancels the earlier move.
func TestRescheduleReverseMoveCancels(t *testing.T) {
	in := completedInput()
	in.Previous.Moves = []QuotaMove{{From: "a", To: "b", Count: 2, Time: t0, Reason: MoveReasonUnschedulable}}
	in.Previous.Units = []UnitState{{Name: "a", Quota: 8, Target: 8}, {Name: "b", Quota: 12, Target: 12}, {Name: "c", Quota: 10, Target: 10}}
	in.Observed[0].Replicas, in.Observed[0].FreeCapacity = 8, 4
	in.Observed[1].Replicas = 12
	in.Observed[1].Unschedulable = []time.Time{t0.Add(-2 * time.Minute)}
	out := mustPlan(t, in)
	want := []QuotaMove{{From: "a", To: "b", Count: 1, Time: t0, Reason: MoveReasonUnschedulable}}
	if !reflect.DeepEqual(out.Status.Moves, want) {
		t.Errorf("moves %+v, want %+v", out.Status.Moves, want)
	}
	wantInts(t, "quotas", quotas(out), []int32{9, 11, 10})
}

// A move during a release carries the pods' revisions: pods at the release
// revision move first, and the release's totals do not change.
func TestRescheduleDuringReleaseKeepsRevisions(t *testing.T) {
	in := steadyInput()
	in.Strategy.Beta = false
	in.AutoReschedule = AutoReschedule{Enabled: true, PendingFor: time.Minute}
	out := mustPlan(t, in) // 4, 3, 3 at v2
	in = then(in, out, settled)
	in.Observed[1].Unschedulable = []time.Time{t0.Add(-2 * time.Minute), t0.Add(-2 * time.Minute)}
	in.Observed[2].FreeCapacity = 5
	before := out.Status.Release.Batches[0].Target
	out = mustPlan(t, in)
	wantInts(t, "quotas", quotas(out), []int32{10, 8, 12})
	wantInts(t, "targets", targets(out), []int32{4, 1, 5})
	wantInts(t, "partitions", partitions(out), []int32{6, 7, 7})
	if got := out.Status.Release.Batches[0].Target; got != before {
		t.Errorf("batch target %d after the move, want %d", got, before)
	}
}

func TestKeepMovesDropsWhatNoLongerApplies(t *testing.T) {
	in := completedInput()
	in.Replicas = 6 // 2 per unit
	in.Previous.Moves = []QuotaMove{
		{From: "gone", To: "a", Count: 1},
		{From: "b", To: "a", Count: 5},
		{From: "c", To: "c", Count: 1},
	}
	out := mustPlan(t, in)
	if len(out.Status.Moves) != 1 || out.Status.Moves[0].Count != 2 {
		t.Errorf("moves %+v, want b to a shrunk to b's quota of 2", out.Status.Moves)
	}
	wantInts(t, "quotas", quotas(out), []int32{4, 0, 2})
}

func TestRescheduleAddsToAnEarlierMove(t *testing.T) {
	in := completedInput()
	earlier := t0.Add(-time.Hour)
	in.Previous.Moves = []QuotaMove{{From: "b", To: "a", Count: 1, Time: earlier, Reason: MoveReasonUnschedulable}}
	in.Previous.Units = []UnitState{{Name: "a", Quota: 11, Target: 11}, {Name: "b", Quota: 9, Target: 9}, {Name: "c", Quota: 10, Target: 10}}
	in.Observed[0].Replicas, in.Observed[0].FreeCapacity = 11, 3
	in.Observed[1].Replicas = 9
	in.Observed[1].Unschedulable = []time.Time{t0.Add(-2 * time.Minute)}
	out := mustPlan(t, in)
	want := []QuotaMove{{From: "b", To: "a", Count: 2, Time: t0, Reason: MoveReasonUnschedulable}}
	if !reflect.DeepEqual(out.Status.Moves, want) {
		t.Errorf("moves %+v, want %+v", out.Status.Moves, want)
	}
	wantInts(t, "quotas", quotas(out), []int32{12, 8, 10})
}

func TestKeepMovesDropsMovesFromEmptyUnits(t *testing.T) {
	in := completedInput()
	in.Replicas = 0
	in.Previous.Moves = []QuotaMove{{From: "b", To: "a", Count: 2, Time: t0, Reason: MoveReasonUnschedulable}}
	out := mustPlan(t, in)
	if len(out.Status.Moves) != 0 {
		t.Errorf("moves %+v, want none once b has no quota", out.Status.Moves)
	}
	wantInts(t, "replicas", replicas(out), []int32{0, 0, 0})
}
