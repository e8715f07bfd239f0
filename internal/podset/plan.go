package podset

import (
	"fmt"
	"sort"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
)

// Plan decides what the set does next.
//
// Slots: the set keeps `Replicas` slots, the lowest occupied indexes first
// (so scale-in removes the highest), and fills missing ones with the smallest
// free index. A stopped slot keeps its index and runs no pod.
//
// Revisions: replicas - partition of the live slots (clamped) should be at
// the update revision. Missing slots are filled at the update revision while
// fewer pods have it than that, otherwise at the current revision; this is
// also how a lost or ended pod comes back at the revision its slot should
// have. Further pods are picked deterministically: pods already being
// replaced, then pods already out of traffic, then other unavailable pods,
// then the rest, highest index first within each group.
//
// Pause: a paused set starts no new update; pods already out of traffic for
// one finish it.
//
// Hand-off: a pod is changed (updated, restarted) or removed (scale-in, stop,
// recreation) only after its serving condition went False, its address left
// the endpoints and the drain time passed; it goes back into traffic only
// once its containers have been ready for minReadySeconds (see return.go for
// who puts it back).
//
// Safety: taking an available live pod out of traffic is never allowed to
// make more than MaxUnavailable live slots unavailable (missing slots count),
// and, unless AllowEmpty, no pod leaves traffic if it is the last one in
// traffic while the set has live slots.
func Plan(in Input) Result {
	pl := planner{in: &in, layout: newLayout(in.Replicas, in.StoppedIndexes, in.Pods)}
	pl.countAvailability()
	pl.remove(pl.layout.surplus, DeleteScaleIn, ServingScaleIn)
	pl.remove(pl.layout.stopped, DeleteStopped, ServingStopped)
	pl.chooseUpdates()
	pl.tendLive()
	pl.res.Status = countStatus(&in)
	pl.res.DroppedStoppedIndexes = pl.layout.droppedStopped
	return pl.res
}

// planner carries one Plan call's running state.
type planner struct {
	in     *Input
	layout layout
	res    Result

	// unavailable counts live slots without an available pod; it grows as
	// the plan takes available pods out of traffic.
	unavailable int
	// inTraffic counts the set's pods in traffic; it shrinks likewise.
	inTraffic int

	// toUpdate holds the old-revision pods picked to move to the update
	// revision, in the order they get the unavailability budget.
	toUpdate []*Pod
	// budgetBlocked are pods that would have left traffic but for
	// maxUnavailable.
	budgetBlocked []*Pod
}

// countAvailability starts the budget: a pending pod may be on its way out
// of traffic, so it counts as unavailable and not in traffic.
func (pl *planner) countAvailability() {
	for i := range pl.in.Pods {
		if p := &pl.in.Pods[i]; p.inTraffic() && !p.Pending {
			pl.inTraffic++
		}
	}
	pl.unavailable = len(pl.layout.missing)
	for _, i := range pl.layout.live {
		if p, ok := pl.layout.owner[i]; ok && (p.Pending || !p.available(pl.in.Now, pl.in.MinReady)) {
			pl.unavailable++
		}
	}
}

// remove drains and deletes pods that leave the set.
func (pl *planner) remove(pods []*Pod, deleteReason DeleteReason, servingReason ServingReason) {
	for _, p := range pods {
		switch {
		case p.Pending:
		case p.Deleting:
			pl.waitTerminating(p)
		case p.terminated():
			pl.act(DeletePod{Name: p.Name, Reason: deleteReason, Handoff: HandoffNone})
		case p.Serving != corev1.ConditionFalse:
			pl.leaveTraffic(p, servingReason, false)
		default:
			if d := pl.drain(p); d.done {
				pl.act(DeletePod{Name: p.Name, Reason: deleteReason, Handoff: d.handoff})
			}
		}
	}
}

// chooseUpdates creates the missing pods and picks the old pods to update.
func (pl *planner) chooseUpdates() {
	in := pl.in
	// wanted counts the live slots that still have to get the update
	// revision; it starts at replicas - partition and drops with every pod
	// found, created or picked at that revision.
	wanted := min(max(in.Replicas-in.Partition, 0), len(pl.layout.live))
	var old []*Pod
	// pendingOld counts old pods with a write in flight: it may be the
	// update that takes them to the update revision, so a new pod does not
	// take their place in the partition's count.
	pendingOld := 0
	for _, i := range pl.layout.live {
		if p, ok := pl.layout.owner[i]; ok {
			if p.Revision == in.UpdateRevision {
				wanted--
			} else {
				old = append(old, p)
				if p.Pending {
					pendingOld++
				}
			}
		}
	}

	replacement := in.CurrentRevision
	if replacement == "" {
		replacement = in.UpdateRevision
	}
	for _, i := range pl.layout.missing {
		revision := replacement
		if wanted > pendingOld {
			revision = in.UpdateRevision
			wanted--
		}
		pl.act(CreatePod{Index: i, Revision: revision})
	}
	if wanted <= 0 || len(old) == 0 {
		return
	}
	if in.Policy == InPlaceOnly && !in.InPlaceUpdatable {
		pl.wait(Wait{Reason: WaitInPlaceImpossible, Message: fmt.Sprintf(
			"revision %s changes more than container images, labels and annotations, and updatePolicy %s forbids recreating pods",
			in.UpdateRevision, InPlaceOnly)})
		return
	}
	// Live slots have distinct indexes, so this order is total.
	sort.Slice(old, func(i, j int) bool {
		a, b := pl.updateGroup(old[i]), pl.updateGroup(old[j])
		if a != b {
			return a < b
		}
		return old[i].Index > old[j].Index
	})
	pl.toUpdate = old[:min(wanted, len(old))]
}

// updateGroup ranks an old pod for picking: the further along it already is
// toward being replaced or the less it serves, the earlier it is picked, so
// the pick is stable across plans and spends as little availability as
// possible.
func (pl *planner) updateGroup(p *Pod) int {
	switch {
	case p.Deleting || p.terminated() || p.Pending:
		// A pending pod may be the one the last plan started changing.
		return 0
	case p.Serving == corev1.ConditionFalse:
		return 1
	case !p.available(pl.in.Now, pl.in.MinReady):
		return 2
	}
	return 3
}

// tendLive moves every live pod one step toward its desired state.
func (pl *planner) tendLive() {
	picked := map[*Pod]bool{}
	for _, p := range pl.toUpdate {
		picked[p] = true
	}
	var restartsToStart []*Pod
	updatesToStart := map[*Pod]bool{}
	for _, i := range pl.layout.live {
		p, ok := pl.layout.owner[i]
		switch {
		case !ok, p.Pending:
		case p.Deleting:
			pl.waitTerminating(p)
		case p.terminated():
			pl.act(DeletePod{Name: p.Name, Reason: DeleteFailed, Handoff: HandoffNone})
		case p.InPlaceInProgress:
			pl.wait(Wait{Pod: p.Name, Reason: WaitInPlaceInProgress,
				Message: fmt.Sprintf("pod %s changing in place", p.Name)})
		case picked[p] && p.Serving != corev1.ConditionFalse:
			updatesToStart[p] = true
		case picked[p]:
			if d := pl.drain(p); d.done {
				pl.act(pl.updateAction(p, d.handoff))
			}
		case p.restartPending() && p.Serving != corev1.ConditionFalse:
			restartsToStart = append(restartsToStart, p)
		case p.restartPending():
			if d := pl.drain(p); d.done {
				pl.act(RestartInPlace{Name: p.Name, Token: p.RestartRequested, Handoff: d.handoff})
			}
		default:
			pl.settle(p)
		}
	}
	// Explicit restart requests get the budget before the release does: they
	// are rare, and an operator usually asks for one because a pod misbehaves.
	for _, p := range restartsToStart {
		pl.leaveTraffic(p, ServingRestart, true)
	}
	var paused int
	for _, p := range pl.toUpdate {
		switch {
		case !updatesToStart[p]:
		case pl.in.Paused:
			paused++
		case pl.in.SkipHandoff:
			pl.changeInTraffic(p)
		default:
			pl.leaveTraffic(p, ServingUpdate, true)
		}
	}
	pl.waitBudget()
	if paused > 0 {
		pl.wait(Wait{Reason: WaitPaused, Message: fmt.Sprintf(
			"updates paused: %d pods wait to move to revision %s", paused, pl.in.UpdateRevision)})
	}
}

func (pl *planner) updateAction(p *Pod, handoff Handoff) Action {
	if pl.in.Policy == Recreate || !pl.in.InPlaceUpdatable {
		return DeletePod{Name: p.Name, Reason: DeleteRecreate, Handoff: handoff}
	}
	return UpdateInPlace{Name: p.Name, Revision: pl.in.UpdateRevision, Handoff: handoff}
}

// changeInTraffic changes a pod without a hand-off, within the budget.
func (pl *planner) changeInTraffic(p *Pod) {
	if p.available(pl.in.Now, pl.in.MinReady) {
		if pl.unavailable+1 > pl.in.MaxUnavailable {
			pl.budgetBlocked = append(pl.budgetBlocked, p)
			return
		}
		pl.unavailable++
	}
	pl.act(pl.updateAction(p, HandoffNone))
}

// settle puts a pod that needs no change into traffic once its containers
// have been ready for minReadySeconds, unless the serving controller does.
func (pl *planner) settle(p *Pod) {
	switch {
	case p.Serving == corev1.ConditionTrue:
	case !p.Ready:
		pl.wait(Wait{Pod: p.Name, Reason: WaitNotReady,
			Message: fmt.Sprintf("pod %s waiting for its containers to be ready", p.Name)})
	case p.readyFor(pl.in.Now) < pl.in.MinReady:
		readyFor := max(p.readyFor(pl.in.Now), 0)
		pl.wait(Wait{Pod: p.Name, Reason: WaitMinReady,
			Message: fmt.Sprintf("pod %s ready for %s of %s", p.Name, seconds(readyFor), seconds(pl.in.MinReady))})
		pl.requeue(pl.in.MinReady - readyFor)
	case ReturnedByServingController(p, pl.in.UpdateRevision):
		pl.waitReturning(p)
	default:
		pl.act(SetServing{Name: p.Name, Serving: true, Reason: ServingReady})
	}
}

// leaveTraffic sets a pod's serving condition False, the first step of every
// change, unless that would break the unavailability budget (for a live pod)
// or empty the set.
func (pl *planner) leaveTraffic(p *Pod, reason ServingReason, live bool) {
	spendsBudget := live && p.available(pl.in.Now, pl.in.MinReady)
	if spendsBudget && pl.unavailable+1 > pl.in.MaxUnavailable {
		pl.budgetBlocked = append(pl.budgetBlocked, p)
		return
	}
	if p.inTraffic() && pl.inTraffic <= 1 && len(pl.layout.live) > 0 && !pl.in.AllowEmpty {
		pl.wait(Wait{Pod: p.Name, Reason: WaitUnitWouldBeEmpty, Message: fmt.Sprintf(
			"pod %s is the last pod in traffic; taking it out for its %s would leave the set empty, and allowEmpty is false",
			p.Name, changeNoun(reason))})
		return
	}
	pl.act(SetServing{Name: p.Name, Serving: false, Reason: reason})
	if spendsBudget {
		pl.unavailable++
	}
	if p.inTraffic() {
		pl.inTraffic--
	}
}

// waitBudget reports, once for the set, the pods maxUnavailable holds back.
func (pl *planner) waitBudget() {
	if len(pl.budgetBlocked) == 0 {
		return
	}
	// A condition message should stay short even for a large set.
	const listed = 5
	var names []string
	for _, p := range pl.budgetBlocked[:min(listed, len(pl.budgetBlocked))] {
		names = append(names, p.Name)
	}
	waiting := strings.Join(names, ", ")
	if more := len(pl.budgetBlocked) - listed; more > 0 {
		waiting += fmt.Sprintf(" and %d more", more)
	}
	pl.wait(Wait{Pod: names[0], Reason: WaitMaxUnavailable, Message: fmt.Sprintf(
		"%d unavailable of maxUnavailable %d; waiting to change %s",
		pl.unavailable, pl.in.MaxUnavailable, waiting)})
}

func changeNoun(reason ServingReason) string {
	switch reason {
	case ServingRestart:
		return "restart"
	case ServingScaleIn:
		return "scale-in"
	case ServingStopped:
		return "stop"
	}
	return "update"
}

// drain reports a pod's drain and records the wait if it has not ended.
func (pl *planner) drain(p *Pod) drainState {
	d := drainOf(p, pl.in.Now, pl.in.Drain, pl.in.MaxDrainWait)
	if !d.done {
		pl.wait(d.wait)
		pl.requeue(d.remaining)
	}
	return d
}

func (pl *planner) waitTerminating(p *Pod) {
	pl.wait(Wait{Pod: p.Name, Reason: WaitTerminating, Message: fmt.Sprintf("pod %s terminating", p.Name)})
}

func (pl *planner) act(a Action) { pl.res.Actions = append(pl.res.Actions, a) }

func (pl *planner) wait(w Wait) { pl.res.Waiting = append(pl.res.Waiting, w) }

func (pl *planner) requeue(after time.Duration) {
	if after > 0 && (pl.res.RequeueAfter == 0 || after < pl.res.RequeueAfter) {
		pl.res.RequeueAfter = after
	}
}
