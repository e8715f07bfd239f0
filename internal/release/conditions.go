package release

import (
	"fmt"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// waitingFor says in words what the release waits for, naming the batch and
// the spec field that would move it on.
func (p *planner) waitingFor() string {
	switch p.rel.Phase {
	case PhaseCompleted:
		return ""
	case PhaseAborted:
		if p.revision != p.in.TargetRevision {
			return fmt.Sprintf("spec.release.abort to be cleared; meanwhile the changed pods return to revision %s", p.revision)
		}
		return "spec.release.abort to be cleared; there is no earlier revision to return to, so pods stay as they are"
	case PhaseWaitingForConfirmation:
		return p.confirmationWait(p.rel.Batch)
	case PhasePaused:
		switch p.reason {
		case ReasonFailureThresholdReached:
			cur := p.current()
			return fmt.Sprintf("a new confirmation after failing pods reached the failure threshold (%d) in batch %d: %s, or change the template",
				p.failureThreshold(cur), cur.Batch, p.confirmationWait(p.rel.Batch))
		case ReasonUnitWouldBeEmpty:
			return fmt.Sprintf("spec.strategy.allowUnitOutage: units %s have one replica, which would stop serving while it changes",
				strings.Join(p.emptyUnits(), ", "))
		}
		return "spec.strategy.paused to be cleared"
	}
	text := fmt.Sprintf("batch %d of %d to become available: %s", p.rel.Batch, p.rel.TotalBatches, strings.Join(p.lagging(), ", "))
	if p.rel.Phase == PhaseFailed {
		text += fmt.Sprintf("; it is past its progress deadline of %s", seconds(p.in.Strategy.ProgressDeadline))
	}
	return text
}

func (p *planner) confirmationWait(n int32) string {
	return fmt.Sprintf("confirmation of batch %d (set spec.release.confirm to revision %s, batch %d)", n, p.rel.Revision, n)
}

// lagging describes the units short of their batch target, and the units
// with pods that cannot be scheduled.
func (p *planner) lagging() []string {
	var words []string
	for i, s := range p.state {
		o := p.obs[i]
		if o.UpdatedAvailable < s.target {
			words = append(words, fmt.Sprintf("%s %d/%d available at revision %s", p.names[i], o.UpdatedAvailable, s.target, p.rel.Revision))
		}
		if n := len(o.Unschedulable); n > 0 {
			noun := "pods"
			if n == 1 {
				noun = "pod"
			}
			words = append(words, fmt.Sprintf("%s has %d unschedulable %s", p.names[i], n, noun))
		}
	}
	return words
}

func (p *planner) emptyUnits() []string {
	var names []string
	for i, s := range p.state {
		if s.oneReplicaUpgrade(p.quota[i]) {
			names = append(names, p.names[i])
		}
	}
	return names
}

// conditions states every condition type Plan owns.
func (p *planner) conditions() []metav1.Condition {
	phase := p.rel.Phase
	paused := phase == PhasePaused || phase == PhaseAborted
	progressing := condition(ConditionProgressing, phase == PhaseProgressing || phase == PhaseCompleted, ReasonBatchInProgress, p.rel.WaitingFor)
	switch phase {
	case PhaseCompleted:
		progressing.Reason = ReasonReleaseCompleted
		progressing.Message = fmt.Sprintf("revision %s runs on all %d pods", p.rel.Revision, p.totalTarget())
	case PhaseWaitingForConfirmation:
		progressing.Reason = ReasonAwaitingConfirmation
	case PhaseFailed:
		progressing.Reason = ReasonProgressDeadlineExceeded
	case PhasePaused, PhaseAborted:
		progressing.Reason = p.reason
	}

	waiting := condition(ConditionWaitingForConfirmation, false, ReasonNoConfirmationNeeded, "")
	if phase == PhaseWaitingForConfirmation || p.reason == ReasonFailureThresholdReached {
		waiting = condition(ConditionWaitingForConfirmation, true, ReasonAwaitingConfirmation, p.rel.WaitingFor)
		if p.reason == ReasonFailureThresholdReached {
			waiting.Reason = ReasonFailureThresholdReached
		}
	}

	pausedCond := condition(ConditionReleasePaused, false, ReasonNotPaused, "")
	if paused {
		pausedCond = condition(ConditionReleasePaused, true, p.reason, p.rel.WaitingFor)
	}

	deadline := condition(ConditionProgressDeadlineExceeded, false, ReasonWithinDeadline, "")
	if phase == PhaseFailed {
		deadline = condition(ConditionProgressDeadlineExceeded, true, ReasonProgressDeadlineExceeded,
			fmt.Sprintf("batch %d has not become available within %s", p.rel.Batch, seconds(p.in.Strategy.ProgressDeadline)))
	}
	return []metav1.Condition{p.availability(), progressing, pausedCond, waiting, deadline}
}

// availability reports whether every unit has at least its floor of
// available pods: the replicas it runs less its maxUnavailable.
func (p *planner) availability() metav1.Condition {
	var short []string
	for i, s := range p.state {
		runs := s.replicas()
		floor := max(runs-maxUnavailable(p.in.Strategy.MaxUnavailablePerUnit, runs), 0)
		if p.obs[i].Available < floor {
			short = append(short, fmt.Sprintf("%s %d/%d", p.names[i], p.obs[i].Available, floor))
		}
	}
	if len(short) > 0 {
		return condition(ConditionAvailable, false, ReasonUnitBelowFloor,
			"units below their floor of available pods: "+strings.Join(short, ", "))
	}
	return condition(ConditionAvailable, true, ReasonUnitsAvailable, "every unit has at least its floor of available pods")
}

func condition(kind string, status bool, reason, message string) metav1.Condition {
	c := metav1.Condition{Type: kind, Status: metav1.ConditionFalse, Reason: reason, Message: message}
	if status {
		c.Status = metav1.ConditionTrue
	}
	return c
}
