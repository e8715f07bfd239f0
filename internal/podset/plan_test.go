package podset

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

type planCase struct {
	name  string
	input Input
	// want are the exact actions, in order.
	want []Action
	// waits are the expected wait reasons, in order.
	waits []WaitReason
	// message, if set, must appear in Result.WaitingMessage().
	message string
	requeue time.Duration
}

func runPlanCases(t *testing.T, cases []planCase) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := Plan(c.input)
			if !reflect.DeepEqual(got.Actions, c.want) {
				t.Errorf("actions\n got %#v\nwant %#v", got.Actions, c.want)
			}
			var reasons []WaitReason
			for _, w := range got.Waiting {
				reasons = append(reasons, w.Reason)
			}
			if !reflect.DeepEqual(reasons, c.waits) {
				t.Errorf("wait reasons got %v want %v (%s)", reasons, c.waits, got.WaitingMessage())
			}
			if c.message != "" && !strings.Contains(got.WaitingMessage(), c.message) {
				t.Errorf("waiting message %q lacks %q", got.WaitingMessage(), c.message)
			}
			if got.RequeueAfter != c.requeue {
				t.Errorf("requeue got %v want %v", got.RequeueAfter, c.requeue)
			}
		})
	}
}

func with(in Input, f func(*Input)) Input { f(&in); return in }

func TestPlanScaling(t *testing.T) {
	runPlanCases(t, []planCase{
		{
			name:  "scale out from nothing creates every slot at the update revision",
			input: baseInput(),
			want: []Action{
				CreatePod{Index: 0, Revision: "v2"},
				CreatePod{Index: 1, Revision: "v2"},
				CreatePod{Index: 2, Revision: "v2"},
			},
		},
		{
			name:  "scale out under a partition creates the partitioned slots at the current revision",
			input: with(baseInput(), func(in *Input) { in.Partition = 2 }),
			want: []Action{
				CreatePod{Index: 0, Revision: "v2"},
				CreatePod{Index: 1, Revision: "v1"},
				CreatePod{Index: 2, Revision: "v1"},
			},
		},
		{
			name:  "a set with no older revision creates partitioned slots at the update revision",
			input: with(baseInput(), func(in *Input) { in.Partition = 3; in.CurrentRevision = "" }),
			want: []Action{
				CreatePod{Index: 0, Revision: "v2"},
				CreatePod{Index: 1, Revision: "v2"},
				CreatePod{Index: 2, Revision: "v2"},
			},
		},
		{
			name: "scale out takes the smallest free index and skips stopped ones",
			input: with(baseInput(servingPod(0, "v2"), servingPod(3, "v2")), func(in *Input) {
				in.Replicas = 4
				in.StoppedIndexes = []int{1}
			}),
			want: []Action{CreatePod{Index: 2, Revision: "v2"}},
		},
		{
			name: "scale in takes the highest indexes out of traffic first",
			input: with(baseInput(servingPod(0, "v2"), servingPod(1, "v2"), servingPod(2, "v2")),
				func(in *Input) { in.Replicas = 1 }),
			want: []Action{
				SetServing{Name: "web-2", Serving: false, Reason: ServingScaleIn},
				SetServing{Name: "web-1", Serving: false, Reason: ServingScaleIn},
			},
		},
		{
			name: "scale in waits for the drain time",
			input: with(baseInput(servingPod(0, "v2"), servingPod(1, "v2", outOfTraffic(2*time.Second, true))),
				func(in *Input) { in.Replicas = 1 }),
			waits:   []WaitReason{WaitDraining},
			message: "pod web-1 draining: 2s of 5s",
			requeue: 3 * time.Second,
		},
		{
			name: "scale in deletes a drained pod",
			input: with(baseInput(servingPod(0, "v2"), servingPod(1, "v2", outOfTraffic(6*time.Second, true))),
				func(in *Input) { in.Replicas = 1 }),
			want: []Action{DeletePod{Name: "web-1", Reason: DeleteScaleIn, Handoff: HandoffDrained}},
		},
		{
			name: "scale in keeps the last pod in traffic while the kept pod is not ready",
			input: with(baseInput(servingPod(0, "v2", fresh, notReady), servingPod(1, "v2")),
				func(in *Input) { in.Replicas = 1 }),
			waits: []WaitReason{WaitUnitWouldBeEmpty, WaitNotReady},
		},
		{
			name:  "scale to zero may empty the set",
			input: with(baseInput(servingPod(0, "v2")), func(in *Input) { in.Replicas = 0 }),
			want:  []Action{SetServing{Name: "web-0", Serving: false, Reason: ServingScaleIn}},
		},
		{
			name: "scale in keeps running pods rather than refill a lower hole",
			input: with(baseInput(servingPod(0, "v2"), servingPod(2, "v2"), servingPod(3, "v2")),
				func(in *Input) { in.Replicas = 2 }),
			want: []Action{SetServing{Name: "web-3", Serving: false, Reason: ServingScaleIn}},
		},
		{
			name: "a terminating pod is waited for",
			input: baseInput(servingPod(0, "v2"), servingPod(1, "v2"),
				servingPod(2, "v2", deleting)),
			waits: []WaitReason{WaitTerminating},
		},
		{
			name: "a duplicate index is surplus and scaled in",
			input: with(baseInput(servingPod(0, "v2"), servingPod(1, "v2"),
				servingPod(1, "v2", func(p *Pod) { p.Name = "web-1-adopted" })),
				func(in *Input) { in.Replicas = 2 }),
			want: []Action{SetServing{Name: "web-1-adopted", Serving: false, Reason: ServingScaleIn}},
		},
	})
}

func TestPlanReplacesEndedPods(t *testing.T) {
	runPlanCases(t, []planCase{
		{
			name: "a failed pod is deleted without a drain",
			input: with(baseInput(servingPod(0, "v1"), servingPod(1, "v1"), servingPod(2, "v1", failed)),
				func(in *Input) { in.Partition = 3 }),
			want: []Action{DeletePod{Name: "web-2", Reason: DeleteFailed, Handoff: HandoffNone}},
		},
		{
			name: "a lost pod below the partition comes back at the current revision",
			input: with(baseInput(servingPod(0, "v1"), servingPod(1, "v1")),
				func(in *Input) { in.Partition = 3 }),
			want: []Action{CreatePod{Index: 2, Revision: "v1"}},
		},
		{
			name: "a lost pod above the partition comes back at the update revision",
			input: with(baseInput(servingPod(0, "v1"), servingPod(1, "v1")),
				func(in *Input) { in.Partition = 2 }),
			want: []Action{CreatePod{Index: 2, Revision: "v2"}},
		},
		{
			name: "a new pod at the update revision is the serving controller's to put into traffic",
			input: with(baseInput(servingPod(0, "v2"), servingPod(1, "v2"),
				servingPod(2, "v2", fresh, readyFor(10*time.Second))),
				func(in *Input) { in.MinReady = 10 * time.Second }),
			waits:   []WaitReason{WaitReturning},
			message: "pod web-2 ready; the serving controller puts it back into traffic",
		},
		{
			name: "a new pod below the partition enters traffic once ready for minReadySeconds",
			input: with(baseInput(servingPod(0, "v1"), servingPod(1, "v1"),
				servingPod(2, "v1", fresh, readyFor(10*time.Second))),
				func(in *Input) { in.MinReady = 10 * time.Second; in.Partition = 3 }),
			want: []Action{SetServing{Name: "web-2", Serving: true, Reason: ServingReady}},
		},
		{
			name: "a new pod waits for minReadySeconds",
			input: with(baseInput(servingPod(0, "v2"), servingPod(1, "v2"),
				servingPod(2, "v2", fresh, readyFor(4*time.Second))),
				func(in *Input) { in.MinReady = 10 * time.Second }),
			waits:   []WaitReason{WaitMinReady},
			message: "pod web-2 ready for 4s of 10s",
			requeue: 6 * time.Second,
		},
		{
			name:  "a new pod waits for its containers",
			input: baseInput(servingPod(0, "v2"), servingPod(1, "v2"), servingPod(2, "v2", fresh, notReady)),
			waits: []WaitReason{WaitNotReady},
		},
	})
}

func TestPlanInPlaceUpdateSteps(t *testing.T) {
	v1 := func(i int, mods ...func(*Pod)) Pod { return servingPod(i, "v1", mods...) }
	v2 := func(i int, mods ...func(*Pod)) Pod { return servingPod(i, "v2", mods...) }
	runPlanCases(t, []planCase{
		{
			name:    "(a) the highest pod leaves traffic first; the budget holds the rest",
			input:   baseInput(v1(0), v1(1), v1(2)),
			want:    []Action{SetServing{Name: "web-2", Serving: false, Reason: ServingUpdate}},
			waits:   []WaitReason{WaitMaxUnavailable},
			message: "1 unavailable of maxUnavailable 1; waiting to change web-1, web-0",
		},
		{
			name:    "(b) it drains",
			input:   baseInput(v1(0), v1(1), v1(2, outOfTraffic(2*time.Second, true))),
			waits:   []WaitReason{WaitDraining, WaitMaxUnavailable},
			requeue: 3 * time.Second,
		},
		{
			name:  "(c) drained, it is updated in place",
			input: baseInput(v1(0), v1(1), v1(2, outOfTraffic(5*time.Second, true))),
			want:  []Action{UpdateInPlace{Name: "web-2", Revision: "v2", Handoff: HandoffDrained}},
			waits: []WaitReason{WaitMaxUnavailable},
		},
		{
			name:  "(d) its containers take the new images",
			input: baseInput(v1(0), v1(1), v2(2, outOfTraffic(6*time.Second, true), inProgress)),
			waits: []WaitReason{WaitInPlaceInProgress, WaitMaxUnavailable},
		},
		{
			name: "(d) it waits for minReadySeconds",
			input: with(baseInput(v1(0), v1(1), v2(2, outOfTraffic(9*time.Second, true), readyFor(time.Second))),
				func(in *Input) { in.MinReady = 3 * time.Second }),
			waits:   []WaitReason{WaitMinReady, WaitMaxUnavailable},
			requeue: 2 * time.Second,
		},
		{
			name:  "(e) ready, the serving controller puts it back into traffic; the next pod waits for that",
			input: baseInput(v1(0), v1(1), v2(2, outOfTraffic(9*time.Second, true), readyFor(time.Second))),
			waits: []WaitReason{WaitReturning, WaitMaxUnavailable},
		},
		{
			name:  "a pod at the update revision that is back in traffic frees the budget",
			input: baseInput(v1(0), v1(1), v2(2)),
			want:  []Action{SetServing{Name: "web-1", Serving: false, Reason: ServingUpdate}},
			waits: []WaitReason{WaitMaxUnavailable},
		},
		{
			name:  "a pod already at the update revision is never updated again",
			input: baseInput(v2(0, outOfTraffic(time.Hour, true)), v2(1), v2(2)),
			waits: []WaitReason{WaitReturning},
		},
		{
			name: "a pod at the update revision taken out to be scaled in comes back by the plan when its slot is kept again",
			input: with(baseInput(v2(0, outOfTraffic(time.Hour, true), outFor(ServingScaleIn)), v2(1), v2(2)),
				func(in *Input) { in.Replicas = 3 }),
			want: []Action{SetServing{Name: "web-0", Serving: true, Reason: ServingReady}},
		},
	})
}

func TestPlanHandoffEndings(t *testing.T) {
	p := func(mods ...func(*Pod)) Input {
		return with(baseInput(servingPod(0, "v1", mods...)), func(in *Input) { in.Replicas = 1; in.AllowEmpty = true })
	}
	cannotLeave := func(p *Pod) { p.CannotLeaveEndpoints = true }
	runPlanCases(t, []planCase{
		{
			name:    "still in endpoints after the drain time: wait, at most until maxWait",
			input:   p(outOfTraffic(7*time.Second, false)),
			waits:   []WaitReason{WaitLeavingEndpoints},
			message: "pod web-0 still in endpoints after 7s out of traffic; going ahead at 1m0s",
			requeue: 53 * time.Second,
		},
		{
			name:  "still in endpoints at maxWait: go ahead and say so",
			input: p(outOfTraffic(60*time.Second, false)),
			want:  []Action{UpdateInPlace{Name: "web-0", Revision: "v2", Handoff: HandoffMaxWaitElapsed}},
		},
		{
			name:  "a pod no Service lets go of goes ahead after the drain time",
			input: p(outOfTraffic(5*time.Second, false), cannotLeave),
			want:  []Action{UpdateInPlace{Name: "web-0", Revision: "v2", Handoff: HandoffCannotLeaveEndpoints}},
		},
		{
			name:    "a pod no Service lets go of still drains, and says why it will change while listed",
			input:   p(outOfTraffic(4*time.Second, false), cannotLeave),
			waits:   []WaitReason{WaitCannotLeaveEndpoints},
			message: "pod web-0 draining: 4s of 5s; a Service with publishNotReadyAddresses keeps it in its endpoints",
			requeue: time.Second,
		},
		{
			name: "a serving condition that went False in the future counts as just now",
			input: p(func(p *Pod) {
				outOfTraffic(0, true)(p)
				p.ServingSince = t0.Add(time.Second)
			}),
			waits:   []WaitReason{WaitDraining},
			message: "draining: 0s of 5s",
			requeue: 5 * time.Second,
		},
	})
}

func TestPlanUpdateChoiceAndPolicies(t *testing.T) {
	v1 := func(i int, mods ...func(*Pod)) Pod { return servingPod(i, "v1", mods...) }
	runPlanCases(t, []planCase{
		{
			name:  "not-ready pods are updated first and cost no budget",
			input: with(baseInput(v1(0, notReady), v1(1), v1(2)), func(in *Input) { in.Partition = 2 }),
			want:  []Action{SetServing{Name: "web-0", Serving: false, Reason: ServingUpdate}},
		},
		{
			name: "a pod already out of traffic stays picked over a newly not-ready one",
			input: with(baseInput(v1(0), v1(1, outOfTraffic(time.Second, true)), v1(2, notReady)),
				func(in *Input) { in.Partition = 2 }),
			waits:   []WaitReason{WaitDraining},
			requeue: 4 * time.Second,
		},
		{
			name: "a pod being recreated keeps the pick",
			input: with(baseInput(v1(0), v1(1), v1(2, deleting)), func(in *Input) {
				in.Partition = 2
				in.MaxUnavailable = 3
			}),
			waits: []WaitReason{WaitTerminating},
		},
		{
			name: "without an in-place-able change the drained pod is recreated",
			input: with(baseInput(v1(0), v1(1), v1(2, outOfTraffic(5*time.Second, true))),
				func(in *Input) { in.InPlaceUpdatable = false }),
			want:  []Action{DeletePod{Name: "web-2", Reason: DeleteRecreate, Handoff: HandoffDrained}},
			waits: []WaitReason{WaitMaxUnavailable},
		},
		{
			name: "Recreate recreates even an in-place-able change",
			input: with(baseInput(v1(0), v1(1), v1(2, outOfTraffic(5*time.Second, true))),
				func(in *Input) { in.Policy = Recreate }),
			want:  []Action{DeletePod{Name: "web-2", Reason: DeleteRecreate, Handoff: HandoffDrained}},
			waits: []WaitReason{WaitMaxUnavailable},
		},
		{
			name: "InPlaceOnly refuses a change that needs new pods and returns a drained pod to traffic",
			input: with(baseInput(v1(0), v1(1), v1(2, outOfTraffic(5*time.Second, true))), func(in *Input) {
				in.Policy = InPlaceOnly
				in.InPlaceUpdatable = false
			}),
			want:    []Action{SetServing{Name: "web-2", Serving: true, Reason: ServingReady}},
			waits:   []WaitReason{WaitInPlaceImpossible},
			message: "updatePolicy InPlaceOnly forbids recreating pods",
		},
		{
			name: "InPlaceOnly still fills a missing slot at the update revision",
			input: with(baseInput(v1(0), v1(1)), func(in *Input) {
				in.Policy = InPlaceOnly
				in.InPlaceUpdatable = false
			}),
			want:  []Action{CreatePod{Index: 2, Revision: "v2"}},
			waits: []WaitReason{WaitInPlaceImpossible},
		},
		{
			name: "raising the partition returns a draining pod to traffic",
			input: with(baseInput(v1(0), v1(1), v1(2, outOfTraffic(2*time.Second, true))),
				func(in *Input) { in.Partition = 3 }),
			want: []Action{SetServing{Name: "web-2", Serving: true, Reason: ServingReady}},
		},
		{
			name: "a pod without a serving condition is marked out of traffic before it is changed",
			input: with(baseInput(v1(0), v1(1), v1(2, fresh, notReady)),
				func(in *Input) { in.Partition = 2 }),
			want: []Action{SetServing{Name: "web-2", Serving: false, Reason: ServingUpdate}},
		},
	})
}

func TestPlanAvailabilityBudget(t *testing.T) {
	v1 := func(i int, mods ...func(*Pod)) Pod { return servingPod(i, "v1", mods...) }
	runPlanCases(t, []planCase{
		{
			name:  "maxUnavailable 2 takes two pods out at once",
			input: with(baseInput(v1(0), v1(1), v1(2)), func(in *Input) { in.MaxUnavailable = 2 }),
			want: []Action{
				SetServing{Name: "web-2", Serving: false, Reason: ServingUpdate},
				SetServing{Name: "web-1", Serving: false, Reason: ServingUpdate},
			},
			waits: []WaitReason{WaitMaxUnavailable},
		},
		{
			name: "a long budget wait lists the first five pods",
			input: with(baseInput(v1(0), v1(1), v1(2), v1(3), v1(4), v1(5), v1(6), v1(7)),
				func(in *Input) { in.Replicas = 8 }),
			want:    []Action{SetServing{Name: "web-7", Serving: false, Reason: ServingUpdate}},
			waits:   []WaitReason{WaitMaxUnavailable},
			message: "1 unavailable of maxUnavailable 1; waiting to change web-6, web-5, web-4, web-3, web-2 and 2 more",
		},
		{
			name:  "an unavailable pod already at the update revision uses the budget",
			input: baseInput(v1(0), v1(1), servingPod(2, "v2", notReady)),
			waits: []WaitReason{WaitMaxUnavailable},
		},
		{
			name:  "a missing slot uses the budget",
			input: baseInput(v1(0), v1(1)),
			want:  []Action{CreatePod{Index: 2, Revision: "v2"}},
			waits: []WaitReason{WaitMaxUnavailable},
		},
		{
			name:  "a stopped slot does not use the budget",
			input: with(baseInput(v1(0), v1(2)), func(in *Input) { in.StoppedIndexes = []int{1} }),
			want:  []Action{SetServing{Name: "web-2", Serving: false, Reason: ServingUpdate}},
			waits: []WaitReason{WaitMaxUnavailable},
		},
		{
			name:  "maxUnavailable 0 changes nothing that serves",
			input: with(baseInput(v1(0), v1(1), v1(2)), func(in *Input) { in.MaxUnavailable = 0 }),
			waits: []WaitReason{WaitMaxUnavailable},
		},
		{
			name:    "the only pod of a one-replica set is not taken out",
			input:   with(baseInput(v1(0)), func(in *Input) { in.Replicas = 1 }),
			waits:   []WaitReason{WaitUnitWouldBeEmpty},
			message: "pod web-0 is the last pod in traffic; taking it out for its update would leave the set empty",
		},
		{
			name:  "allowEmpty lets the only pod be updated",
			input: with(baseInput(v1(0)), func(in *Input) { in.Replicas = 1; in.AllowEmpty = true }),
			want:  []Action{SetServing{Name: "web-0", Serving: false, Reason: ServingUpdate}},
		},
		{
			name:  "the only pod may be updated while it is not in traffic anyway",
			input: with(baseInput(v1(0, notReady)), func(in *Input) { in.Replicas = 1 }),
			want:  []Action{SetServing{Name: "web-0", Serving: false, Reason: ServingUpdate}},
		},
		{
			name:  "with two pods and room for two, the second waits for the first to return",
			input: with(baseInput(v1(0), v1(1)), func(in *Input) { in.Replicas = 2; in.MaxUnavailable = 2 }),
			want:  []Action{SetServing{Name: "web-1", Serving: false, Reason: ServingUpdate}},
			waits: []WaitReason{WaitUnitWouldBeEmpty},
		},
	})
}

func TestPlanRestartAndStop(t *testing.T) {
	v2 := func(i int, mods ...func(*Pod)) Pod { return servingPod(i, "v2", mods...) }
	v1 := func(i int, mods ...func(*Pod)) Pod { return servingPod(i, "v1", mods...) }
	runPlanCases(t, []planCase{
		{
			name:  "a restart request takes the pod out of traffic",
			input: baseInput(v2(0, restartRequested("a")), v2(1), v2(2)),
			want:  []Action{SetServing{Name: "web-0", Serving: false, Reason: ServingRestart}},
		},
		{
			name:  "a drained pod is restarted with the requested token",
			input: baseInput(v2(0, restartRequested("a"), outOfTraffic(5*time.Second, true)), v2(1), v2(2)),
			want:  []Action{RestartInPlace{Name: "web-0", Token: "a", Handoff: HandoffDrained}},
		},
		{
			name:  "a handled restart in progress is waited for",
			input: baseInput(v2(0, restartRequested("a"), handled("a"), outOfTraffic(6*time.Second, true), inProgress), v2(1), v2(2)),
			waits: []WaitReason{WaitInPlaceInProgress},
		},
		{
			name:  "a restarted pod is the serving controller's to put back into traffic",
			input: baseInput(v2(0, restartRequested("a"), handled("a"), outOfTraffic(9*time.Second, true), outFor(ServingRestart), readyFor(time.Second)), v2(1), v2(2)),
			waits: []WaitReason{WaitReturning},
		},
		{
			name:  "a restart gets the budget before the release",
			input: baseInput(v2(0, restartRequested("a")), v1(1), v1(2)),
			want:  []Action{SetServing{Name: "web-0", Serving: false, Reason: ServingRestart}},
			waits: []WaitReason{WaitMaxUnavailable},
		},
		{
			name: "an update picked for a drained pod wins over its restart",
			input: with(baseInput(v1(0), v1(1), v1(2, restartRequested("a"), outOfTraffic(5*time.Second, true))),
				func(in *Input) { in.Partition = 2 }),
			want: []Action{UpdateInPlace{Name: "web-2", Revision: "v2", Handoff: HandoffDrained}},
		},
		{
			name:  "a stopped slot's pod leaves traffic and is not replaced",
			input: with(baseInput(v2(0), v2(1), v2(2)), func(in *Input) { in.StoppedIndexes = []int{1} }),
			want:  []Action{SetServing{Name: "web-1", Serving: false, Reason: ServingStopped}},
		},
		{
			name: "a stopped slot's drained pod is deleted",
			input: with(baseInput(v2(0), v2(1, outOfTraffic(5*time.Second, true)), v2(2)),
				func(in *Input) { in.StoppedIndexes = []int{1} }),
			want: []Action{DeletePod{Name: "web-1", Reason: DeleteStopped, Handoff: HandoffDrained}},
		},
		{
			name:  "stopping the only pod of a set empties it",
			input: with(baseInput(v2(0)), func(in *Input) { in.Replicas = 1; in.StoppedIndexes = []int{0} }),
			want:  []Action{SetServing{Name: "web-0", Serving: false, Reason: ServingStopped}},
		},
		{
			name: "a stopped pod that ended is deleted at once",
			input: with(baseInput(v2(0), v2(1, failed), v2(2)),
				func(in *Input) { in.StoppedIndexes = []int{1} }),
			want: []Action{DeletePod{Name: "web-1", Reason: DeleteStopped, Handoff: HandoffNone}},
		},
	})
}

func TestPlanDropsStoppedSlotsOnScaleIn(t *testing.T) {
	in := with(baseInput(servingPod(0, "v2"), servingPod(1, "v2")), func(in *Input) {
		in.Replicas = 2
		in.StoppedIndexes = []int{1, 4}
	})
	got := Plan(in)
	if !reflect.DeepEqual(got.DroppedStoppedIndexes, []int{4}) {
		t.Errorf("dropped stopped indexes %v, want [4]", got.DroppedStoppedIndexes)
	}
	want := []Action{SetServing{Name: "web-1", Serving: false, Reason: ServingStopped}}
	if !reflect.DeepEqual(got.Actions, want) {
		t.Errorf("actions %#v, want %#v", got.Actions, want)
	}
}

func TestPlanStatus(t *testing.T) {
	in := with(baseInput(
		servingPod(0, "v1"),
		servingPod(1, "v2", readyFor(time.Second)),
		servingPod(2, "v2", outOfTraffic(time.Second, true)),
		servingPod(3, "v2", failed),
		servingPod(4, "v2", deleting),
		servingPod(5, "v2", notReady),
	), func(in *Input) { in.Replicas = 6; in.MinReady = 5 * time.Second })
	want := Status{Replicas: 4, ReadyReplicas: 2, AvailableReplicas: 1, UpdatedReplicas: 3, UpdatedReadyReplicas: 1}
	if got := Plan(in).Status; got != want {
		t.Errorf("status %+v, want %+v", got, want)
	}
}

func pending(p *Pod) { p.Pending = true }

func TestPlanLeavesPendingPodsAlone(t *testing.T) {
	runPlanCases(t, []planCase{
		{
			name:  "a slot whose create has not shown yet is not created again",
			input: baseInput(servingPod(0, "v2"), servingPod(1, "v2"), Pod{Name: "web-2", Index: 2, Revision: "v2", Pending: true}),
			want:  nil,
		},
		{
			name:  "a pending pod counts as unavailable: the budget of one is spent",
			input: baseInput(servingPod(0, "v1", pending), servingPod(1, "v1"), servingPod(2, "v1")),
			want:  nil,
			waits: []WaitReason{WaitMaxUnavailable},
		},
		{
			name: "with budget left the others go ahead, the pending pod gets no action",
			input: with(baseInput(servingPod(0, "v1", pending), servingPod(1, "v1"), servingPod(2, "v1")),
				func(in *Input) { in.MaxUnavailable = 2 }),
			want:  []Action{SetServing{Name: "web-2", Serving: false, Reason: ServingUpdate}},
			waits: []WaitReason{WaitMaxUnavailable},
		},
		{
			name: "a pending pod is picked for the update first, so a partition is never overshot",
			input: with(baseInput(servingPod(0, "v1", pending), servingPod(1, "v1", notReady), servingPod(2, "v1")),
				func(in *Input) { in.Partition = 2; in.MaxUnavailable = 3; in.SkipHandoff = true }),
			want: nil,
		},
		{
			name: "a pending pod is not counted in traffic: the last other pod stays in",
			input: with(baseInput(servingPod(0, "v1", pending), servingPod(1, "v2", notReady), servingPod(2, "v1")),
				func(in *Input) { in.MaxUnavailable = 3 }),
			want:  nil,
			waits: []WaitReason{WaitUnitWouldBeEmpty},
		},
	})
}

func TestPlanPausedStartsNoNewUpdate(t *testing.T) {
	v1 := func(i int, mods ...func(*Pod)) Pod { return servingPod(i, "v1", mods...) }
	v2 := func(i int, mods ...func(*Pod)) Pod { return servingPod(i, "v2", mods...) }
	paused := func(in Input) Input { return with(in, func(in *Input) { in.Paused = true }) }
	runPlanCases(t, []planCase{
		{
			name:    "no pod leaves traffic for the update",
			input:   paused(baseInput(v1(0), v1(1), v1(2))),
			waits:   []WaitReason{WaitPaused},
			message: "updates paused: 3 pods wait to move to revision v2",
		},
		{
			name:    "nor changes in traffic when the hand-off is disabled",
			input:   paused(with(baseInput(v1(0), v1(1), v1(2)), func(in *Input) { in.SkipHandoff = true })),
			waits:   []WaitReason{WaitPaused},
			message: "3 pods wait",
		},
		{
			name:    "a pod already drained for the update finishes it",
			input:   paused(baseInput(v1(0), v1(1), v1(2, outOfTraffic(5*time.Second, true)))),
			want:    []Action{UpdateInPlace{Name: "web-2", Revision: "v2", Handoff: HandoffDrained}},
			waits:   []WaitReason{WaitPaused},
			message: "2 pods wait",
		},
		{
			name:    "a pod still draining goes on draining",
			input:   paused(baseInput(v1(0), v1(1), v1(2, outOfTraffic(2*time.Second, true)))),
			waits:   []WaitReason{WaitDraining, WaitPaused},
			requeue: 3 * time.Second,
		},
		{
			name:  "a pod changing in place finishes and goes back into traffic",
			input: paused(baseInput(v1(0), v1(1), v2(2, outOfTraffic(9*time.Second, true), inProgress))),
			waits: []WaitReason{WaitInPlaceInProgress, WaitPaused},
		},
		{
			name:  "a lost pod is still replaced",
			input: paused(baseInput(v1(0), v1(1))),
			want:  []Action{CreatePod{Index: 2, Revision: "v2"}},
			waits: []WaitReason{WaitPaused},
		},
		{
			name:  "an operator's restart still runs",
			input: paused(baseInput(v2(0), v2(1), v2(2, restartRequested("r1")))),
			want:  []Action{SetServing{Name: "web-2", Serving: false, Reason: ServingRestart}},
		},
		{
			name:  "a paused set with nothing to update waits for nothing",
			input: paused(baseInput(v2(0), v2(1), v2(2))),
		},
	})
}
