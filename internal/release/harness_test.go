package release

import (
	"os"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

var t0 = time.Date(2025, 1, 2, 9, 0, 0, 0, time.UTC)

// steadyInput is a 30-replica workload over units a, b and c, completed at
// revision v1, whose template just changed to v2.
func steadyInput() Input {
	return Input{
		Now:      t0,
		Replicas: 30,
		Units:    []UnitQuota{{Name: "a"}, {Name: "b"}, {Name: "c"}},
		Strategy: Strategy{
			Beta:                  true,
			BatchSize:             Pods(10),
			MaxUnavailablePerUnit: Percent(25),
			ProgressDeadline:      10 * time.Minute,
			FailureThreshold:      Pods(1),
		},
		TargetRevision: "v2",
		Observed: []UnitObservation{
			{Name: "a", Replicas: 10, Ready: 10, Available: 10},
			{Name: "b", Replicas: 10, Ready: 10, Available: 10},
			{Name: "c", Replicas: 10, Ready: 10, Available: 10},
		},
		Previous: Status{
			StableRevision: "v1",
			Release:        Release{Revision: "v1", Phase: PhaseCompleted, Batch: 3, TotalBatches: 3},
			Units: []UnitState{
				{Name: "a", Quota: 10, Target: 10},
				{Name: "b", Quota: 10, Target: 10},
				{Name: "c", Quota: 10, Target: 10},
			},
		},
	}
}

func mustPlan(t *testing.T, in Input) Output {
	t.Helper()
	out, err := Plan(in)
	if err != nil {
		t.Fatalf("Plan: %v", err)
	}
	again, _ := Plan(in)
	if !reflect.DeepEqual(out, again) {
		t.Fatalf("Plan is not deterministic:\n%+v\n%+v", out, again)
	}
	return out
}

// settled observes units whose InPlaceSets did all that out asks, with every
// pod available.
func settled(in Input, out Output) []UnitObservation {
	obs := make([]UnitObservation, len(out.Units))
	for i, u := range out.Units {
		obs[i] = UnitObservation{Name: u.Name, Replicas: u.Replicas, Ready: u.Replicas, Available: u.Replicas}
		if u.Revision == in.TargetRevision {
			obs[i].Updated = u.Replicas - u.Partition
			obs[i].UpdatedAvailable = obs[i].Updated
		}
	}
	return obs
}

// then is the next Input: out stored, the world as observe says, 10s later.
func then(in Input, out Output, observe func(Input, Output) []UnitObservation) Input {
	next := in
	next.Previous = out.Status
	next.Observed = observe(in, out)
	next.Now = in.Now.Add(10 * time.Second)
	return next
}

// stillObserved keeps the observations of the last Input: nothing moved.
func stillObserved(in Input, _ Output) []UnitObservation { return in.Observed }

func targets(out Output) []int32 {
	var n []int32
	for _, u := range out.Status.Units {
		n = append(n, u.Target)
	}
	return n
}

func partitions(out Output) []int32 {
	var n []int32
	for _, u := range out.Units {
		n = append(n, u.Partition)
	}
	return n
}

// wantSetsPaused checks every unit's InPlaceSet pause.
func wantSetsPaused(t *testing.T, out Output, paused bool) {
	t.Helper()
	for _, u := range out.Units {
		if u.Paused != paused {
			t.Errorf("unit %s: InPlaceSet paused %v, want %v", u.Name, u.Paused, paused)
		}
	}
}

func replicas(out Output) []int32 {
	var n []int32
	for _, u := range out.Units {
		n = append(n, u.Replicas)
	}
	return n
}

func conditionOf(t *testing.T, out Output, kind string) metav1.Condition {
	t.Helper()
	for _, c := range out.Conditions {
		if c.Type == kind {
			return c
		}
	}
	t.Fatalf("no %s condition in %+v", kind, out.Conditions)
	return metav1.Condition{}
}

// eventReasons lists what the shell would record for a plan: the plan's
// events, then the batch events its new history announces.
func eventReasons(in Input, out Output) []string {
	var r []string
	for _, e := range out.Events {
		r = append(r, e.Reason)
	}
	for _, e := range BatchEvents(out.Status.Release.Revision, in.Previous.Release.Batches, out.Status.Release.Batches) {
		r = append(r, e.Reason)
	}
	return r
}

func wantPhase(t *testing.T, out Output, phase Phase) {
	t.Helper()
	if got := out.Status.Release.Phase; got != phase {
		t.Fatalf("phase %s (waiting for %q), want %s", got, out.Status.Release.WaitingFor, phase)
	}
}

func wantInts(t *testing.T, what string, got, want []int32) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("%s = %v, want %v", what, got, want)
	}
}

func wantEvents(t *testing.T, in Input, out Output, reasons ...string) {
	t.Helper()
	if got := eventReasons(in, out); !reflect.DeepEqual(got, reasons) && !(len(got) == 0 && len(reasons) == 0) {
		t.Fatalf("events %v, want %v (%+v)", got, reasons, out.Events)
	}
}

func wantContains(t *testing.T, what, text, part string) {
	t.Helper()
	if !strings.Contains(text, part) {
		t.Fatalf("%s %q does not contain %q", what, text, part)
	}
}

// testSeed returns a random seed, or RELEASE_TEST_SEED when set, and logs it
// so that a failure can be replayed.
func testSeed(t *testing.T) int64 {
	seed := time.Now().UnixNano()
	if s := os.Getenv("RELEASE_TEST_SEED"); s != "" {
		var err error
		if seed, err = strconv.ParseInt(s, 10, 64); err != nil {
			t.Fatalf("RELEASE_TEST_SEED: %v", err)
		}
	}
	t.Logf("seed %d (replay with RELEASE_TEST_SEED=%d)", seed, seed)
	return seed
}
