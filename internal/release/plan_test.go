package release

import (
	"strconv"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// The release the project promises: 30 replicas over three units, Beta and
// batches of 10. Beta changes one pod per unit, then batches of 10, 10 and 7;
// each wait names its batch; confirming advances.
func TestPlanBetaThenBatchesOfTen(t *testing.T) {
	in := steadyInput()
	in.Strategy.NeedConfirm = true
	var sizes []int32
	var prevTarget int32 = 0
	for step := 0; step < 50; step++ {
		out := mustPlan(t, in)
		rel := out.Status.Release
		if n := len(rel.Batches); n > 0 && rel.Batches[n-1].Target != prevTarget {
			sizes = append(sizes, rel.Batches[n-1].Target-prevTarget)
			prevTarget = rel.Batches[n-1].Target
		}
		if rel.Phase == PhaseCompleted {
			break
		}
		if rel.Phase == PhaseWaitingForConfirmation {
			next := rel.Batch
			waiting := conditionOf(t, out, ConditionWaitingForConfirmation)
			if waiting.Status != metav1.ConditionTrue {
				t.Fatalf("waiting for confirmation without the condition: %+v", waiting)
			}
			wantContains(t, "WaitingForConfirmation message", waiting.Message, "batch "+itoa(next))
			wantContains(t, "waitingFor", rel.WaitingFor, "revision v2, batch "+itoa(next))
			in = then(in, out, settled)
			in.Controls.Confirm = Confirmation{Revision: "v2", Batch: next}
			in.Controls.ConfirmedBy = "alice"
			continue
		}
		in = then(in, out, settled)
	}
	wantInts(t, "batch sizes", sizes, []int32{3, 10, 10, 7})
	out := mustPlan(t, in)
	wantPhase(t, out, PhaseCompleted)
	if out.Status.StableRevision != "v2" {
		t.Errorf("stable revision %q, want v2", out.Status.StableRevision)
	}
	rel := out.Status.Release
	if rel.Batch != 3 || rel.TotalBatches != 3 {
		t.Errorf("batch %d of %d, want 3 of 3", rel.Batch, rel.TotalBatches)
	}
	for _, b := range rel.Batches[1:] {
		if b.ConfirmedBy != "alice" || b.ConfirmedAt.IsZero() || b.CompletedAt.IsZero() {
			t.Errorf("batch record %+v: want confirmed by alice and completed", b)
		}
	}
	if rel.Batches[0].ConfirmedBy != "" {
		t.Errorf("Beta batch needed no confirmation, but records %q", rel.Batches[0].ConfirmedBy)
	}
}

func itoa(n int32) string { return strconv.Itoa(int(n)) }

func TestPlanStartsBetaBatch(t *testing.T) {
	in := steadyInput()
	out := mustPlan(t, in)
	wantPhase(t, out, PhaseProgressing)
	wantInts(t, "targets", targets(out), []int32{1, 1, 1})
	wantInts(t, "partitions", partitions(out), []int32{9, 9, 9})
	wantInts(t, "replicas", replicas(out), []int32{10, 10, 10})
	for _, u := range out.Units {
		if u.Revision != "v2" || u.MaxUnavailable != 2 {
			t.Errorf("unit plan %+v: want revision v2 and maxUnavailable 2 (25%% of 10)", u)
		}
	}
	rel := out.Status.Release
	if rel.Batch != 0 || rel.TotalBatches != 3 || rel.BatchStartTime != t0 {
		t.Errorf("release %+v: want batch 0 of 3 started now", rel)
	}
	wantEvents(t, in, out, ReasonReleaseStarted, ReasonBatchStarted)
	if out.RecheckAfter != 10*time.Minute {
		t.Errorf("RecheckAfter %s, want the progress deadline", out.RecheckAfter)
	}
	wantContains(t, "waitingFor", rel.WaitingFor, "batch 0 of 3 to become available")
	if c := conditionOf(t, out, ConditionProgressing); c.Status != metav1.ConditionTrue || c.Reason != ReasonBatchInProgress {
		t.Errorf("Progressing = %+v", c)
	}
}

func TestPlanWaitsAfterBetaAndIgnoresStaleConfirmations(t *testing.T) {
	in := steadyInput()
	in.Strategy.NeedConfirm = false // the batch after Beta waits anyway
	out := mustPlan(t, in)
	in = then(in, out, settled)
	out = mustPlan(t, in)
	wantPhase(t, out, PhaseWaitingForConfirmation)
	wantEvents(t, in, out, ReasonAwaitingConfirmation, ReasonBatchCompleted)
	wantInts(t, "partitions", partitions(out), []int32{9, 9, 9})
	if c := conditionOf(t, out, ConditionProgressing); c.Status != metav1.ConditionFalse || c.Reason != ReasonAwaitingConfirmation {
		t.Errorf("Progressing = %+v", c)
	}

	stale := []Confirmation{
		{Revision: "v1", Batch: 9}, // another revision
		{Revision: "v2", Batch: 0}, // not this batch
		{},
	}
	for _, c := range stale {
		next := then(in, out, stillObserved)
		next.Controls.Confirm = c
		got := mustPlan(t, next)
		wantPhase(t, got, PhaseWaitingForConfirmation)
		wantInts(t, "partitions", partitions(got), []int32{9, 9, 9})
		wantEvents(t, next, got)
	}

	in = then(in, out, stillObserved)
	in.Controls.Confirm = Confirmation{Revision: "v2", Batch: 1}
	in.Controls.ConfirmedBy = "bob"
	out = mustPlan(t, in)
	wantPhase(t, out, PhaseProgressing)
	wantInts(t, "targets", targets(out), []int32{5, 4, 4})
	wantInts(t, "partitions", partitions(out), []int32{5, 6, 6})
	rec := out.Status.Release.Batches[1]
	if rec.Batch != 1 || rec.Target != 13 || rec.ConfirmedBy != "bob" || rec.ConfirmedAt != in.Now {
		t.Errorf("batch record %+v", rec)
	}
	wantEvents(t, in, out, ReasonBatchStarted)

	// Batch 1 done: batch 2 needs no confirmation.
	in = then(in, out, settled)
	out = mustPlan(t, in)
	wantPhase(t, out, PhaseProgressing)
	wantInts(t, "targets", targets(out), []int32{8, 8, 7})
	if out.Status.Release.Batches[2].ConfirmedBy != "" {
		t.Errorf("batch 2 needed no confirmation: %+v", out.Status.Release.Batches[2])
	}
}

// A confirmation already in the spec when a release begins is left over
// from an earlier release to the same revision (here: v2, rolled back, then
// released again). It approves nothing: the release's batches are numbered
// above it, so confirming one of them always writes a new value.
func TestPlanConfirmationLeftFromAnEarlierRelease(t *testing.T) {
	in := steadyInput()
	in.Controls.Confirm = Confirmation{Revision: "v2", Batch: 1}
	out := mustPlan(t, in)
	if rel := out.Status.Release; rel.StaleConfirmBatch != 1 || rel.Batch != 0 || rel.TotalBatches != 4 {
		t.Fatalf("release %+v: want Beta batch 0, then batches 2 to 4 above the stale confirmation 1", rel)
	}
	in = then(in, out, settled)
	out = mustPlan(t, in)
	wantPhase(t, out, PhaseWaitingForConfirmation)
	if got := out.Status.Release.Batch; got != 2 {
		t.Fatalf("waiting for batch %d, want 2", got)
	}
	wantContains(t, "waitingFor", out.Status.Release.WaitingFor, "revision v2, batch 2")

	in = then(in, out, stillObserved)
	in.Controls.Confirm = Confirmation{Revision: "v2", Batch: 2}
	out = mustPlan(t, in)
	wantPhase(t, out, PhaseProgressing)
	wantInts(t, "targets", targets(out), []int32{5, 4, 4})
}

func TestPlanPreApprovalCoversLaterBatches(t *testing.T) {
	in := steadyInput()
	in.Strategy.NeedConfirm = true
	out := mustPlan(t, in)
	in = then(in, out, settled)
	in.Controls.Confirm = Confirmation{Revision: "v2", Batch: 3} // written during the release
	for range 10 {
		out = mustPlan(t, in)
		if out.Status.Release.Phase == PhaseWaitingForConfirmation {
			t.Fatalf("waiting for batch %d although batches up to 3 are confirmed", out.Status.Release.Batch+1)
		}
		in = then(in, out, settled)
	}
	wantPhase(t, out, PhaseCompleted)
}

func TestPlanPauseFreezesPartitions(t *testing.T) {
	in := steadyInput()
	in.Strategy.Beta = false
	out := mustPlan(t, in) // batch 1 in progress
	wantInts(t, "targets", targets(out), []int32{4, 3, 3})

	wantSetsPaused(t, out, false)

	// The InPlaceSets are paused too: no further pod of the batch starts.
	in = then(in, out, stillObserved)
	in.Strategy.Paused = true
	out = mustPlan(t, in)
	wantPhase(t, out, PhasePaused)
	wantInts(t, "partitions", partitions(out), []int32{6, 7, 7})
	wantSetsPaused(t, out, true)
	wantEvents(t, in, out, ReasonReleasePaused)
	if c := conditionOf(t, out, ConditionReleasePaused); c.Status != metav1.ConditionTrue || c.Reason != ReasonPaused {
		t.Errorf("ReleasePaused = %+v", c)
	}

	// A batch whose pods had all started completes, but the next one does
	// not start, and the deadline does not run while paused.
	in = then(in, out, settled)
	in.Now = in.Now.Add(time.Hour)
	out = mustPlan(t, in)
	wantPhase(t, out, PhasePaused)
	wantInts(t, "partitions", partitions(out), []int32{6, 7, 7})
	wantEvents(t, in, out, ReasonBatchCompleted)

	in = then(in, out, stillObserved)
	in.Strategy.Paused = false
	out = mustPlan(t, in)
	wantPhase(t, out, PhaseProgressing)
	wantSetsPaused(t, out, false)
	wantInts(t, "targets", targets(out), []int32{7, 7, 6})
	wantEvents(t, in, out, ReasonReleaseResumed, ReasonBatchStarted)
}

func TestPlanResumeRestartsTheDeadline(t *testing.T) {
	in := steadyInput()
	out := mustPlan(t, in)
	in = then(in, out, stillObserved)
	in.Strategy.Paused = true
	out = mustPlan(t, in)
	in = then(in, out, stillObserved)
	in.Now = in.Now.Add(time.Hour)
	in.Strategy.Paused = false
	out = mustPlan(t, in)
	wantPhase(t, out, PhaseProgressing)
	if got := out.Status.Release.BatchStartTime; got != in.Now {
		t.Errorf("BatchStartTime %s, want the resume time %s", got, in.Now)
	}
}

func TestPlanProgressDeadline(t *testing.T) {
	in := steadyInput()
	out := mustPlan(t, in)
	in = then(in, out, stillObserved)
	in.Now = t0.Add(9 * time.Minute)
	out = mustPlan(t, in)
	wantPhase(t, out, PhaseProgressing)
	if out.RecheckAfter != time.Minute {
		t.Errorf("RecheckAfter %s, want 1m", out.RecheckAfter)
	}

	in = then(in, out, stillObserved)
	in.Now = t0.Add(10 * time.Minute)
	out = mustPlan(t, in)
	wantPhase(t, out, PhaseFailed)
	wantEvents(t, in, out, ReasonProgressDeadlineExceeded)
	c := conditionOf(t, out, ConditionProgressDeadlineExceeded)
	if c.Status != metav1.ConditionTrue || c.Reason != ReasonProgressDeadlineExceeded {
		t.Errorf("ProgressDeadlineExceeded = %+v", c)
	}
	wantContains(t, "condition message", c.Message, "batch 0")
	wantInts(t, "partitions", partitions(out), []int32{9, 9, 9})

	// Still stuck: no new event. Then the batch completes and the release
	// goes on.
	in = then(in, out, stillObserved)
	out = mustPlan(t, in)
	wantPhase(t, out, PhaseFailed)
	wantEvents(t, in, out)
	in = then(in, out, settled)
	out = mustPlan(t, in)
	wantPhase(t, out, PhaseWaitingForConfirmation)
	if c := conditionOf(t, out, ConditionProgressDeadlineExceeded); c.Status != metav1.ConditionFalse {
		t.Errorf("ProgressDeadlineExceeded = %+v after the batch completed", c)
	}
}

func TestPlanFailureThreshold(t *testing.T) {
	in := steadyInput()
	in.Strategy.Beta = false
	out := mustPlan(t, in) // batch 1: 4, 3, 3
	failing := func(in Input, out Output) []UnitObservation {
		obs := settled(in, out)
		obs[0].Failing, obs[0].UpdatedAvailable, obs[0].Available = 1, obs[0].UpdatedAvailable-1, obs[0].Available-1
		return obs
	}
	in = then(in, out, failing)
	out = mustPlan(t, in)
	wantPhase(t, out, PhasePaused)
	wantEvents(t, in, out, ReasonFailureThresholdReached)
	if out.Status.Release.Batches[0].FailureThresholdReachedAt != in.Now {
		t.Errorf("batch record %+v: want the failure time", out.Status.Release.Batches[0])
	}
	for _, kind := range []string{ConditionReleasePaused, ConditionWaitingForConfirmation} {
		if c := conditionOf(t, out, kind); c.Status != metav1.ConditionTrue || c.Reason != ReasonFailureThresholdReached {
			t.Errorf("%s = %+v", kind, c)
		}
	}
	wantContains(t, "waitingFor", out.Status.Release.WaitingFor, "revision v2, batch 2")

	// The failing pod recovers and the batch completes, yet batch 2 waits for
	// a confirmation although needConfirm is off.
	in = then(in, out, settled)
	out = mustPlan(t, in)
	wantPhase(t, out, PhasePaused)
	wantInts(t, "targets", targets(out), []int32{4, 3, 3})

	in = then(in, out, stillObserved)
	in.Controls.Confirm = Confirmation{Revision: "v2", Batch: 2}
	in.Controls.ConfirmedBy = "carol"
	out = mustPlan(t, in)
	wantPhase(t, out, PhaseProgressing)
	wantInts(t, "targets", targets(out), []int32{7, 7, 6})
	if got := out.Status.Release.Batches[1].ConfirmedBy; got != "carol" {
		t.Errorf("batch 2 confirmed by %q, want carol", got)
	}
}

// A confirmation that approved batches ahead cannot carry a release past a
// failure: it turns stale when the threshold is reached.
func TestPlanFailureVoidsPreApproval(t *testing.T) {
	in := steadyInput()
	in.Strategy.Beta = false
	out := mustPlan(t, in)
	in = then(in, out, stillObserved)
	in.Controls.Confirm = Confirmation{Revision: "v2", Batch: 3}
	in.Observed[1].Failing = 1
	out = mustPlan(t, in)
	wantPhase(t, out, PhasePaused)
	if out.Status.Release.StaleConfirmBatch != 3 {
		t.Fatalf("StaleConfirmBatch = %d, want 3", out.Status.Release.StaleConfirmBatch)
	}
	in = then(in, out, settled)
	out = mustPlan(t, in)
	wantPhase(t, out, PhasePaused)

	// The batch that waits is numbered above the voided confirmation.
	if got := out.Status.Release.Batch; got != 4 {
		t.Fatalf("waiting for batch %d, want 4", got)
	}

	// The user resumes, but the pod still fails: the threshold counts it
	// against batch 4 at once, so batch 5 will wait for a confirmation too.
	resumed := then(in, out, stillObserved)
	resumed.Controls.Confirm = Confirmation{Revision: "v2", Batch: 4}
	resumed.Observed[1].Failing = 1
	got := mustPlan(t, resumed)
	wantPhase(t, got, PhasePaused)
	wantEvents(t, resumed, got, ReasonFailureThresholdReached, ReasonBatchStarted)
	if rel := got.Status.Release; rel.Batch != 5 || len(rel.Batches) != 2 || rel.Batches[1].Batch != 4 {
		t.Errorf("release %+v: want batch 4 started and batch 5 waiting", rel)
	}

	// With the pod recovered, resuming goes on as usual.
	resumed.Observed[1].Failing = 0
	got = mustPlan(t, resumed)
	wantPhase(t, got, PhaseProgressing)
	wantEvents(t, resumed, got, ReasonReleaseResumed, ReasonBatchStarted)
}

func TestPlanFailureThresholdPercentage(t *testing.T) {
	in := steadyInput()
	in.Strategy.Beta = false
	in.Strategy.FailureThreshold = Percent(50) // of the 10 pods batch 1 allows
	out := mustPlan(t, in)
	in = then(in, out, stillObserved)
	in.Observed[0].Failing = 4
	out = mustPlan(t, in)
	wantPhase(t, out, PhaseProgressing)
	in.Observed[0].Failing = 5
	out = mustPlan(t, in)
	wantPhase(t, out, PhasePaused)
}

func TestPlanAbort(t *testing.T) {
	in := steadyInput()
	in.Strategy.Beta = false
	out := mustPlan(t, in)
	in = then(in, out, settled)
	in.Controls.Abort = true
	in.Strategy.Paused = true // a pause does not hold the pods the abort sends back
	out = mustPlan(t, in)
	wantPhase(t, out, PhaseAborted)
	wantSetsPaused(t, out, false)
	wantEvents(t, in, out, ReasonReleaseAborted)
	for _, u := range out.Units {
		if u.Revision != "v1" || u.Partition != 0 || u.Replicas != 10 {
			t.Errorf("unit plan %+v: want every pod back at v1", u)
		}
	}
	if c := conditionOf(t, out, ConditionReleasePaused); c.Status != metav1.ConditionTrue || c.Reason != ReasonReleaseAborted {
		t.Errorf("ReleasePaused = %+v", c)
	}
	if out.Status.StableRevision != "v1" {
		t.Errorf("stable revision %q, want v1", out.Status.StableRevision)
	}

	// Pods return to v1; nothing else happens while the abort stands.
	in = then(in, out, settled)
	out = mustPlan(t, in)
	wantPhase(t, out, PhaseAborted)
	wantEvents(t, in, out)

	// Lifting the abort restarts the release from the pods' real state.
	in = then(in, out, settled)
	in.Controls.Abort, in.Strategy.Paused = false, false
	out = mustPlan(t, in)
	wantPhase(t, out, PhaseProgressing)
	wantInts(t, "targets", targets(out), []int32{4, 3, 3})
	if got := out.Status.Release.Batches; len(got) != 1 || got[0].Batch != 1 {
		t.Errorf("batches %+v: want a restarted release at batch 1", got)
	}
	for _, u := range out.Units {
		if u.Revision != "v2" {
			t.Errorf("unit plan %+v: want v2", u)
		}
	}
}

func TestPlanAbortWithoutEarlierRevisionFreezes(t *testing.T) {
	in := Input{
		Now: t0, Replicas: 6, Units: []UnitQuota{{Name: "a"}, {Name: "b"}},
		Strategy:       Strategy{BatchSize: Pods(2), MaxUnavailablePerUnit: Pods(1), ProgressDeadline: time.Minute, FailureThreshold: Pods(1)},
		TargetRevision: "v1",
	}
	out := mustPlan(t, in)
	wantInts(t, "replicas", replicas(out), []int32{1, 1})
	in = then(in, out, settled)
	in.Controls.Abort = true
	out = mustPlan(t, in)
	wantPhase(t, out, PhaseAborted)
	wantInts(t, "replicas", replicas(out), []int32{1, 1})
	for _, u := range out.Units {
		if u.Revision != "v1" {
			t.Errorf("unit plan %+v: with no earlier revision the abort only freezes", u)
		}
	}
}

func TestPlanAbortWithNothingInProgress(t *testing.T) {
	in := steadyInput()
	in.TargetRevision = "v1"
	in.Controls.Abort = true
	out := mustPlan(t, in)
	wantPhase(t, out, PhaseCompleted)
	wantEvents(t, in, out)
}

func TestPlanImmediate(t *testing.T) {
	in := steadyInput()
	in.Controls.Immediate = true
	in.Controls.ConfirmedBy = "dave"
	out := mustPlan(t, in)
	wantPhase(t, out, PhaseProgressing)
	wantInts(t, "partitions", partitions(out), []int32{0, 0, 0})
	rel := out.Status.Release
	if rel.Batch != 1 || rel.TotalBatches != 1 {
		t.Errorf("batch %d of %d, want 1 of 1", rel.Batch, rel.TotalBatches)
	}
	// Asking for the release at once approves its one batch.
	if got := rel.Batches[0].ConfirmedBy; got != "dave" {
		t.Errorf("the immediate batch records confirmedBy %q, want dave", got)
	}
	in = then(in, out, settled)
	out = mustPlan(t, in)
	wantPhase(t, out, PhaseCompleted)
}

// Immediate set while a batch waits finishes the release in one more batch.
func TestPlanImmediateMidRelease(t *testing.T) {
	in := steadyInput()
	out := mustPlan(t, in)
	in = then(in, out, stillObserved) // Beta batch still in progress
	in.Controls.Immediate = true
	out = mustPlan(t, in)
	wantInts(t, "partitions", partitions(out), []int32{0, 0, 0})
	rel := out.Status.Release
	if rel.Batch != 1 || rel.TotalBatches != 1 || len(rel.Batches) != 2 {
		t.Errorf("release %+v: want batch 1 of 1 after the Beta batch", rel)
	}
}

// Rollback from the middle of a batch: the template goes back to v1 while
// batch 1 of the release to v2 is half done. Only the pods at v2 change, in
// batches; the pods still at v1 are never touched.
func TestPlanRollbackMidBatch(t *testing.T) {
	in := steadyInput()
	in.Strategy.Beta = false
	out := mustPlan(t, in) // batch 1 allows 4, 3, 3 at v2
	in = then(in, out, stillObserved)
	// Two pods of a and one of b reached v2 so far.
	in.Observed[0].Updated, in.Observed[1].Updated = 2, 1
	in.Observed[0].UpdatedAvailable, in.Observed[1].UpdatedAvailable = 2, 1
	out = mustPlan(t, in)

	rollback := then(in, out, stillObserved)
	rollback.TargetRevision = "v1"
	// Observed.Updated counts pods at the new target, v1.
	rollback.Observed = []UnitObservation{
		{Name: "a", Replicas: 10, Ready: 10, Available: 10, Updated: 8, UpdatedAvailable: 8},
		{Name: "b", Replicas: 10, Ready: 10, Available: 10, Updated: 9, UpdatedAvailable: 9},
		{Name: "c", Replicas: 10, Ready: 10, Available: 10, Updated: 10, UpdatedAvailable: 10},
	}
	out = mustPlan(t, rollback)
	wantPhase(t, out, PhaseProgressing)
	wantInts(t, "targets", targets(out), []int32{10, 10, 10})
	wantInts(t, "partitions", partitions(out), []int32{0, 0, 0})
	for _, u := range out.Units {
		if u.Revision != "v1" {
			t.Errorf("unit plan %+v: want v1", u)
		}
	}
	if rel := out.Status.Release; rel.Revision != "v1" || rel.TotalBatches != 1 {
		t.Errorf("release %+v: want one batch of the 3 pods at v2", rel)
	}
	in = then(rollback, out, settled)
	out = mustPlan(t, in)
	wantPhase(t, out, PhaseCompleted)
	if out.Status.StableRevision != "v1" {
		t.Errorf("stable revision %q, want v1", out.Status.StableRevision)
	}
}

// A rollback of many pods goes in batches (here with the Beta batch first)
// unless the user asks for it at once.
func TestPlanRollbackInBatches(t *testing.T) {
	in := steadyInput()
	in.TargetRevision = "v1"
	in.Previous.StableRevision = "v1"
	in.Previous.Release = Release{Revision: "v2", Phase: PhaseWaitingForConfirmation, Batch: 1, TotalBatches: 3}
	in.Previous.Units = []UnitState{{Name: "a", Quota: 10, Target: 5, Partition: 5}, {Name: "b", Quota: 10, Target: 4, Partition: 6}, {Name: "c", Quota: 10, Target: 4, Partition: 6}}
	in.Observed = []UnitObservation{
		{Name: "a", Replicas: 10, Ready: 10, Available: 10, Updated: 5, UpdatedAvailable: 5},
		{Name: "b", Replicas: 10, Ready: 10, Available: 10, Updated: 6, UpdatedAvailable: 6},
		{Name: "c", Replicas: 10, Ready: 10, Available: 10, Updated: 6, UpdatedAvailable: 6},
	}
	out := mustPlan(t, in)
	wantInts(t, "targets", targets(out), []int32{6, 7, 7}) // Beta: one v2 pod per unit goes back
	// 13 pods at v2: the Beta batch takes 3, one batch of 10 the rest.
	if rel := out.Status.Release; rel.Batch != 0 || rel.TotalBatches != 1 {
		t.Errorf("release %+v: want batch 0 of 1", rel)
	}

	in.Controls.Immediate = true
	out = mustPlan(t, in)
	wantInts(t, "targets", targets(out), []int32{10, 10, 10})
}

// Creating the workload follows the same batches: replicas grow batch by
// batch, behind the same confirmations.
func TestPlanCreationInBatches(t *testing.T) {
	in := Input{
		Now: t0, Replicas: 30, Units: []UnitQuota{{Name: "a"}, {Name: "b"}, {Name: "c"}},
		Strategy: Strategy{Beta: true, BatchSize: Pods(10), NeedConfirm: true, MaxUnavailablePerUnit: Percent(25),
			ProgressDeadline: time.Minute, FailureThreshold: Pods(1)},
		TargetRevision: "v1",
	}
	out := mustPlan(t, in)
	wantInts(t, "replicas", replicas(out), []int32{1, 1, 1})
	wantInts(t, "partitions", partitions(out), []int32{0, 0, 0})
	in = then(in, out, settled)
	out = mustPlan(t, in)
	wantPhase(t, out, PhaseWaitingForConfirmation)
	in = then(in, out, settled)
	in.Controls.Confirm = Confirmation{Revision: "v1", Batch: 1}
	out = mustPlan(t, in)
	wantInts(t, "replicas", replicas(out), []int32{5, 4, 4})
	in = then(in, out, settled)
	out = mustPlan(t, in)
	wantPhase(t, out, PhaseWaitingForConfirmation)
	wantInts(t, "replicas", replicas(out), []int32{5, 4, 4})
	if out.Status.StableRevision != "" {
		t.Errorf("stable revision %q before the first release completed", out.Status.StableRevision)
	}
}

// Raising replicas on a completed release creates the new pods in batches.
// The confirmation left from the release to the same revision is stale.
func TestPlanScaleOutInBatches(t *testing.T) {
	in := steadyInput()
	in.TargetRevision = "v1"
	in.Replicas = 60
	in.Strategy.NeedConfirm = true
	in.Controls.Confirm = Confirmation{Revision: "v1", Batch: 3}
	out := mustPlan(t, in)
	wantEvents(t, in, out, ReasonScaleOutStarted, ReasonBatchStarted)
	wantInts(t, "replicas", replicas(out), []int32{14, 13, 13})
	wantInts(t, "partitions", partitions(out), []int32{0, 0, 0})
	if rel := out.Status.Release; rel.Batch != 4 || rel.TotalBatches != 6 || rel.StaleConfirmBatch != 3 {
		t.Errorf("release %+v: want batch 4 of 6, numbered above the stale confirmation 3", rel)
	}
	in = then(in, out, settled)
	out = mustPlan(t, in)
	wantPhase(t, out, PhaseWaitingForConfirmation)
	in = then(in, out, stillObserved)
	in.Controls.Confirm = Confirmation{Revision: "v1", Batch: 5}
	out = mustPlan(t, in)
	wantInts(t, "replicas", replicas(out), []int32{17, 17, 16})
}

// Scale-out during a release adds the new pods to the remaining batches;
// new pods come before changing old ones.
func TestPlanScaleOutDuringRelease(t *testing.T) {
	in := steadyInput()
	in.Strategy.Beta = false
	out := mustPlan(t, in) // 4, 3, 3 of 30
	in = then(in, out, settled)
	in.Replicas = 36
	out = mustPlan(t, in)
	// batch 2 adds 10 pods in proportion to the work left (8, 9, 9 of
	// 12, 12, 12 quota): created first.
	wantInts(t, "targets", targets(out), []int32{7, 7, 6})
	wantInts(t, "replicas", replicas(out), []int32{12, 12, 12})
	wantInts(t, "partitions", partitions(out), []int32{5, 5, 6})
	if rel := out.Status.Release; rel.TotalBatches != 4 {
		t.Errorf("release %+v: want 4 batches for 36 pods", rel)
	}
}

// An HPA scaling below the fixed quotas is not refused: the quotas shrink,
// and the units scale in, old pods first.
func TestPlanScaleInBelowFixedQuotas(t *testing.T) {
	in := steadyInput()
	in.Strategy.Beta = false
	in.Units = []UnitQuota{{Name: "a", Quota: q(Pods(10))}, {Name: "b", Quota: q(Pods(10))}, {Name: "c", Quota: q(Pods(10))}}
	out := mustPlan(t, in) // 4, 3, 3 at v2
	in = then(in, out, settled)
	in.Replicas = 15
	out = mustPlan(t, in)
	for _, u := range out.Status.Units {
		if u.Quota != 5 {
			t.Errorf("unit %+v: want quota 5", u)
		}
	}
	wantInts(t, "replicas", replicas(out), []int32{5, 5, 5})
	// Batch 1 completed with 4, 3, 3 at v2 and batch 2 adds 5 more.
	wantInts(t, "targets", targets(out), []int32{5, 5, 5})
}

func TestPlanUnitWouldBeEmpty(t *testing.T) {
	in := steadyInput()
	in.Replicas = 12
	in.Strategy.Beta = false
	in.Units = []UnitQuota{{Name: "a", Quota: q(Pods(1))}, {Name: "b"}}
	in.Observed = []UnitObservation{
		{Name: "a", Replicas: 1, Ready: 1, Available: 1},
		{Name: "b", Replicas: 11, Ready: 11, Available: 11},
	}
	in.Previous.Units = []UnitState{{Name: "a", Quota: 1, Target: 1}, {Name: "b", Quota: 11, Target: 11}}
	out := mustPlan(t, in)
	wantInts(t, "targets", targets(out), []int32{0, 10})
	for in.TargetRevision == "v2" {
		in = then(in, out, settled)
		out = mustPlan(t, in)
		if out.Status.Release.Phase == PhasePaused {
			break
		}
	}
	wantInts(t, "targets", targets(out), []int32{0, 11})
	if c := conditionOf(t, out, ConditionReleasePaused); c.Reason != ReasonUnitWouldBeEmpty {
		t.Errorf("ReleasePaused = %+v", c)
	}
	wantContains(t, "waitingFor", out.Status.Release.WaitingFor, "allowUnitOutage: units a")
	if out.Units[0].MaxUnavailable != 1 || out.Units[0].AllowEmpty {
		t.Errorf("unit a plan %+v", out.Units[0])
	}

	in = then(in, out, settled)
	in.Strategy.AllowUnitOutage = true
	out = mustPlan(t, in)
	wantPhase(t, out, PhaseProgressing)
	wantInts(t, "targets", targets(out), []int32{1, 11})
	if !out.Units[0].AllowEmpty {
		t.Errorf("unit a plan %+v: want allowEmpty", out.Units[0])
	}
}

func TestPlanMaxUnavailablePerUnit(t *testing.T) {
	cases := []struct {
		budget   Amount
		replicas int32
		want     int32
	}{
		{Percent(25), 10, 2},
		{Percent(25), 3, 1},  // rounds down, but at least 1
		{Percent(100), 4, 3}, // a unit of two or more keeps one pod
		{Pods(5), 2, 1},
		{Pods(5), 1, 1},
		{Pods(5), 0, 1},
	}
	for _, tc := range cases {
		if got := maxUnavailable(tc.budget, tc.replicas); got != tc.want {
			t.Errorf("maxUnavailable(%s, %d) = %d, want %d", tc.budget, tc.replicas, got, tc.want)
		}
	}
}

func TestPlanAvailableCondition(t *testing.T) {
	in := steadyInput()
	out := mustPlan(t, in)
	if c := conditionOf(t, out, ConditionAvailable); c.Status != metav1.ConditionTrue {
		t.Errorf("Available = %+v", c)
	}
	in.Observed[2].Available = 7 // floor is 10 - 2
	out = mustPlan(t, in)
	c := conditionOf(t, out, ConditionAvailable)
	if c.Status != metav1.ConditionFalse || c.Reason != ReasonUnitBelowFloor {
		t.Errorf("Available = %+v", c)
	}
	wantContains(t, "message", c.Message, "c 7/8")
}

func TestPlanLostStatusStartsFromThePods(t *testing.T) {
	in := steadyInput()
	in.TargetRevision = "v1"
	in.Previous = Status{}
	in.Observed = []UnitObservation{
		{Name: "a", Replicas: 10, Ready: 10, Available: 10, Updated: 10, UpdatedAvailable: 10},
		{Name: "b", Replicas: 10, Ready: 10, Available: 10, Updated: 10, UpdatedAvailable: 10},
		{Name: "c", Replicas: 10, Ready: 10, Available: 10, Updated: 10, UpdatedAvailable: 10},
	}
	out := mustPlan(t, in)
	wantPhase(t, out, PhaseCompleted)
	wantInts(t, "partitions", partitions(out), []int32{0, 0, 0})
	if out.Status.StableRevision != "v1" {
		t.Errorf("stable revision %q, want v1", out.Status.StableRevision)
	}
}

func TestPlanRejectsInvalidSpec(t *testing.T) {
	in := steadyInput()
	in.Units = []UnitQuota{{Name: "a"}, {Name: "a"}}
	if _, err := Plan(in); err == nil {
		t.Error("want an error for duplicate units")
	}
}

func TestPlanKeepsWholeSeconds(t *testing.T) {
	in := steadyInput()
	in.Now = t0.Add(1500 * time.Millisecond)
	out := mustPlan(t, in)
	if got := out.Status.Release.BatchStartTime; got != t0.Add(time.Second) {
		t.Errorf("BatchStartTime %s, want whole seconds", got)
	}
}

// A release paused before it starts changes no pod: the InPlaceSets get the
// new template with every pod held by the partition.
func TestPlanPausedBeforeTheFirstBatch(t *testing.T) {
	in := steadyInput()
	in.Strategy.Paused = true
	out := mustPlan(t, in)
	wantPhase(t, out, PhasePaused)
	wantInts(t, "partitions", partitions(out), []int32{10, 10, 10})
	wantEvents(t, in, out, ReasonReleaseStarted, ReasonReleasePaused)
	if rel := out.Status.Release; rel.Batch != 0 || rel.TotalBatches != 3 || len(rel.Batches) != 0 {
		t.Errorf("release %+v: want batch 0 of 3 waiting", rel)
	}

	// One pod per unit: the Beta batch is the whole release.
	in.Replicas = 3
	in.Previous.Units = []UnitState{{Name: "a", Quota: 1, Target: 1}, {Name: "b", Quota: 1, Target: 1}, {Name: "c", Quota: 1, Target: 1}}
	out = mustPlan(t, in)
	if rel := out.Status.Release; rel.Batch != 0 || rel.TotalBatches != 0 {
		t.Errorf("release %+v: want batch 0 of 0", rel)
	}
}

// Who asked for a release is whoever named its revision in spec.release
// before it began (kubectl cafe rollback does, with batch 0); a confirmation
// for another revision names no one.
func TestPlanRecordsWhoRequestedAndAbortedTheRelease(t *testing.T) {
	for _, c := range []struct {
		name    string
		confirm Confirmation
		want    string
	}{
		{"named with batch 0 in the same edit", Confirmation{Revision: "v2", Batch: 0}, "erin"},
		{"a confirmation for another revision", Confirmation{Revision: "v1", Batch: 2}, ""},
		{"no confirmation", Confirmation{}, ""},
	} {
		in := steadyInput()
		in.Controls.Confirm, in.Controls.ConfirmedBy = c.confirm, "erin"
		out := mustPlan(t, in)
		if got := out.Status.Release.RequestedBy; got != c.want {
			t.Errorf("%s: requestedBy %q, want %q", c.name, got, c.want)
		}
		if c.want != "" && out.Status.Release.Batches[0].ConfirmedBy != "" {
			t.Errorf("%s: batch 0 approved by the request, but it needs no approval", c.name)
		}
	}

	// A scale-out of the same revision names no one, though the spec still
	// holds a confirmation for it.
	in := steadyInput()
	in.Controls.Confirm, in.Controls.ConfirmedBy = Confirmation{Revision: "v2", Batch: 0}, "erin"
	out := mustPlan(t, in)
	for range 5 {
		in = then(in, out, settled)
		in.Controls.Confirm.Batch = out.Status.Release.Batch
		out = mustPlan(t, in)
	}
	wantPhase(t, out, PhaseCompleted)
	in = then(in, out, settled)
	in.Replicas = 45
	out = mustPlan(t, in)
	if rel := out.Status.Release; len(rel.Batches) == 0 || rel.RequestedBy != "" {
		t.Errorf("scale-out: batches %+v, requestedBy %q; want a scale-out that names no one", rel.Batches, rel.RequestedBy)
	}

	in = steadyInput()
	in.Strategy.Beta = false
	out = mustPlan(t, in)
	in = then(in, out, stillObserved)
	in.Controls.Abort, in.Controls.ConfirmedBy = true, "frank"
	out = mustPlan(t, in)
	if got := out.Status.Release.AbortedBy; got != "frank" {
		t.Errorf("abortedBy %q, want frank", got)
	}
	if ev := out.Events; len(ev) == 0 || !strings.Contains(ev[len(ev)-1].Message, "aborted by frank") {
		t.Errorf("abort event %+v does not name frank", ev)
	}
	// Someone else editing spec.release later does not take the abort over.
	in = then(in, out, settled)
	in.Controls.ConfirmedBy = "grace"
	if got := mustPlan(t, in).Status.Release.AbortedBy; got != "frank" {
		t.Errorf("abortedBy %q after a later edit, want frank", got)
	}
	// Lifting the abort starts the release again, aborted by no one.
	in.Controls.Abort = false
	if got := mustPlan(t, in).Status.Release.AbortedBy; got != "" {
		t.Errorf("abortedBy %q after the abort was lifted, want empty", got)
	}
}
