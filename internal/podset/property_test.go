package podset

import (
	"flag"
	"fmt"
	"math/rand"
	"reflect"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
)

var seedFlag = flag.Int64("podset.seed", 20251125, "base seed of the podset property tests")

func pick[T any](r *rand.Rand, options ...T) T { return options[r.Intn(len(options))] }

func secondsUpTo(r *rand.Rand, n int) time.Duration { return time.Duration(r.Intn(n+1)) * time.Second }

// randomInput is an arbitrary, possibly odd, snapshot of a set: pods in
// every phase of every hand-off, duplicates, stops, and any spec.
func randomInput(r *rand.Rand) Input {
	replicas := r.Intn(7)
	in := Input{
		Replicas:         replicas,
		Partition:        r.Intn(replicas + 2),
		MinReady:         secondsUpTo(r, 5),
		MaxUnavailable:   r.Intn(4),
		Policy:           pick(r, InPlaceIfPossible, InPlaceOnly, Recreate),
		Drain:            secondsUpTo(r, 6),
		MaxDrainWait:     secondsUpTo(r, 20),
		AllowEmpty:       r.Intn(4) == 0,
		Paused:           r.Intn(4) == 0,
		UpdateRevision:   "v2",
		CurrentRevision:  pick(r, "v1", ""),
		InPlaceUpdatable: r.Intn(2) == 0,
		Now:              t0,
	}
	for i := 0; i < 8; i++ {
		if r.Intn(10) == 0 {
			in.StoppedIndexes = append(in.StoppedIndexes, i)
		}
	}
	for i := 0; i < 9; i++ {
		if r.Intn(10) < 6 {
			in.Pods = append(in.Pods, randomPod(r, fmt.Sprintf("web-%d", i), i))
		}
		if r.Intn(20) == 0 {
			in.Pods = append(in.Pods, randomPod(r, fmt.Sprintf("web-%d-dup", i), i))
		}
	}
	return in
}

func randomPod(r *rand.Rand, name string, index int) Pod {
	p := Pod{
		Name:                 name,
		Index:                index,
		Revision:             pick(r, "v0", "v1", "v2"),
		Phase:                pick(r, corev1.PodRunning, corev1.PodRunning, corev1.PodRunning, corev1.PodPending, corev1.PodFailed),
		Deleting:             r.Intn(10) == 0,
		ReadySince:           t0.Add(-secondsUpTo(r, 10)),
		Serving:              pick(r, corev1.ConditionTrue, corev1.ConditionTrue, corev1.ConditionFalse, ""),
		ServingSince:         t0.Add(-secondsUpTo(r, 70)),
		ServingReason:        pick(r, ServingUpdate, ServingRestart, ServingScaleIn, ServingStopped, ServingReady),
		OutOfEndpoints:       r.Intn(2) == 0,
		CannotLeaveEndpoints: r.Intn(10) == 0,
		InPlaceInProgress:    r.Intn(10) == 0,
		RestartRequested:     pick(r, "", "", "a", "b"),
		RestartHandled:       pick(r, "", "a"),
		Pending:              r.Intn(8) == 0,
		HeldOut:              r.Intn(8) == 0,
	}
	p.Ready = p.Phase == corev1.PodRunning && r.Intn(4) != 0
	return p
}

func shuffled(r *rand.Rand, in Input) Input {
	out := in
	out.Pods = append([]Pod(nil), in.Pods...)
	r.Shuffle(len(out.Pods), func(i, j int) { out.Pods[i], out.Pods[j] = out.Pods[j], out.Pods[i] })
	out.StoppedIndexes = append([]int(nil), in.StoppedIndexes...)
	r.Shuffle(len(out.StoppedIndexes), func(i, j int) {
		out.StoppedIndexes[i], out.StoppedIndexes[j] = out.StoppedIndexes[j], out.StoppedIndexes[i]
	})
	return out
}

// TestPlanPropertiesOnArbitraryStates checks every rule that must hold for a
// single plan, whatever state the set is in.
func TestPlanPropertiesOnArbitraryStates(t *testing.T) {
	seed := *seedFlag
	t.Logf("seed %d (rerun with -podset.seed=%d)", seed, seed)
	r := rand.New(rand.NewSource(seed))
	for n := 0; n < 20000; n++ {
		in := randomInput(r)
		got := Plan(in)
		if again := Plan(shuffled(r, in)); !reflect.DeepEqual(got, again) {
			t.Fatalf("case %d: plan depends on input order:\n%#v\n%#v", n, got, again)
		}
		if err := checkPlan(in, got); err != nil {
			t.Fatalf("case %d: %v\ninput %#v\nactions %#v\nwaiting %s", n, err, in, got.Actions, got.WaitingMessage())
		}
	}
}

// checkPlan verifies one plan against the rules, applying its serving
// changes one by one to a copy of the input to follow the budget.
func checkPlan(in Input, res Result) error {
	state := in
	state.Pods = append([]Pod(nil), in.Pods...)
	byName := map[string]*Pod{}
	var indexes []int
	for i := range state.Pods {
		byName[state.Pods[i].Name] = &state.Pods[i]
		indexes = append(indexes, state.Pods[i].Index)
	}
	stopped := map[int]bool{}
	for _, i := range in.StoppedIndexes {
		stopped[i] = true
	}
	live := liveSlots(in.Replicas, stopped, indexes)
	kept := keptSlots(in.Replicas, stopped, indexes)
	held := map[int]bool{}
	for _, i := range indexes {
		held[i] = true
	}

	touched := map[string]bool{}
	for _, a := range res.Actions {
		if c, ok := a.(CreatePod); ok {
			key := fmt.Sprintf("#%d", c.Index)
			switch {
			case touched[key]:
				return fmt.Errorf("index %d created twice", c.Index)
			case held[c.Index] || stopped[c.Index] || !kept[c.Index]:
				return fmt.Errorf("created index %d that is held, stopped or not kept", c.Index)
			case c.Revision != in.UpdateRevision && c.Revision != in.CurrentRevision:
				return fmt.Errorf("created index %d at unknown revision %q", c.Index, c.Revision)
			}
			touched[key] = true
			continue
		}
		name := actionPod(a)
		p, ok := byName[name]
		switch {
		case !ok:
			return fmt.Errorf("action %#v for unknown pod", a)
		case touched[name]:
			return fmt.Errorf("pod %s got two actions", name)
		case p.Deleting:
			return fmt.Errorf("action %#v on a terminating pod", a)
		case p.Pending:
			return fmt.Errorf("action %#v on a pod whose last write is still pending", a)
		}
		touched[name] = true
		if in.Paused && startsUpdate(p, a) {
			return fmt.Errorf("paused, yet %#v starts an update of %s", a, p.Name)
		}
		if err := checkPodAction(&state, p, a, live); err != nil {
			return err
		}
	}
	return nil
}

func checkPodAction(state *Input, p *Pod, a Action, live map[int]bool) error {
	ended := p.Phase == corev1.PodFailed || p.Phase == corev1.PodSucceeded
	switch a := a.(type) {
	case SetServing:
		if a.Serving {
			if p.Serving == corev1.ConditionTrue || ended || !p.Ready || p.InPlaceInProgress ||
				state.Now.Sub(p.ReadySince) < state.MinReady {
				return fmt.Errorf("%s put into traffic before it was ready: %#v", p.Name, *p)
			}
			// The serving controller returns new pods and pods out for an
			// update or a restart once they run the update revision.
			if p.Revision == state.UpdateRevision && (p.Serving != corev1.ConditionFalse ||
				p.ServingReason == ServingUpdate || p.ServingReason == ServingRestart) {
				return fmt.Errorf("%s put into traffic by the plan; it is the serving controller's: %#v", p.Name, *p)
			}
			p.Serving = corev1.ConditionTrue
			p.ServingSince = state.Now
			return nil
		}
		if p.Serving == corev1.ConditionFalse {
			return fmt.Errorf("%s set out of traffic twice", p.Name)
		}
		budgeted := a.Reason == ServingUpdate || a.Reason == ServingRestart
		if budgeted && live[p.Index] && isAvailable(p, state.Now, state.MinReady) &&
			unavailableLive(state)+1 > state.MaxUnavailable {
			return fmt.Errorf("%s taken out beyond maxUnavailable %d (%d unavailable)",
				p.Name, state.MaxUnavailable, unavailableLive(state))
		}
		wasInTraffic := isInTraffic(p)
		p.Serving = corev1.ConditionFalse
		p.ServingSince = state.Now
		p.ServingReason = a.Reason
		if wasInTraffic && !state.AllowEmpty && len(live) > 0 && countInTraffic(state) == 0 {
			return fmt.Errorf("%s was the last pod in traffic", p.Name)
		}
		return nil
	case DeletePod:
		if a.Reason == DeleteFailed && !ended {
			return fmt.Errorf("%s deleted as failed while %s", p.Name, p.Phase)
		}
		if a.Reason == DeleteRecreate && (state.Policy == InPlaceOnly || p.Revision == state.UpdateRevision ||
			(state.Policy != Recreate && state.InPlaceUpdatable)) {
			return fmt.Errorf("%s recreated needlessly: %#v", p.Name, a)
		}
		if ended && a.Handoff == HandoffNone {
			return nil
		}
		return checkDrained(state, p, a.Handoff)
	case UpdateInPlace:
		if p.Revision == state.UpdateRevision || a.Revision != state.UpdateRevision ||
			state.Policy == Recreate || !state.InPlaceUpdatable {
			return fmt.Errorf("bad in-place update %#v of a pod at %s", a, p.Revision)
		}
		return checkDrained(state, p, a.Handoff)
	case RestartInPlace:
		if a.Token != p.RestartRequested || !p.restartPending() {
			return fmt.Errorf("restart %#v without a pending request", a)
		}
		return checkDrained(state, p, a.Handoff)
	}
	return fmt.Errorf("unknown action %#v", a)
}

// checkDrained: a pod is changed only after it was out of traffic for the
// drain time and, unless the hand-off says why not, out of the endpoints.
func checkDrained(state *Input, p *Pod, h Handoff) error {
	out := state.Now.Sub(p.ServingSince)
	ok := p.Serving == corev1.ConditionFalse && out >= state.Drain
	switch h {
	case HandoffDrained:
		ok = ok && p.OutOfEndpoints
	case HandoffCannotLeaveEndpoints:
		ok = ok && p.CannotLeaveEndpoints
	case HandoffMaxWaitElapsed:
		ok = ok && out >= state.MaxDrainWait
	default:
		ok = false
	}
	if !ok {
		return fmt.Errorf("%s changed without a finished drain (hand-off %q): %#v", p.Name, h, *p)
	}
	return nil
}

func countInTraffic(in *Input) int {
	n := 0
	for i := range in.Pods {
		if isInTraffic(&in.Pods[i]) {
			n++
		}
	}
	return n
}

// startsUpdate tells whether an action begins moving a pod to the update
// revision: taking it out of traffic for that, or changing it while it is
// still in traffic (no hand-off).
func startsUpdate(p *Pod, a Action) bool {
	switch a := a.(type) {
	case SetServing:
		return !a.Serving && a.Reason == ServingUpdate
	case UpdateInPlace:
		return p.Serving != corev1.ConditionFalse
	case DeletePod:
		return a.Reason == DeleteRecreate && p.Serving != corev1.ConditionFalse
	}
	return false
}
