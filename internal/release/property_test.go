package release

import (
	"fmt"
	"math/rand"
	"reflect"
	"testing"
	"time"
)

// simPod is a pod of the simulated world.
type simPod struct {
	id       int
	revision string
	ready    bool
	// failing is how many more steps the pod stays failing.
	failing int
}

// simWorld plays the InPlaceSets, the pods and the user around Plan.
type simWorld struct {
	t    *testing.T
	rng  *rand.Rand
	in   Input
	pods [][]*simPod
	next int
	step int

	// changes counts, per pod and revision, how often the world moved the
	// pod to that revision since the current release began.
	changes map[string]int
	// releaseStep is the step at which the current release began.
	releaseStep int
	// writes are the user's confirmations with the step they were written.
	writes []confirmWrite
	// last is the last Output whose status was stored.
	last Output
	// announced counts the batch events sent, by key.
	announced map[string]int
}

type confirmWrite struct {
	step int
	c    Confirmation
}

func TestPlanPropertiesInSimulatedClusters(t *testing.T) {
	seed := testSeed(t)
	rng := rand.New(rand.NewSource(seed))
	for run := range 300 {
		w := newSimWorld(t, rand.New(rand.NewSource(rng.Int63())))
		if !w.run() {
			t.Fatalf("run %d (seed %d): release did not complete; last status %+v", run, seed, w.last.Status.Release)
		}
	}
}

func newSimWorld(t *testing.T, rng *rand.Rand) *simWorld {
	w := &simWorld{t: t, rng: rng, changes: map[string]int{}, announced: map[string]int{}}
	n := 1 + rng.Intn(6)
	in := Input{Now: t0, TargetRevision: "v2"}
	for i := range n {
		size := int32(rng.Intn(51))
		in.Units = append(in.Units, UnitQuota{Name: fmt.Sprintf("u%d", i), Quota: q(Pods(size))})
		in.Replicas += size
	}
	in.Strategy = Strategy{
		Beta:                  rng.Intn(2) == 0,
		BatchSize:             Pods(int32(1 + rng.Intn(20))),
		NeedConfirm:           rng.Intn(2) == 0,
		MaxUnavailablePerUnit: Percent(int32(1 + rng.Intn(100))),
		AllowUnitOutage:       rng.Intn(2) == 0,
		ProgressDeadline:      time.Duration(5+rng.Intn(60)) * time.Second,
		FailureThreshold:      Pods(int32(1 + rng.Intn(3))),
	}
	if rng.Intn(2) == 0 {
		in.Strategy.BatchSize = Percent(int32(1 + rng.Intn(100)))
	}
	w.pods = make([][]*simPod, n)
	if rng.Intn(2) == 0 {
		// An existing workload at v1, released to v2.
		in.Previous = Status{StableRevision: "v1", Release: Release{Revision: "v1", Phase: PhaseCompleted}}
		for i, u := range in.Units {
			in.Previous.Units = append(in.Previous.Units, UnitState{Name: u.Name, Quota: u.Quota.Value, Target: u.Quota.Value})
			for range u.Quota.Value {
				w.pods[i] = append(w.pods[i], w.newPod("v1", true))
			}
		}
	}
	w.in = in
	w.in.Observed = w.observe()
	return w
}

func (w *simWorld) newPod(revision string, ready bool) *simPod {
	w.next++
	return &simPod{id: w.next, revision: revision, ready: ready}
}

// run plays a chaotic phase, where the user pauses, aborts, rolls back and
// pods fail, then a calm one, where the user only answers what the release
// waits for. It reports whether the release completed in bounded steps.
func (w *simWorld) run() bool {
	const chaos, bound = 150, 6000
	for w.step = 0; w.step < bound; w.step++ {
		calm := w.step >= chaos
		if w.step == chaos {
			// Most calm phases go batch by batch.
			w.in.Controls.Immediate = w.rng.Intn(4) == 0
		}
		out := mustPlan(w.t, w.in)
		w.check(out)
		// The shell stores the status first, then writes the InPlaceSets;
		// a crash in between loses the InPlaceSet writes.
		w.in.Previous = out.Status
		w.last = out
		if calm || w.rng.Intn(50) != 0 {
			w.apply(out)
		}
		w.settle(calm)
		if calm && out.Status.Release.Phase == PhaseCompleted && w.allDone(out) {
			return true
		}
		w.user(out, calm)
		w.in.Observed = w.observe()
		w.in.Now = w.in.Now.Add(time.Second)
	}
	return false
}

// check asserts the planner's invariants on one Output.
func (w *simWorld) check(out Output) {
	t, in := w.t, w.in
	rel := out.Status.Release
	prev := w.last.Status
	newRelease := w.step == 0 || rel.Revision != prev.Release.Revision ||
		(rel.Phase == PhaseAborted) != (prev.Release.Phase == PhaseAborted) ||
		len(rel.Batches) > 0 && len(prev.Release.Batches) > 0 && rel.Batches[0].StartedAt != prev.Release.Batches[0].StartedAt
	if newRelease {
		w.releaseStep = w.step
		clear(w.changes)
	}

	for i, u := range out.Units {
		s := out.Status.Units[i]
		if u.Replicas < 0 || u.Partition < 0 || s.Target < 0 || u.Replicas != s.Target+s.Partition {
			t.Fatalf("step %d unit %s: plan %+v, state %+v", w.step, u.Name, u, s)
		}
		if u.MaxUnavailable < 1 || u.MaxUnavailable > max(u.Replicas-1, 1) {
			t.Fatalf("step %d unit %s: maxUnavailable %d for %d replicas", w.step, u.Name, u.MaxUnavailable, u.Replicas)
		}
		// Within one release a unit's approved target never goes down:
		// a pod the release changed is never changed back and again.
		if !newRelease && rel.Phase != PhaseAborted && s.Target < prev.Units[i].Target {
			t.Fatalf("step %d unit %s: target went down from %d to %d", w.step, u.Name, prev.Units[i].Target, s.Target)
		}
	}
	// A controller restarted right after storing the status, seeing the same
	// world, decides nothing new: same status, same InPlaceSets, no events.
	again := in
	again.Previous = out.Status
	replay := mustPlan(t, again)
	if !reflect.DeepEqual(replay.Status, out.Status) || !reflect.DeepEqual(replay.Units, out.Units) || len(replay.Events) > 0 {
		t.Fatalf("step %d: planning again from the stored status changes things:\n%+v\n%+v\nevents %+v",
			w.step, out.Status, replay.Status, replay.Events)
	}
	w.checkAnnouncements(out, newRelease)
	if rel.Phase == PhaseCompleted && out.Status.StableRevision != in.TargetRevision {
		t.Fatalf("step %d: completed, but stable revision %q, target %q", w.step, out.Status.StableRevision, in.TargetRevision)
	}
	for k := 1; k < len(rel.Batches); k++ {
		if rel.Batches[k].Batch <= rel.Batches[k-1].Batch {
			t.Fatalf("step %d: batch numbers %+v do not increase", w.step, rel.Batches)
		}
	}
	// A batch starts above the confirmation that was stale before this plan.
	stale := prev.Release.StaleConfirmBatch
	if newRelease {
		stale = 0
		if c := in.Controls.Confirm; c.Revision == rel.Revision {
			stale = c.Batch
		}
	}
	if n := len(rel.Batches); n > 0 && rel.Batches[n-1].StartedAt == in.Now && rel.Batches[n-1].Batch != 0 &&
		rel.Batches[n-1].Batch <= stale {
		t.Fatalf("step %d: batch %d started at or below the stale confirmation %d", w.step, rel.Batches[n-1].Batch, stale)
	}
	if rel.Phase != PhaseCompleted && rel.Phase != PhaseAborted && rel.TotalBatches < rel.Batch {
		t.Fatalf("step %d: batch %d of %d", w.step, rel.Batch, rel.TotalBatches)
	}
	// A batch that needed a confirmation started only after the user wrote
	// one for it during this release (and after a failure pause, if any).
	if n := len(rel.Batches); n > 1 && rel.Batches[n-1].StartedAt == in.Now && !in.Controls.Immediate {
		started, before := rel.Batches[n-1], rel.Batches[n-2]
		if before.Batch == 0 || in.Strategy.NeedConfirm || !before.FailureThresholdReachedAt.IsZero() {
			if !w.confirmedDuringRelease(rel.Revision, started.Batch, before) {
				t.Fatalf("step %d: batch %d started without a confirmation written for it (writes %+v)", w.step, started.Batch, w.writes)
			}
		}
	}
}

// checkAnnouncements sends the batch events of one stored status, as the
// shell does, and asserts that every batch's start (and completion, once
// there) is announced exactly once. Within a release a batch keeps its start
// time, which the events' keys depend on.
func (w *simWorld) checkAnnouncements(out Output, newRelease bool) {
	rel := out.Status.Release
	if prev := w.last.Status.Release.Batches; !newRelease {
		for i := range min(len(prev), len(rel.Batches)) {
			if prev[i].Batch != rel.Batches[i].Batch || !prev[i].StartedAt.Equal(rel.Batches[i].StartedAt) {
				w.t.Fatalf("step %d: batch %+v became %+v within one release", w.step, prev[i], rel.Batches[i])
			}
		}
	}
	for _, ev := range BatchEvents(rel.Revision, w.last.Status.Release.Batches, rel.Batches) {
		if w.announced[ev.Key]++; w.announced[ev.Key] > 1 {
			w.t.Fatalf("step %d: %s announced twice: %s", w.step, ev.Reason, ev.Message)
		}
	}
	for _, b := range rel.Batches {
		if w.announced[keyed(rel.Revision, b, ReasonBatchStarted, "").Key] != 1 {
			w.t.Fatalf("step %d: the start of batch %+v was not announced", w.step, b)
		}
		if !b.CompletedAt.IsZero() && w.announced[keyed(rel.Revision, b, ReasonBatchCompleted, "").Key] != 1 {
			w.t.Fatalf("step %d: the completion of batch %+v was not announced", w.step, b)
		}
	}
}

func (w *simWorld) confirmedDuringRelease(revision string, batch int32, before BatchRecord) bool {
	for _, wr := range w.writes {
		after := wr.step >= w.releaseStep
		if !before.FailureThresholdReachedAt.IsZero() {
			after = wr.step >= w.stepAt(before.FailureThresholdReachedAt)
		}
		if after && wr.c.Revision == revision && wr.c.Batch >= batch {
			return true
		}
	}
	return false
}

// stepAt converts a time stamped by Plan back to the step that made it.
func (w *simWorld) stepAt(at time.Time) int { return int(at.Sub(t0) / time.Second) }

// apply plays the InPlaceSets: scale, create and change pods as the plan
// says, never more than maxUnavailable not-ready pods at once, never moving
// a pod at the plan's revision elsewhere.
func (w *simWorld) apply(out Output) {
	for i, u := range out.Units {
		pods := w.pods[i]
		for len(pods) > int(u.Replicas) {
			k := w.rng.Intn(len(pods))
			pods = append(pods[:k], pods[k+1:]...)
		}
		want := int(u.Replicas - u.Partition)
		at := 0
		for _, p := range pods {
			if p.revision == u.Revision {
				at++
			}
		}
		for len(pods) < int(u.Replicas) {
			revision := u.Revision
			if at >= want && out.Status.StableRevision != "" {
				revision = out.Status.StableRevision
			}
			if revision == u.Revision {
				at++
			}
			pods = append(pods, w.newPod(revision, false))
		}
		unavailable := 0
		var old []*simPod
		for _, p := range pods {
			if !p.ready {
				unavailable++
			}
			if p.revision != u.Revision {
				old = append(old, p)
			}
		}
		w.rng.Shuffle(len(old), func(a, b int) { old[a], old[b] = old[b], old[a] })
		for _, p := range old {
			if at >= want || unavailable >= int(u.MaxUnavailable) {
				break
			}
			if p.ready {
				unavailable++
			}
			p.revision, p.ready = u.Revision, false
			at++
			key := fmt.Sprintf("%d@%s", p.id, u.Revision)
			w.changes[key]++
			if w.changes[key] > 1 {
				w.t.Fatalf("step %d: pod %d moved to %s twice in one release", w.step, p.id, u.Revision)
			}
		}
		w.pods[i] = pods
	}
}

// settle makes pods ready at random, and in the chaotic phase makes some
// pods at the target revision fail for a while.
func (w *simWorld) settle(calm bool) {
	for _, pods := range w.pods {
		for _, p := range pods {
			switch {
			case p.failing > 0:
				p.failing--
			case !p.ready && w.rng.Intn(2) == 0:
				p.ready = true
			case !calm && p.ready && p.revision == w.in.TargetRevision && w.rng.Intn(200) == 0:
				p.ready, p.failing = false, 1+w.rng.Intn(5)
			}
		}
	}
}

func (w *simWorld) observe() []UnitObservation {
	obs := make([]UnitObservation, len(w.pods))
	for i, pods := range w.pods {
		o := UnitObservation{Name: w.in.Units[i].Name, Replicas: int32(len(pods))}
		for _, p := range pods {
			at := p.revision == w.in.TargetRevision
			if p.ready {
				o.Ready++
				o.Available++
				if at {
					o.UpdatedAvailable++
				}
			}
			if at {
				o.Updated++
				if p.failing > 0 {
					o.Failing++
				}
			}
		}
		obs[i] = o
	}
	return obs
}

// user answers what the release waits for, at random in the chaotic phase
// (where it also pauses, aborts, rolls back and asks for immediate) and
// always in the calm one.
func (w *simWorld) user(out Output, calm bool) {
	rel := out.Status.Release
	c := &w.in.Controls
	s := &w.in.Strategy
	answer := calm || w.rng.Intn(3) == 0
	if answer {
		switch {
		case c.Abort:
			c.Abort = false
		case s.Paused:
			s.Paused = false
		case rel.Phase == PhaseWaitingForConfirmation || rel.Phase == PhasePaused && w.reason(out) == ReasonFailureThresholdReached:
			batch := rel.Batch
			if !calm {
				batch += int32(w.rng.Intn(3)) // sometimes approve ahead
			}
			w.confirm(rel.Revision, batch)
		case rel.Phase == PhasePaused && w.reason(out) == ReasonUnitWouldBeEmpty:
			s.AllowUnitOutage = true
		}
	}
	if calm {
		return
	}
	switch w.rng.Intn(60) {
	case 0:
		s.Paused = true
	case 1:
		c.Abort = true
	case 2:
		// Roll back, or forward again: the template names another revision.
		if w.in.TargetRevision == "v2" {
			w.in.TargetRevision = "v1"
		} else {
			w.in.TargetRevision = "v2"
		}
	case 3:
		c.Immediate = !c.Immediate
	case 4:
		// A stray confirmation, for the current revision or another.
		w.confirm([]string{"v1", "v2"}[w.rng.Intn(2)], int32(w.rng.Intn(4)))
	}
}

func (w *simWorld) confirm(revision string, batch int32) {
	w.in.Controls.Confirm = Confirmation{Revision: revision, Batch: batch}
	w.in.Controls.ConfirmedBy = "sim"
	w.writes = append(w.writes, confirmWrite{step: w.step, c: w.in.Controls.Confirm})
}

func (w *simWorld) reason(out Output) string {
	for _, c := range out.Conditions {
		if c.Type == ConditionReleasePaused {
			return c.Reason
		}
	}
	return ""
}

// allDone tells whether every unit runs its quota of ready pods at the
// target revision.
func (w *simWorld) allDone(out Output) bool {
	for i, pods := range w.pods {
		if int32(len(pods)) != out.Status.Units[i].Quota {
			return false
		}
		for _, p := range pods {
			if p.revision != w.in.TargetRevision || !p.ready {
				return false
			}
		}
	}
	return true
}
