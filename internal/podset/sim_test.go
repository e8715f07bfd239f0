package podset

import (
	"fmt"
	"math/rand"
	"reflect"
	"sort"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
)

// The simulation runs a whole InPlaceSet: a shell that carries out every
// plan (and sometimes crashes half-way and plans again), a kubelet that
// starts, restarts and deletes pods after random delays, endpoints that
// follow readiness with a lag, and a user who changes replicas, partition
// and revisions, stops slots and asks for restarts. Every plan is checked by
// checkPlan; the simulation adds the checks that span plans. Like the real
// shell, the simulated one often sees its own writes late: until a write
// shows, the planner gets the pod as it was before it, marked Pending.

// scenario selects what the chaos phase may do.
type scenario struct {
	// failures lets pods fail, flap and be deleted by someone else.
	failures bool
	// scaling lets the user change replicas and stop and start slots.
	scaling bool
	// restarts lets the user ask for restarts.
	restarts bool
	// alwaysInPlace makes every revision in-place-able under
	// InPlaceIfPossible, so no pod should ever be recreated.
	alwaysInPlace bool
}

type simPod struct {
	Pod
	uid         int
	startAt     time.Time // Pending until then
	goneAt      time.Time // a terminating pod disappears then
	doneAt      time.Time // an in-place change completes then
	unreadyTill time.Time // a readiness flap ends then
	heldTill    time.Time // another component holds the pod out of traffic until then
	inEndpoints bool
	// handoff is where the pod stands: new, in, out or changed.
	handoff string
}

type simulation struct {
	t        *testing.T
	r        *rand.Rand
	scenario scenario
	now      time.Time
	spec     Input
	stopped  map[int]bool
	pods     map[string]*simPod
	nextUID  int
	revision int
	token    int
	chaos    bool
	// updatedTo records "uid@revision" for every in-place update.
	updatedTo map[string]bool
	// budgetSteady is set once the set first settles in a scenario without
	// failures or scaling; from then on no step may exceed maxUnavailable.
	budgetSteady bool
	deletes      int
	// views are what the shell still sees of pods whose last write has not
	// shown yet, by pod name.
	views map[string]laggedView
	// stale are what the shell still sees of pods the serving controller
	// put back into traffic, by pod name: not pending (the write is not the
	// shell's), just old. A change the shell plans from such a view fails
	// its resourceVersion precondition.
	stale   map[string]laggedView
	returns int
}

// laggedView is a pod as the shell saw it before a write, until the write
// shows.
type laggedView struct {
	pod   Pod
	until time.Time
}

func newSimulation(t *testing.T, seed int64, sc scenario) *simulation {
	r := rand.New(rand.NewSource(seed))
	s := &simulation{
		t: t, r: r, scenario: sc, now: t0,
		stopped:   map[int]bool{},
		pods:      map[string]*simPod{},
		updatedTo: map[string]bool{},
		views:     map[string]laggedView{},
		stale:     map[string]laggedView{},
		revision:  1,
	}
	s.spec = Input{
		Replicas:         r.Intn(6) + 1,
		MinReady:         secondsUpTo(r, 3),
		MaxUnavailable:   r.Intn(3) + 1,
		Policy:           pick(r, InPlaceIfPossible, InPlaceOnly, Recreate),
		Drain:            secondsUpTo(r, 5),
		MaxDrainWait:     secondsUpTo(r, 10),
		AllowEmpty:       r.Intn(5) == 0,
		UpdateRevision:   "r1",
		InPlaceUpdatable: true,
	}
	if sc.alwaysInPlace {
		s.spec.Policy = InPlaceIfPossible
	}
	s.spec.Partition = r.Intn(s.spec.Replicas + 1)
	return s
}

func (s *simulation) fatalf(format string, args ...any) {
	s.t.Helper()
	s.t.Fatalf("at %s: %s\npods:\n%s", s.now.Sub(t0), fmt.Sprintf(format, args...), s.dump())
}

func (s *simulation) dump() string {
	out := fmt.Sprintf("spec %+v stopped %v\n", s.spec, s.stopped)
	for _, name := range s.names() {
		p := s.pods[name]
		out += fmt.Sprintf("  uid %d %s %+v endpoints=%v\n", p.uid, p.handoff, p.Pod, p.inEndpoints)
	}
	return out
}

func (s *simulation) names() []string {
	var names []string
	for n := range s.pods {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// input is the set as the shell sees it: pods whose last write has not shown
// yet are as they were before it, marked Pending.
func (s *simulation) input() Input {
	in := s.truth()
	in.Pods = nil
	names := map[string]bool{}
	for name := range s.pods {
		names[name] = true
	}
	for name, v := range s.views {
		if !s.now.Before(v.until) {
			delete(s.views, name)
			continue
		}
		names[name] = true
	}
	for name, v := range s.stale {
		if !s.now.Before(v.until) || s.pods[name] == nil {
			delete(s.stale, name)
		}
	}
	for _, name := range sortedKeys(names) {
		if v, ok := s.views[name]; ok {
			in.Pods = append(in.Pods, v.pod)
		} else if v, ok := s.stale[name]; ok {
			in.Pods = append(in.Pods, v.pod)
		} else {
			in.Pods = append(in.Pods, s.pods[name].Pod)
		}
	}
	return in
}

// lag makes the write about to change a pod show late, sometimes: the shell
// keeps seeing the pod as it is now (for a pod being created, only its name,
// index and revision).
func (s *simulation) lag(name string, before *Pod) {
	if s.r.Intn(3) != 0 {
		return
	}
	v := laggedView{pod: *before, until: s.now.Add(time.Duration(1+s.r.Intn(2)) * time.Second)}
	v.pod.Pending = true
	s.views[name] = v
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// truth is the set as it really is.
func (s *simulation) truth() Input {
	in := s.spec
	in.Now = s.now
	in.StoppedIndexes = nil
	for i := range s.stopped {
		in.StoppedIndexes = append(in.StoppedIndexes, i)
	}
	sort.Ints(in.StoppedIndexes)
	in.Pods = nil
	for _, name := range s.names() {
		in.Pods = append(in.Pods, s.pods[name].Pod)
	}
	return in
}

// plan plans from the current state and checks the plan on its own.
func (s *simulation) plan() Result {
	s.t.Helper()
	in := s.input()
	res := Plan(in)
	if again := Plan(shuffled(s.r, in)); !reflect.DeepEqual(res, again) {
		s.fatalf("plan is not deterministic:\n%#v\n%#v", res, again)
	}
	if err := checkPlan(in, res); err != nil {
		s.fatalf("%v\nactions %#v\nwaiting %s", err, res.Actions, res.WaitingMessage())
	}
	return res
}

// shellPass plans and carries the plan out; sometimes the shell crashes
// after part of it and a restarted shell plans again from what it finds.
func (s *simulation) shellPass() Result {
	res := s.plan()
	if s.r.Intn(10) == 0 && len(res.Actions) > 0 {
		s.apply(res.Actions[:s.r.Intn(len(res.Actions))])
		res = s.plan()
	}
	before := s.liveUpdated()
	s.apply(res.Actions)
	// With no current revision, every new pod gets the update revision.
	if after := s.liveUpdated(); s.spec.CurrentRevision != "" && after > before && after > s.updateTarget() {
		s.fatalf("the plan brought %d pods to the update revision, beyond the partition's %d", after, s.updateTarget())
	}
	for _, i := range res.DroppedStoppedIndexes {
		delete(s.stopped, i)
	}
	return res
}

func (s *simulation) apply(actions []Action) {
	for _, a := range actions {
		if name := actionPod(a); name != "" {
			if _, seen := s.views[name]; seen {
				s.fatalf("%#v on a pod whose last write has not shown", a)
			}
			if _, old := s.stale[name]; old {
				// Every pod write carries the resourceVersion the plan saw:
				// the pod changed since, so the API server refuses it.
				continue
			}
			s.lag(name, &s.pods[name].Pod)
		}
		switch a := a.(type) {
		case CreatePod:
			name := fmt.Sprintf("web-%d", a.Index)
			if _, exists := s.pods[name]; exists {
				s.fatalf("created %s while it exists", name)
			}
			s.lag(name, &Pod{Name: name, Index: a.Index, Revision: a.Revision})
			s.nextUID++
			s.pods[name] = &simPod{
				Pod: Pod{Name: name, Index: a.Index, Revision: a.Revision,
					Phase: corev1.PodPending, OutOfEndpoints: true},
				uid: s.nextUID, startAt: s.now.Add(secondsUpTo(s.r, 3)), handoff: "new",
			}
		case DeletePod:
			p := s.pods[a.Name]
			if a.Reason != DeleteFailed && a.Handoff != HandoffNone {
				s.changed(p)
			}
			p.Deleting = true
			p.goneAt = s.now.Add(secondsUpTo(s.r, 3))
			s.deletes++
		case SetServing:
			p := s.pods[a.Name]
			if a.Serving {
				if p.handoff == "in" {
					s.fatalf("%s put into traffic twice", p.Name)
				}
				p.Serving, p.handoff = corev1.ConditionTrue, "in"
			} else {
				if p.handoff != "new" && p.handoff != "in" {
					s.fatalf("%s taken out of traffic from %s", p.Name, p.handoff)
				}
				p.Serving, p.handoff = corev1.ConditionFalse, "out"
			}
			p.ServingSince, p.ServingReason = s.now, a.Reason
		case UpdateInPlace:
			p := s.pods[a.Name]
			key := fmt.Sprintf("%d@%s", p.uid, a.Revision)
			if s.updatedTo[key] {
				s.fatalf("%s updated to %s twice", p.Name, a.Revision)
			}
			s.updatedTo[key] = true
			s.changed(p)
			p.Revision = a.Revision
			s.startInPlace(p)
		case RestartInPlace:
			p := s.pods[a.Name]
			s.changed(p)
			p.RestartHandled = a.Token
			s.startInPlace(p)
		}
	}
}

// servingController puts pods back into traffic as the serving controller
// does, from the pods as they are; the shell often sees that late.
func (s *simulation) servingController() {
	for _, name := range s.names() {
		p := s.pods[name]
		if _, pending := s.views[name]; pending {
			continue // its watch shows the pod as the shell's write left it
		}
		if ok, _ := Returnable(&p.Pod, s.spec.UpdateRevision, s.spec.MinReady, s.now); !ok {
			continue
		}
		if p.handoff == "in" {
			s.fatalf("%s put into traffic twice", p.Name)
		}
		if s.r.Intn(3) == 0 {
			s.stale[name] = laggedView{pod: p.Pod, until: s.now.Add(time.Duration(1+s.r.Intn(2)) * time.Second)}
		}
		p.Serving, p.ServingSince, p.ServingReason, p.handoff = corev1.ConditionTrue, s.now, ServingReady, "in"
		s.returns++
	}
}

// changed records a change (update, restart, removal); the pod must have
// left traffic before.
func (s *simulation) changed(p *simPod) {
	if p.handoff != "out" && p.handoff != "changed" {
		s.fatalf("%s changed while %s", p.Name, p.handoff)
	}
	p.handoff = "changed"
}

func (s *simulation) startInPlace(p *simPod) {
	p.InPlaceInProgress = true
	p.doneAt = s.now.Add(time.Duration(1+s.r.Intn(4)) * time.Second)
}

// kubelet moves every pod along and lets endpoints follow with a lag.
func (s *simulation) kubelet() {
	for _, name := range s.names() {
		p := s.pods[name]
		if p.Deleting && !s.now.Before(p.goneAt) {
			delete(s.pods, name)
			continue
		}
		if p.Phase == corev1.PodPending && !s.now.Before(p.startAt) {
			p.Phase = corev1.PodRunning
		}
		if p.InPlaceInProgress && !s.now.Before(p.doneAt) {
			p.InPlaceInProgress = false
		}
		if s.chaos && s.scenario.failures && p.Phase == corev1.PodRunning && !p.Deleting {
			switch s.r.Intn(200) {
			case 0:
				p.Phase = corev1.PodFailed
			case 1, 2:
				p.unreadyTill = s.now.Add(time.Duration(1+s.r.Intn(5)) * time.Second)
			case 3:
				p.Deleting, p.goneAt = true, s.now.Add(secondsUpTo(s.r, 3))
			case 4:
				p.heldTill = s.now.Add(time.Duration(1+s.r.Intn(5)) * time.Second)
			}
		}
		p.HeldOut = s.now.Before(p.heldTill)
		ready := p.Phase == corev1.PodRunning && !p.InPlaceInProgress && !s.now.Before(p.unreadyTill)
		if ready != p.Ready {
			p.Ready, p.ReadySince = ready, s.now
		}
		want := p.Phase == corev1.PodRunning && !p.Deleting &&
			(p.CannotLeaveEndpoints || (p.Ready && p.Serving == corev1.ConditionTrue && !p.HeldOut))
		if p.inEndpoints != want && s.r.Intn(3) != 0 {
			p.inEndpoints = want
		}
		p.OutOfEndpoints = !p.inEndpoints
	}
}

// user changes the spec and asks for VM-style operations.
func (s *simulation) user() {
	r := s.r
	if s.scenario.scaling && r.Intn(30) == 0 {
		s.spec.Replicas = r.Intn(7)
	}
	if r.Intn(15) == 0 {
		s.spec.Partition = r.Intn(s.spec.Replicas + 2)
	}
	if r.Intn(25) == 0 {
		s.revision++
		s.spec.CurrentRevision = s.spec.UpdateRevision
		s.spec.UpdateRevision = fmt.Sprintf("r%d", s.revision)
		s.spec.InPlaceUpdatable = s.scenario.alwaysInPlace || r.Intn(10) < 7
	}
	if !s.scenario.alwaysInPlace && r.Intn(100) == 0 {
		s.spec.Policy = pick(r, InPlaceIfPossible, InPlaceOnly, Recreate)
	}
	names := s.names()
	if s.scenario.scaling && r.Intn(50) == 0 && len(names) > 0 {
		s.stopped[s.pods[pick(r, names...)].Index] = true
	}
	if s.scenario.scaling && r.Intn(50) == 0 {
		for i := range s.stopped {
			delete(s.stopped, i)
			break
		}
	}
	if s.scenario.restarts && r.Intn(40) == 0 && len(names) > 0 {
		s.token++
		s.pods[pick(r, names...)].RestartRequested = fmt.Sprintf("t%d", s.token)
	}
}

// settled reports whether nothing is moving: no pod in transition, the
// endpoints caught up, no action planned and nothing waited for but the
// two waits that only the user can end.
func (s *simulation) settled(res Result) bool {
	if len(res.Actions) > 0 || len(s.views) > 0 || len(s.stale) > 0 {
		return false
	}
	for _, w := range res.Waiting {
		if w.Reason != WaitUnitWouldBeEmpty && w.Reason != WaitInPlaceImpossible {
			return false
		}
	}
	for _, p := range s.pods {
		want := p.Phase == corev1.PodRunning && !p.Deleting &&
			(p.CannotLeaveEndpoints || (p.Ready && p.Serving == corev1.ConditionTrue && !p.HeldOut))
		if p.HeldOut || p.Phase != corev1.PodRunning || !p.Ready || p.Deleting || p.InPlaceInProgress || p.inEndpoints != want {
			return false
		}
	}
	return true
}

// checkSettled checks the end state against the spec.
func (s *simulation) checkSettled(res Result) {
	in := s.truth()
	live := s.live(&in)
	stuck := map[WaitReason]bool{}
	for _, w := range res.Waiting {
		stuck[w.Reason] = true
	}
	if stuck[WaitUnitWouldBeEmpty] && (in.AllowEmpty || len(live) != 1) {
		s.fatalf("stuck on UnitWouldBeEmpty without a reason: %s", res.WaitingMessage())
	}
	if stuck[WaitInPlaceImpossible] && (in.Policy != InPlaceOnly || in.InPlaceUpdatable) {
		s.fatalf("stuck on InPlaceImpossible without a reason: %s", res.WaitingMessage())
	}
	if len(in.Pods) != len(live) {
		s.fatalf("%d pods for %d live slots", len(in.Pods), len(live))
	}
	updated := 0
	for _, p := range in.Pods {
		if !live[p.Index] || !isInTraffic(&p) {
			s.fatalf("pod %s is not a live slot in traffic", p.Name)
		}
		if p.Revision == in.UpdateRevision {
			updated++
		}
		if p.restartPending() && !stuck[WaitUnitWouldBeEmpty] {
			s.fatalf("restart of %s never happened", p.Name)
		}
	}
	// A raised partition leaves updated pods alone, so more may be updated.
	if target := s.updateTarget(); len(stuck) == 0 && updated < target {
		s.fatalf("%d pods at %s, want at least replicas %d - partition %d = %d",
			updated, in.UpdateRevision, in.Replicas, in.Partition, target)
	}
}

// liveUpdated counts the live slots whose pod is at the update revision, and
// updateTarget is how many there should be.
func (s *simulation) liveUpdated() int {
	in := s.truth()
	live := s.live(&in)
	n := 0
	for _, p := range in.Pods {
		if live[p.Index] && p.Revision == in.UpdateRevision {
			n++
		}
	}
	return n
}

func (s *simulation) updateTarget() int {
	in := s.truth()
	return min(max(in.Replicas-in.Partition, 0), len(s.live(&in)))
}

func (s *simulation) live(in *Input) map[int]bool {
	var indexes []int
	for _, p := range in.Pods {
		indexes = append(indexes, p.Index)
	}
	return liveSlots(in.Replicas, s.stopped, indexes)
}

// run runs the chaos phase, then lets the set settle and checks the result.
func (s *simulation) run(chaosSteps, bound int) {
	s.chaos = true
	for step := 0; step < chaosSteps; step++ {
		s.user()
		s.kubelet()
		s.servingController()
		res := s.shellPass()
		s.checkSteadyBudget(res)
		s.now = s.now.Add(time.Second)
	}
	s.chaos = false
	for step := 0; ; step++ {
		if step > bound {
			s.fatalf("did not settle within %d steps", bound)
		}
		s.kubelet()
		s.servingController()
		res := s.shellPass()
		if s.settled(res) {
			s.checkSettled(res)
			return
		}
		s.now = s.now.Add(time.Second)
	}
}

// checkSteadyBudget: without failures and scaling, once the set has
// settled, only the planner makes pods unavailable, so maxUnavailable must
// hold at every step, not only when a change starts.
func (s *simulation) checkSteadyBudget(res Result) {
	if s.scenario.failures || s.scenario.scaling {
		return
	}
	if !s.budgetSteady {
		s.budgetSteady = s.settled(res)
		return
	}
	in := s.truth()
	if n := unavailableLive(&in); n > in.MaxUnavailable {
		s.fatalf("%d pods unavailable, maxUnavailable %d", n, in.MaxUnavailable)
	}
}

func (s *simulation) uids() map[string]int {
	m := map[string]int{}
	for name, p := range s.pods {
		m[name] = p.uid
	}
	return m
}

// settleBound bounds the steps (seconds) a set needs to settle once the
// chaos stops. One pod's change takes at most about 30s here (start 3s,
// drain 5s, endpoints wait 10s, in-place change 4s, minReadySeconds 3s,
// deletion 3s, endpoint lags); with six pods changed one at a time, each
// possibly both updated and restarted, that is 360s. Runs settle in under
// a minute in practice.
const settleBound = 400

func simSeeds(t *testing.T, runs int) []int64 {
	base := *seedFlag
	t.Logf("seeds %d..%d (rerun with -podset.seed=%d)", base, base+int64(runs)-1, base)
	seeds := make([]int64, runs)
	for i := range seeds {
		seeds[i] = base + int64(i)
	}
	return seeds
}

func TestSimulationWithChaos(t *testing.T) {
	for _, sc := range []scenario{
		{failures: true, scaling: true, restarts: true},
		{failures: true},
		{scaling: true, restarts: true},
	} {
		for _, seed := range simSeeds(t, 150) {
			t.Run(fmt.Sprintf("%+v/seed=%d", sc, seed), func(t *testing.T) {
				newSimulation(t, seed, sc).run(300, settleBound)
			})
		}
	}
}

// TestSimulationSteadyBudget runs releases and restarts with nothing else
// going on: maxUnavailable must hold at every single step.
func TestSimulationSteadyBudget(t *testing.T) {
	for _, seed := range simSeeds(t, 150) {
		t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) {
			s := newSimulation(t, seed, scenario{restarts: true})
			s.run(300, settleBound)
			if !s.budgetSteady {
				t.Fatal("the set never settled, so the steady budget was never checked")
			}
		})
	}
}

// TestSimulationInPlaceKeepsPods: with in-place-able releases only, every
// pod that exists once the set has settled is the same pod, under the same
// name, after any number of releases and restarts.
func TestSimulationInPlaceKeepsPods(t *testing.T) {
	updates := 0
	for _, seed := range simSeeds(t, 100) {
		t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) {
			s := newSimulation(t, seed, scenario{restarts: true, alwaysInPlace: true})
			s.run(0, settleBound)
			before, deletes := s.uids(), s.deletes
			s.run(300, settleBound)
			if after := s.uids(); !reflect.DeepEqual(before, after) {
				t.Fatalf("pods changed identity: before %v after %v", before, after)
			}
			if s.deletes != deletes {
				t.Fatalf("%d pods deleted during in-place releases", s.deletes-deletes)
			}
			updates += len(s.updatedTo)
		})
	}
	// Guard against a vacuous pass: the runs must have updated pods.
	if updates < 100 {
		t.Fatalf("only %d in-place updates in all runs", updates)
	}
	t.Logf("%d in-place updates kept their pods", updates)
}
