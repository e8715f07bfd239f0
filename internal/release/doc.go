// Package release plans CafeDeployment releases: how replicas divide among
// deployment units, how a release is cut into batches, and, for the state the
// controller observes, what every unit's InPlaceSet should run now.
//
// The package is pure. It calls no API and reads no clock (time is an
// input), and it knows nothing of the apps.cafe.dev API types: the controller
// (the "shell") translates a CafeDeployment and its units into an Input and
// calls Plan. It must then store Output.Status in the object's status first,
// and only then write the InPlaceSets and record the events. The stored
// status is the planner's memory: Plan recomputes the same InPlaceSet specs
// from it, so a controller killed after the status write finishes the job on
// its next run, whereas InPlaceSets changed by a plan whose status was lost
// could be changed back and forth.
//
// # Quotas
//
// SplitReplicas divides spec.replicas: fixed counts as written, percentages
// rounded down, the rest evenly over the units without a quota, remainder to
// the first units. When spec.replicas falls below what the quotas ask for (an
// HPA scaled down), nothing is refused: the quotas shrink in proportion.
//
// # Units and partitions
//
// For each unit the planner keeps, in status, the number of pods the release
// allows at its revision (Target) and the number held at other revisions
// (Partition). The unit's InPlaceSet runs Target+Partition replicas with the
// release's template and that partition; it changes only pods above its
// partition and never moves a pod back when the partition rises. Raising a
// target lowers the partition (changing held pods) or raises replicas
// (creating pods, which comes first); scaling in removes held pods first.
//
// # Batches
//
// A release starts when the template's revision changes. It starts from the
// pods' real state: pods already at the new revision are done, which makes a
// rollback (a template back at an older revision) from the middle of a batch
// change only the pods that need it, and never one pod twice for a revision.
// Raising replicas on a completed release starts a scale-out: the new pods
// are created in the same batches, behind the same confirmations.
//
// The remaining work is cut into batches (see Batches): each batch shares
// batchSize pods (a percentage of spec.replicas rounded up) among the units
// by largest remainder of what each unit has left. With the Beta strategy
// the first batch, numbered 0, is one pod in every unit; other batches count
// from 1. The first batch starts at once: the template change is its
// approval. A batch is complete when every unit has its target of pods at the
// revision available. The next batch then starts by itself, except that the
// batch after the Beta batch always waits for a confirmation, and with
// needConfirm every later batch does.
//
// A confirmation is spec.release.confirm {revision, batch}: it approves the
// batches of the release to that revision up to and including that batch, so
// one confirmation can approve several. Release.Batch names the batch that
// waits. The planner records who confirmed (Controls.ConfirmedBy) in each
// batch it approved. A confirmation for another revision is ignored. One that
// the spec already holds for the revision when a release begins is left from
// an earlier release to it (before a rollback and roll forward, or before a
// scale-out): the release numbers its batches above it
// (Release.StaleConfirmBatch), so it approves none of them, and confirming
// one of them always writes a new value that the controller can see.
//
// # Holding and stopping
//
//   - spec.strategy.paused keeps the next batch from starting, and pauses
//     the InPlaceSets (UnitPlan.Paused), which start no further pod change
//     in the batch in progress: the release freezes where it is. Partitions
//     do not move. The progress deadline is counted again from the resume.
//     An abort is not held by the pause.
//   - When failing pods at the revision (UnitObservation.Failing) reach the
//     failure threshold (default 1), the release pauses with reason
//     FailureThresholdReached: the confirmation in the spec at that moment
//     turns stale, and the release goes on when the user confirms the next
//     batch, asks for immediate, or changes the template. The threshold fires
//     once per batch and counts every failing pod at the revision, those of
//     earlier batches too: while pods keep failing, every batch waits for a
//     confirmation. It holds nothing when no batch is left to start.
//   - A batch that is not available within the progress deadline puts the
//     release in phase Failed with condition ProgressDeadlineExceeded naming
//     the batch; the release keeps waiting and goes on if the batch completes.
//   - A one-replica unit whose only pod would change waits, with reason
//     UnitWouldBeEmpty, until spec.strategy.allowUnitOutage allows it; the
//     other units go on meanwhile.
//   - spec.release.abort freezes the release and sends every unit back to the
//     stable revision at once (stable template, partition 0), which changes
//     back exactly the pods the release changed. Lifting the abort restarts
//     the release from the pods' real state. With no earlier revision (the
//     first release) the abort only freezes.
//   - spec.release.immediate releases all remaining work as one batch, with
//     no Beta batch, no confirmation and no failure threshold; a batch in
//     progress is superseded. Pause and abort still apply.
//
// Per-unit availability during a batch is the InPlaceSet's job: the planner
// gives each InPlaceSet a maxUnavailable that never lets a unit of two or
// more pods lose all of them.
//
// # Auto-reschedule
//
// Quota of pods unschedulable for longer than autoReschedule.pendingSeconds
// moves to the units with free capacity, with the pods' revisions, and comes
// back one pod at a time, each returned pod ready before the next, once the
// unit has room again (see QuotaMove and reschedule.go for the exact rules).
package release
