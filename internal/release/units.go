package release

// This file holds all the partition arithmetic. A unit's InPlaceSet runs
// replicas = target + partition pods: target of them at the release's
// revision, partition of them left at whatever revision they have (the
// InPlaceSet changes only pods above its partition and never moves a pod
// back when the partition rises).

// unitState is one unit's approved target and partition.
type unitState struct {
	target, partition int32
}

func (s unitState) replicas() int32 { return s.target + s.partition }

// work is how many of quota's pods still have to reach the revision, by
// change or by creation.
func (s unitState) work(quota int32) int32 { return max(quota-s.target, 0) }

// observedState starts a release from the pods' real state: of the replicas
// pods the unit runs, those already at the new revision count as done.
func observedState(replicas, atRevision int32) unitState {
	target := min(max(atRevision, 0), replicas)
	return unitState{target: target, partition: replicas - target}
}

// fitTo scales the unit in to quota when it runs more. Pods at other
// revisions go first: removing them saves changing them later.
func (s unitState) fitTo(quota int32) unitState {
	excess := s.replicas() - max(quota, 0)
	if excess <= 0 {
		return s
	}
	fromOld := min(excess, s.partition)
	return unitState{target: s.target - (excess - fromOld), partition: s.partition - fromOld}
}

// advance lets n more pods reach the revision: first by creating the pods the
// unit lacks to reach quota (new capacity comes before any existing pod is
// disturbed), then by changing pods held at other revisions.
func (s unitState) advance(n, quota int32) unitState {
	n = min(n, s.work(quota))
	created := min(n, max(quota-s.replicas(), 0))
	return unitState{target: s.target + n, partition: s.partition - (n - created)}
}

// give removes n pods for a quota move, pods at the revision first: the
// pods that cannot be scheduled are almost always new ones, created at the
// revision. It returns what is left and what was taken.
func (s unitState) give(n int32) (left, taken unitState) {
	n = min(n, s.replicas())
	fromTarget := min(n, s.target)
	taken = unitState{target: fromTarget, partition: n - fromTarget}
	return unitState{target: s.target - taken.target, partition: s.partition - taken.partition}, taken
}

// receive adds the pods another unit gave, keeping their revisions: a move
// neither approves pods for the revision nor undoes approvals.
func (s unitState) receive(taken unitState) unitState {
	return unitState{target: s.target + taken.target, partition: s.partition + taken.partition}
}

// oneReplicaUpgrade tells whether the unit's next step would change the only
// pod of a one-replica unit, which leaves the unit with no serving pod.
func (s unitState) oneReplicaUpgrade(quota int32) bool {
	return quota == 1 && s.partition > 0
}

// maxUnavailable resolves the per-unit budget for a unit of replicas pods,
// rounding a percentage down, never below 1 (an in-place change makes its pod
// unavailable for a moment) and, for two or more pods, never all of them.
// Whether a one-replica unit may lose its pod is AllowEmpty's business.
func maxUnavailable(budget Amount, replicas int32) int32 {
	return min(max(budget.of(replicas, false), 1), max(replicas-1, 1))
}
