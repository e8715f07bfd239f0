package release

import "time"

// Status is the part of the CafeDeployment status that Plan owns. It is the
// planner's memory: the shell stores it in the object's status and passes it
// back as Input.Previous, so a restarted controller carries on where the last
// one stopped.
type Status struct {
	// StableRevision is status.currentRevision: the revision every pod had
	// when the last release completed; empty until the first one does.
	StableRevision string
	Release        Release
	// Units is status.units (the planner's fields), in spec order.
	Units []UnitState
	// Moves is status.rescheduled: the quota that auto-reschedule has moved
	// between units and not yet given back.
	Moves []QuotaMove
}

// UnitState is what the release has approved for one unit. Its InPlaceSet
// runs Target+Partition replicas: Target pods at the release's revision and
// Partition pods left at whatever revision they have.
type UnitState struct {
	Name string
	// Quota is the unit's share of spec.replicas after quota moves.
	Quota int32
	// Target is how many pods the unit may have at the release's revision
	// until the next batch starts.
	Target int32
	// Partition is how many pods stay at other revisions.
	Partition int32
}

// Phase is where a release stands.
type Phase string

const (
	// PhaseProgressing: a batch is in progress.
	PhaseProgressing Phase = "Progressing"
	// PhaseWaitingForConfirmation: the last batch is complete and the next
	// one waits for spec.release.confirm.
	PhaseWaitingForConfirmation Phase = "WaitingForConfirmation"
	// PhasePaused: no batch starts, because of spec.strategy.paused, the
	// failure threshold, or a one-replica unit that would be left empty.
	PhasePaused Phase = "Paused"
	// PhaseCompleted: every pod runs the release's revision.
	PhaseCompleted Phase = "Completed"
	// PhaseAborted: spec.release.abort stopped the release and sent the pods
	// it had changed back to the stable revision.
	PhaseAborted Phase = "Aborted"
	// PhaseFailed: the current batch missed its progress deadline. The
	// release keeps waiting for it; the phase goes back to Progressing when
	// the batch completes.
	PhaseFailed Phase = "Failed"
)

// Release is status.release.
type Release struct {
	// Revision is the revision the release moves pods to.
	Revision string
	Phase    Phase
	// Batch is the batch in progress or, when the release waits for a
	// confirmation (also after the failure threshold paused it) or for a
	// pause to end, the batch that waits: the one spec.release.confirm must
	// name. With a Beta strategy batch 0 is the Beta batch; other batches
	// count from 1 (from above StaleConfirmBatch).
	Batch int32
	// TotalBatches is the number of the release's last batch as things
	// stand; scaling or quota moves during the release can change it.
	TotalBatches int32
	// WaitingFor says in words what the release waits for; empty when done.
	WaitingFor string
	// BatchStartTime is when the current batch started, or resumed after a
	// pause; the progress deadline counts from it.
	BatchStartTime time.Time
	// StaleConfirmBatch is spec.release.confirm.batch as it stood, for this
	// release's revision, when the release began or when the failure
	// threshold last paused it. Such a confirmation was written before it
	// could count (left from an earlier release to the same revision, or an
	// approval ahead that a failure voided). The batches still to start are
	// numbered above it, so it approves none of them and confirming one of
	// them always writes a new value. Zero when none.
	StaleConfirmBatch int32
	// RequestedBy names who last named the release's revision in
	// spec.release.confirm before it began (Controls.ConfirmedBy then):
	// kubectl cafe rollback does, with batch 0. Empty when no one did, and
	// for a scale-out.
	RequestedBy string
	// AbortedBy names who set spec.release.abort, while the release is
	// aborted.
	AbortedBy string
	// Batches records the batches started so far, in order.
	Batches []BatchRecord
}

// BatchRecord is the history of one batch.
type BatchRecord struct {
	Batch int32
	// Target is how many pods, over all units, are at the release's revision
	// once the batch is complete.
	Target    int32
	StartedAt time.Time
	// ConfirmedBy names who approved the batch, by a confirmation or by
	// asking for the release at once (Controls.Immediate); empty when it
	// needed no approval. ConfirmedAt is when the approval was acted on.
	ConfirmedBy string
	ConfirmedAt time.Time
	// CompletedAt is when every unit first had its target of available pods
	// at the release's revision; zero until then.
	CompletedAt time.Time
	// FailureThresholdReachedAt is when failing pods reached the failure
	// threshold during the batch; zero if they have not. It is reached at
	// most once per batch: after the user resumes, the batch goes on.
	FailureThresholdReachedAt time.Time
}

// QuotaMove is quota that auto-reschedule moved from one unit to another.
type QuotaMove struct {
	From, To string
	// Count is how many pods of quota are still moved.
	Count int32
	// Time is when quota last moved between these units.
	Time time.Time
	// Reason is a CamelCase cause.
	Reason string
}

// MoveReasonUnschedulable: the pods of the unit that gave up the quota could
// not be scheduled for lack of room.
const MoveReasonUnschedulable = "Unschedulable"
