package podset

import (
	"fmt"
	"time"
)

// drainState is where a pod whose serving condition is False stands in its
// drain: done (with how it ended) or still waiting (and for how long at most).
type drainState struct {
	done    bool
	handoff Handoff
	wait    Wait
	// remaining is how long until the wait can end by time alone; zero when
	// only an endpoints change can end it.
	remaining time.Duration
}

// drainOf decides whether a pod that is out of traffic has drained. It has
// once the drain time has passed since its serving condition went False and
// its address has left every endpoint; a pod some Service keeps in its
// endpoints, or one still listed when the maximum wait runs out, goes ahead
// after the drain time with a Handoff that says so.
func drainOf(p *Pod, now time.Time, drain, maxWait time.Duration) drainState {
	// A lastTransitionTime ahead of now (clock skew between API server and
	// controller) counts as "just now".
	out := max(now.Sub(p.ServingSince), 0)
	if out < drain {
		w := Wait{Pod: p.Name, Reason: WaitDraining,
			Message: fmt.Sprintf("pod %s draining: %s of %s", p.Name, seconds(out), seconds(drain))}
		if p.CannotLeaveEndpoints {
			w.Reason = WaitCannotLeaveEndpoints
			w.Message += "; a Service with publishNotReadyAddresses keeps it in its endpoints, so it changes after the drain time while still listed"
		}
		return drainState{wait: w, remaining: drain - out}
	}
	switch {
	case p.OutOfEndpoints:
		return drainState{done: true, handoff: HandoffDrained}
	case p.CannotLeaveEndpoints:
		return drainState{done: true, handoff: HandoffCannotLeaveEndpoints}
	case out >= maxWait:
		return drainState{done: true, handoff: HandoffMaxWaitElapsed}
	}
	return drainState{
		wait: Wait{Pod: p.Name, Reason: WaitLeavingEndpoints,
			Message: fmt.Sprintf("pod %s still in endpoints after %s out of traffic; going ahead at %s",
				p.Name, seconds(out), seconds(maxWait))},
		remaining: maxWait - out,
	}
}

// seconds prints a duration in whole seconds, rounded down, as "2s" or
// "1m30s", so that messages do not change with every sub-second re-plan.
func seconds(d time.Duration) string {
	return d.Truncate(time.Second).String()
}
