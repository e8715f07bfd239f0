package release

import "time"

// Input is everything Plan needs: the CafeDeployment's spec, what the shell
// observed of its units, and the Status that Plan returned last time (as
// stored in the object's status).
type Input struct {
	// Now is when the state was observed; Plan reads no clock. Plan keeps
	// whole seconds only, as metav1.Time does, so a stored status reads back
	// exactly as Plan wrote it.
	Now time.Time

	// Replicas is spec.replicas.
	Replicas int32
	// Units is spec.topology.units, in order.
	Units []UnitQuota
	// Strategy is spec.strategy, resolved.
	Strategy Strategy
	// AutoReschedule is spec.topology.autoReschedule.
	AutoReschedule AutoReschedule

	// TargetRevision is the revision of the current spec.template: the one
	// the release moves pods to. A rollback is simply a TargetRevision that
	// names an older revision.
	TargetRevision string
	// Controls are the user's release controls, spec.release.
	Controls Controls

	// Observed is what the shell saw of each unit's pods, matched to Units by
	// name; a unit with no entry has no pods.
	Observed []UnitObservation

	// Previous is the Status from the last Plan, read back from the object;
	// the zero Status for a new CafeDeployment.
	Previous Status
}

// Strategy is spec.strategy with defaults applied and amounts parsed.
type Strategy struct {
	// Beta releases one pod in every unit first and then waits for a
	// confirmation (spec.strategy.type Beta).
	Beta bool
	// BatchSize is spec.strategy.batchSize (a count, or a percentage of
	// Replicas rounded up).
	BatchSize Amount
	// NeedConfirm makes every batch after the first wait for a confirmation.
	NeedConfirm bool
	// Paused stops new batches from starting and, through the InPlaceSets,
	// any further pod change in the batch in progress.
	Paused bool
	// MaxUnavailablePerUnit is spec.strategy.maxUnavailablePerUnit (a count,
	// or a percentage of the unit's replicas rounded down).
	MaxUnavailablePerUnit Amount
	// AllowUnitOutage lets the release change the only pod of a one-replica
	// unit, leaving the unit without a serving pod meanwhile.
	AllowUnitOutage bool
	// ProgressDeadline is how long a batch may take to become available.
	ProgressDeadline time.Duration
	// FailureThreshold is how many failing pods at the release's revision
	// pause the release (a count, or a percentage of the pods the current
	// batch lets reach the revision, rounded up; never below 1).
	FailureThreshold Amount
}

// AutoReschedule is spec.topology.autoReschedule.
type AutoReschedule struct {
	Enabled bool
	// PendingFor is how long a pod must have been unschedulable before its
	// quota moves to another unit (spec.topology.autoReschedule.pendingSeconds).
	PendingFor time.Duration
}

// Controls is spec.release, plus who last wrote the confirmation.
type Controls struct {
	// Confirm is spec.release.confirm; the zero value when unset.
	Confirm Confirmation
	// ConfirmedBy names who wrote Confirm (the shell reads it from the
	// object's managed fields); it is recorded in the batches it approves.
	ConfirmedBy string
	// Abort is spec.release.abort.
	Abort bool
	// Immediate is spec.release.immediate.
	Immediate bool
}

// Confirmation approves the batches of the release to Revision up to and
// including Batch.
type Confirmation struct {
	Revision string
	Batch    int32
}

// UnitObservation is what the shell saw of one unit's pods: all the pods of
// the unit's InPlaceSet that exist and are not terminating.
type UnitObservation struct {
	Name string
	// Replicas counts the unit's pods, pending ones included.
	Replicas int32
	// Ready counts pods that are ready and in traffic.
	Ready int32
	// Available counts pods that have been ready and in traffic for
	// minReadySeconds.
	Available int32
	// Updated counts pods at the target revision.
	Updated int32
	// UpdatedAvailable counts pods at the target revision that are available.
	UpdatedAvailable int32
	// Failing counts pods at the target revision that are failing: crash
	// looping, or not ready long after they were changed.
	Failing int32
	// Unschedulable holds, for every pod the scheduler could not place for
	// lack of room, since when it has been unschedulable.
	Unschedulable []time.Time
	// FreeCapacity is how many more of the workload's pods the unit's nodes
	// can take now.
	FreeCapacity int32
}
