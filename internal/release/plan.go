package release

import (
	"fmt"
	"math"
	"time"
)

// Plan decides the next step of a CafeDeployment's release: the spec of every
// unit's InPlaceSet, the new release status, the conditions and the events.
// It is pure: the same Input always gives the same Output, and feeding the
// Output's Status back with unchanged observations changes nothing more, so
// a controller killed at any point resumes safely. The package documentation
// describes the rules.
//
// The error reports a spec that the API's validation rules out (duplicate
// unit names, quotas out of range); there is then nothing safe to plan.
func Plan(in Input) (Output, error) {
	base, err := SplitReplicas(in.Replicas, in.Units)
	if err != nil {
		return Output{}, err
	}
	p := newPlanner(&in, base)
	p.reschedule()
	if p.aborting() {
		p.abort()
	} else {
		p.progress()
	}
	return p.output(), nil
}

// planner carries one Plan call's working state. Slices are indexed like
// Input.Units.
type planner struct {
	in  *Input
	now time.Time

	names []string
	index map[string]int
	obs   []UnitObservation

	quota []int32
	state []unitState
	moves []QuotaMove

	// fresh is set when this Plan begins a release to a new revision, or
	// restarts the release after an abort was lifted.
	fresh     bool
	prevPhase Phase
	rel       Release
	stable    string
	// revision is the revision the InPlaceSets run: the target, or the
	// stable revision while an abort rolls pods back.
	revision string
	// reason explains a Paused or Aborted phase.
	reason string

	events  []Event
	recheck time.Duration
}

func newPlanner(in *Input, base []int32) *planner {
	p := &planner{
		in:     in,
		now:    in.Now.Truncate(time.Second),
		names:  make([]string, len(in.Units)),
		index:  make(map[string]int, len(in.Units)),
		obs:    make([]UnitObservation, len(in.Units)),
		state:  make([]unitState, len(in.Units)),
		stable: in.Previous.StableRevision,
	}
	for i, u := range in.Units {
		p.names[i] = u.Name
		p.index[u.Name] = i
		p.obs[i].Name = u.Name
	}
	for _, o := range in.Observed {
		if i, ok := p.index[o.Name]; ok {
			p.obs[i] = o
		}
	}
	p.keepMoves(in.Previous.Moves, base)

	prev := in.Previous.Release
	p.fresh = prev.Revision != in.TargetRevision || prev.Phase == PhaseAborted && !in.Controls.Abort
	p.prevPhase = prev.Phase
	p.rel = prev
	p.rel.Batches = append([]BatchRecord(nil), prev.Batches...)

	previous := make(map[string]UnitState, len(in.Previous.Units))
	for _, u := range in.Previous.Units {
		previous[u.Name] = u
	}
	for i, name := range p.names {
		u, known := previous[name]
		switch {
		case known && !p.fresh:
			p.state[i] = unitState{target: u.Target, partition: u.Partition}
		case known:
			// A new release starts from the pods' real state: pods already at
			// the new revision (a rollback finds most of them there) are done.
			p.state[i] = observedState(u.Target+u.Partition, p.obs[i].Updated)
		default:
			p.state[i] = observedState(p.obs[i].Replicas, p.obs[i].Updated)
		}
		p.state[i] = p.state[i].fitTo(p.quota[i])
	}
	return p
}

// aborting tells whether spec.release.abort has something to stop: a release
// in progress, or one that would start now.
func (p *planner) aborting() bool {
	if !p.in.Controls.Abort {
		return false
	}
	return p.fresh || p.rel.Phase != PhaseCompleted || p.totalWork() > 0
}

// abort freezes the release and, when there is an earlier revision, sends
// every unit back to it at once: the InPlaceSets get the stable template with
// partition 0, so the pods the release changed change back and no other pod
// is touched. The release restarts from the pods' real state once the user
// lifts the abort.
func (p *planner) abort() {
	if p.fresh {
		p.rel = Release{Revision: p.in.TargetRevision}
	}
	p.revision = p.in.TargetRevision
	if p.stable != "" && p.stable != p.in.TargetRevision {
		p.revision = p.stable
		for i := range p.state {
			p.state[i] = unitState{target: p.state[i].replicas()}
		}
	}
	p.rel.Phase = PhaseAborted
	p.reason = ReasonReleaseAborted
	p.rel.WaitingFor = p.waitingFor()
	if p.fresh || p.prevPhase != PhaseAborted {
		p.rel.AbortedBy = p.in.Controls.ConfirmedBy
		by := ""
		if p.rel.AbortedBy != "" {
			by = " by " + p.rel.AbortedBy
		}
		p.event(EventWarning, ReasonReleaseAborted, fmt.Sprintf("release of revision %s aborted%s: %s", p.in.TargetRevision, by, p.rel.WaitingFor))
	}
}

// progress moves the release on: it records a completed batch, checks the
// failure threshold, and then either completes the release, holds it, or
// starts the next batch.
func (p *planner) progress() {
	in := p.in
	p.revision = in.TargetRevision
	switch {
	case p.fresh:
		p.beginRelease(in.Strategy.Beta)
		// A new revision's release was asked for by whoever named it in
		// spec.release before it began (kubectl cafe rollback does); a
		// scale-out below was asked for by whoever scaled, unknown here.
		if in.Controls.Confirm.Revision == in.TargetRevision {
			p.rel.RequestedBy = in.Controls.ConfirmedBy
		}
		if p.totalWork() > 0 {
			p.event(EventNormal, ReasonReleaseStarted, fmt.Sprintf("release of revision %s started: %d pods to change or create",
				in.TargetRevision, p.totalWork()))
		}
	case p.rel.Phase == PhaseCompleted && p.totalWork() > 0:
		p.beginRelease(false)
		p.event(EventNormal, ReasonScaleOutStarted, fmt.Sprintf("scale-out of revision %s started: %d pods to create",
			in.TargetRevision, p.totalWork()))
	}

	// A batch can be available the moment it starts (its pods were already
	// at the revision): go on until nothing more can happen now, so that
	// planning again from the stored status decides nothing new.
	for p.step() {
	}
	p.countBatches()
	p.rel.WaitingFor = p.waitingFor()
	p.phaseEvents()
}

// step records the current batch's completion, checks the failure
// threshold, and then completes the release, holds it, waits, or starts the
// next batch. It reports whether it started one.
func (p *planner) step() bool {
	in := p.in
	cur := p.current()
	if cur != nil && cur.CompletedAt.IsZero() && p.batchAvailable() {
		cur.CompletedAt = p.now
	}
	batchDone := cur == nil || !cur.CompletedAt.IsZero()
	if p.totalWork() > 0 || !batchDone {
		p.checkFailures(cur)
	}

	immediate := in.Controls.Immediate
	switch {
	case p.totalWork() == 0 && batchDone:
		p.complete()
	case in.Strategy.Paused:
		p.hold(ReasonPaused)
	case p.stoppedByFailures(cur):
		p.hold(ReasonFailureThresholdReached)
	case !batchDone && !(immediate && p.openWork() > 0):
		p.batchInProgress()
	case p.openWork() == 0:
		p.hold(ReasonUnitWouldBeEmpty)
	default:
		next := p.nextBatch()
		needsConfirmation := cur != nil && !immediate &&
			(cur.Batch == 0 || in.Strategy.NeedConfirm || !cur.FailureThresholdReachedAt.IsZero())
		if needsConfirmation && !p.approved(next) {
			p.rel.Phase = PhaseWaitingForConfirmation
			return false
		}
		p.startBatch(next, needsConfirmation)
		return true
	}
	return false
}

// beginRelease starts the bookkeeping of a new release. A confirmation the
// spec already holds for the revision cannot be for this release: the
// release's batches are numbered above it, so that it approves none of them
// and confirming one of them always writes a new value.
func (p *planner) beginRelease(beta bool) {
	p.rel = Release{Revision: p.in.TargetRevision, Phase: PhaseProgressing}
	if c := p.in.Controls.Confirm; c.Revision == p.rel.Revision {
		p.rel.StaleConfirmBatch = max(c.Batch, 0)
	}
	p.rel.Batch = p.rel.StaleConfirmBatch + 1
	if beta {
		p.rel.Batch = 0
	}
	p.prevPhase = PhaseProgressing
}

// nextBatch is the number of the batch to start next: the Beta batch (0)
// first if the release has one, then the batch after the last one started,
// but always above StaleConfirmBatch.
func (p *planner) nextBatch() int32 {
	cur, above := p.current(), p.rel.StaleConfirmBatch+1
	switch {
	case cur == nil && p.rel.Batch == 0 && !p.in.Controls.Immediate:
		return 0
	case cur == nil:
		return above
	default:
		return max(cur.Batch+1, above)
	}
}

// approved tells whether the user has confirmed batch n of this release.
func (p *planner) approved(n int32) bool {
	c := p.in.Controls.Confirm
	return c.Revision == p.rel.Revision && c.Batch >= n
}

func (p *planner) current() *BatchRecord {
	if len(p.rel.Batches) == 0 {
		return nil
	}
	return &p.rel.Batches[len(p.rel.Batches)-1]
}

// batchAvailable tells whether every unit has as many available pods at the
// revision as the current batch allows it.
func (p *planner) batchAvailable() bool {
	for i, s := range p.state {
		if p.obs[i].UpdatedAvailable < s.target {
			return false
		}
	}
	return true
}

// checkFailures pauses the release once failing pods at the revision reach
// the failure threshold, at most once per batch. The confirmation in the spec
// at that moment turns stale (the batches still to start are numbered above
// it), so that only a new one resumes the release.
func (p *planner) checkFailures(cur *BatchRecord) {
	if cur == nil || !cur.FailureThresholdReachedAt.IsZero() || p.in.Controls.Immediate {
		return
	}
	failing, threshold := p.failing(), p.failureThreshold(cur)
	if failing < threshold {
		return
	}
	cur.FailureThresholdReachedAt = p.now
	if c := p.in.Controls.Confirm; c.Revision == p.rel.Revision {
		p.rel.StaleConfirmBatch = max(p.rel.StaleConfirmBatch, c.Batch)
	}
	p.event(EventWarning, ReasonFailureThresholdReached, fmt.Sprintf(
		"%d pods at revision %s are failing in batch %d (threshold %d): the release is paused", failing, p.rel.Revision, cur.Batch, threshold))
}

func (p *planner) failing() int32 {
	var n int32
	for _, o := range p.obs {
		n += o.Failing
	}
	return n
}

func (p *planner) failureThreshold(cur *BatchRecord) int32 {
	return max(p.in.Strategy.FailureThreshold.of(cur.Target, true), 1)
}

// stoppedByFailures tells whether the failure threshold holds the release:
// it does, while there is a batch left to start, until the user confirms that
// batch or asks for an immediate release.
func (p *planner) stoppedByFailures(cur *BatchRecord) bool {
	return cur != nil && !cur.FailureThresholdReachedAt.IsZero() && p.openWork() > 0 &&
		!p.in.Controls.Immediate && !p.approved(p.nextBatch())
}

// startBatch lets the next batch's pods reach the revision.
func (p *planner) startBatch(n int32, confirmed bool) {
	spec := BatchSpec{Beta: n == 0, Size: p.batchSize()}
	if p.in.Controls.Immediate {
		spec = BatchSpec{Size: math.MaxInt32}
	}
	step := cut(p.openWorkByUnit(), spec, 1)[0]
	for i, k := range step {
		p.state[i] = p.state[i].advance(k, p.quota[i])
	}
	record := BatchRecord{Batch: n, Target: p.totalTarget(), StartedAt: p.now}
	if confirmed || p.in.Controls.Immediate {
		record.ConfirmedBy, record.ConfirmedAt = p.in.Controls.ConfirmedBy, p.now
	}
	p.rel.Batches = append(p.rel.Batches, record)
	p.rel.Batch = n
	p.rel.BatchStartTime = p.now
	p.rel.Phase = PhaseProgressing
	p.recheckIn(p.in.Strategy.ProgressDeadline)
}

// batchInProgress waits for the current batch, minding its deadline. A
// release resumed from a pause gets its deadline counted from the resume.
func (p *planner) batchInProgress() {
	if p.prevPhase == PhasePaused {
		p.rel.BatchStartTime = p.now
	}
	elapsed := max(p.now.Sub(p.rel.BatchStartTime), 0)
	deadline := p.in.Strategy.ProgressDeadline
	if elapsed >= deadline {
		p.rel.Phase = PhaseFailed
		return
	}
	p.rel.Phase = PhaseProgressing
	p.recheckIn(deadline - elapsed)
}

func (p *planner) hold(reason string) {
	p.rel.Phase = PhasePaused
	p.reason = reason
}

func (p *planner) complete() {
	p.rel.Phase = PhaseCompleted
	p.stable = p.rel.Revision
}

// countBatches sets the release's batch numbers as things stand. Batch is
// the batch in progress, or, when the release waits for a confirmation (also
// after a failure), the batch that waits: the one a confirmation must name.
// TotalBatches is the number the last batch will have.
func (p *planner) countBatches() {
	cur := p.current()
	if p.rel.Phase == PhaseCompleted {
		p.rel.Batch, p.rel.TotalBatches = 0, 0
		if cur != nil {
			p.rel.Batch, p.rel.TotalBatches = cur.Batch, cur.Batch
		}
		return
	}
	next, work := p.nextBatch(), p.workByUnit()
	var left int32
	switch {
	case p.in.Controls.Immediate:
		left = min(batchCount(work, BatchSpec{Size: 1}), 1)
	case next == 0:
		// The Beta batch, then batches numbered on above the stale
		// confirmation.
		left = batchCount(work, BatchSpec{Beta: true, Size: p.batchSize()})
		next = p.rel.StaleConfirmBatch + 1
		left--
		if left == 0 {
			p.rel.Batch, p.rel.TotalBatches = 0, 0
			return
		}
	default:
		left = batchCount(work, BatchSpec{Size: p.batchSize()})
	}
	inProgress := cur != nil && cur.CompletedAt.IsZero() && p.rel.Phase != PhaseWaitingForConfirmation &&
		p.reason != ReasonFailureThresholdReached
	switch {
	case left == 0:
		p.rel.Batch, p.rel.TotalBatches = cur.Batch, cur.Batch
	case inProgress:
		p.rel.Batch, p.rel.TotalBatches = cur.Batch, next+left-1
	default:
		p.rel.Batch, p.rel.TotalBatches = p.nextBatch(), next+left-1
	}
}

func (p *planner) batchSize() int32 { return BatchSize(p.in.Strategy.BatchSize, p.in.Replicas) }

// phaseEvents reports the phase changes that no other step reported.
func (p *planner) phaseEvents() {
	from, to := p.prevPhase, p.rel.Phase
	if from == to {
		return
	}
	switch {
	case to == PhaseCompleted:
		p.event(EventNormal, ReasonReleaseCompleted, fmt.Sprintf("release of revision %s completed: %d pods", p.rel.Revision, p.totalTarget()))
	case to == PhaseWaitingForConfirmation:
		p.event(EventNormal, ReasonAwaitingConfirmation, p.rel.WaitingFor)
	case to == PhaseFailed:
		p.event(EventWarning, ReasonProgressDeadlineExceeded, fmt.Sprintf("batch %d has run past its progress deadline of %s",
			p.rel.Batch, seconds(p.in.Strategy.ProgressDeadline)))
	case to == PhasePaused && p.reason != ReasonFailureThresholdReached:
		p.event(EventNormal, ReasonReleasePaused, "release paused: waiting for "+p.rel.WaitingFor)
	case from == PhasePaused:
		p.event(EventNormal, ReasonReleaseResumed, fmt.Sprintf("release of revision %s resumed", p.rel.Revision))
	}
}

func (p *planner) totalWork() int32 {
	var n int32
	for i, s := range p.state {
		n += s.work(p.quota[i])
	}
	return n
}

func (p *planner) totalTarget() int32 {
	var n int32
	for _, s := range p.state {
		n += s.target
	}
	return n
}

func (p *planner) workByUnit() []int32 {
	work := make([]int32, len(p.state))
	for i, s := range p.state {
		work[i] = s.work(p.quota[i])
	}
	return work
}

// openWorkByUnit is the work batches may take now: a one-replica unit whose
// only pod would have to change waits for spec.strategy.allowUnitOutage.
func (p *planner) openWorkByUnit() []int32 {
	work := p.workByUnit()
	for i, s := range p.state {
		if !p.in.Strategy.AllowUnitOutage && s.oneReplicaUpgrade(p.quota[i]) {
			work[i] = 0
		}
	}
	return work
}

func (p *planner) openWork() int32 {
	var n int32
	for _, w := range p.openWorkByUnit() {
		n += w
	}
	return n
}

func (p *planner) event(kind, reason, message string) {
	p.events = append(p.events, Event{Type: kind, Reason: reason, Message: message})
}

// recheckIn asks for a new Plan after d, keeping the earliest such request.
func (p *planner) recheckIn(d time.Duration) {
	if d > 0 && (p.recheck == 0 || d < p.recheck) {
		p.recheck = d
	}
}

func (p *planner) output() Output {
	out := Output{
		Status: Status{
			StableRevision: p.stable,
			Release:        p.rel,
			Units:          make([]UnitState, len(p.names)),
			Moves:          p.moves,
		},
		Units:        make([]UnitPlan, len(p.names)),
		Events:       p.events,
		RecheckAfter: p.recheck,
	}
	for i, s := range p.state {
		out.Status.Units[i] = UnitState{Name: p.names[i], Quota: p.quota[i], Target: s.target, Partition: s.partition}
		out.Units[i] = UnitPlan{
			Name:           p.names[i],
			Revision:       p.revision,
			Replicas:       s.replicas(),
			Partition:      s.partition,
			MaxUnavailable: maxUnavailable(p.in.Strategy.MaxUnavailablePerUnit, s.replicas()),
			AllowEmpty:     p.in.Strategy.AllowUnitOutage,
			Paused:         p.in.Strategy.Paused && p.rel.Phase != PhaseAborted,
		}
	}
	out.Conditions = p.conditions()
	return out
}
