//go:build integration

package router

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	trafficv1alpha1 "github.com/cafe-dev/cafe/api/traffic/v1alpha1"
	"github.com/cafe-dev/cafe/config/admission"
	"github.com/cafe-dev/cafe/internal/router/proxy"
	"github.com/cafe-dev/cafe/internal/testenv"
	"github.com/cafe-dev/cafe/test/router/scenario"
)

var declared = scenario.Declared

// sampleOf picks a few shards of a unit: its ends and its middle.
func sampleOf(shards []int) []int {
	return []int{shards[0], shards[len(shards)/2], shards[len(shards)-1]}
}

func TestEveryShardIsServedByItsUnitFromEveryRouter(t *testing.T) {
	f := newFixture(t)
	for unit, shards := range declared {
		// At every router, including other units' (one hop).
		if ok, why := f.servedBy(shards, unit); !ok {
			t.Errorf("unit %s's shards: %s", unit, why)
		}
	}
	// Both backends of a unit take traffic.
	for _, unit := range units {
		for _, b := range f.backends[unit] {
			if b.Hits() == 0 {
				t.Errorf("backend %s got no request", b.Name)
			}
		}
	}

	// A request that was already forwarded once is never forwarded again.
	hopped := f.get("unit-a", declared["unit-b"][0], http.Header{proxy.HeaderHop: {"1"}, proxy.HeaderEpoch: {"1"}, proxy.HeaderForwardedBy: {"unit-c"}})
	if hopped.status != http.StatusLoopDetected || !strings.Contains(hopped.body, "cannot be forwarded again") {
		t.Errorf("a second hop got %d %q, want 508", hopped.status, hopped.body)
	}

	sm := f.shardMap()
	for _, c := range []string{trafficv1alpha1.ShardMapValid, trafficv1alpha1.ShardMapServing} {
		if cond := meta.FindStatusCondition(sm.Status.Conditions, c); cond == nil || cond.Status != metav1.ConditionTrue {
			t.Errorf("ShardMap condition %s = %+v, want True", c, cond)
		}
	}
	if sm.Status.Epoch < 1 || sm.Status.ObservedGeneration != sm.Generation {
		t.Errorf("ShardMap status epoch %d observedGeneration %d (generation %d)", sm.Status.Epoch, sm.Status.ObservedGeneration, sm.Generation)
	}
	testenv.Eventually(t, 10*time.Second, "the Route's Accepted condition", func() (bool, string) {
		var r trafficv1alpha1.Route
		f.must(env.Client.Get(context.Background(), types.NamespacedName{Namespace: f.ns, Name: routeName}, &r))
		c := meta.FindStatusCondition(r.Status.Conditions, trafficv1alpha1.RouteAccepted)
		return c != nil && c.Status == metav1.ConditionTrue, fmt.Sprintf("Route status %+v", r.Status)
	})
	leaders := 0
	for _, unit := range units {
		if f.routers[unit].controller.Leading() {
			leaders++
		}
	}
	if leaders != 1 {
		t.Errorf("%d failover controllers lead, want exactly 1", leaders)
	}
}

func TestShardMapChangesMoveTraffic(t *testing.T) {
	f := newFixture(t)
	start := f.shardMap().Status.Epoch

	// Move shards 0-9 from unit-a to unit-b.
	began := time.Now()
	f.updateShardMap(func(s *trafficv1alpha1.ShardMapSpec) {
		s.Units[0].Ranges = []trafficv1alpha1.ShardRange{{From: 10, To: 33}}
		s.Units[1].Ranges = []trafficv1alpha1.ShardRange{{From: 0, To: 9}, {From: 34, To: 66}}
	})
	testenv.Eventually(t, 10*time.Second, "shards 0-9 served by unit-b", func() (bool, string) {
		return f.servedBy([]int{0, 5, 9}, "unit-b")
	})
	t.Logf("range move: every router serves the moved shards from unit-b %v after the update", time.Since(began))
	if ok, why := f.servedBy([]int{10, 33}, "unit-a"); !ok {
		t.Errorf("unit-a's remaining shards: %s", why)
	}

	// Drain unit-c by hand: its shards go to its failoverTo, unit-a.
	began = time.Now()
	f.updateShardMap(func(s *trafficv1alpha1.ShardMapSpec) { s.Units[2].State = trafficv1alpha1.UnitDraining })
	testenv.Eventually(t, 10*time.Second, "unit-c's shards served by unit-a", func() (bool, string) {
		return f.servedBy(sampleOf(declared["unit-c"]), "unit-a")
	})
	t.Logf("drain: every router serves unit-c's shards from unit-a %v after the update", time.Since(began))

	// Back to Active: unit-c has been healthy all along, so its shards
	// come back once it has been healthy for failbackAfter.
	f.updateShardMap(func(s *trafficv1alpha1.ShardMapSpec) { s.Units[2].State = trafficv1alpha1.UnitActive })
	testenv.Eventually(t, 10*time.Second, "unit-c's shards back in unit-c", func() (bool, string) {
		return f.servedBy(sampleOf(declared["unit-c"]), "unit-c")
	})

	sm := f.shardMap()
	if sm.Status.Epoch < start+3 {
		t.Errorf("three changes took the epoch from %d to %d only", start, sm.Status.Epoch)
	}
	f.tables.stop()
	if shared := f.tables.check(t); len(shared) < 3 {
		t.Errorf("routers shared only epochs %v: the split-brain check saw too little", shared)
	}
}

// withoutRangesPolicy removes the binding of CAFE's cafe-shardmap-ranges
// admission policy until the test ends, as on a cluster installed without
// the admission policies, so that overlapping ranges reach the controller.
func withoutRangesPolicy(t *testing.T, overlapping func() error) {
	t.Helper()
	ctx := context.Background()
	bindings := env.Kube.AdmissionregistrationV1().ValidatingAdmissionPolicyBindings()
	if err := bindings.Delete(ctx, "cafe-shardmap-ranges", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := admission.Install(ctx, env.Config); err != nil {
			t.Fatalf("reinstall the admission policies: %v", err)
		}
		testenv.Eventually(t, time.Minute, "overlapping ranges refused again", func() (bool, string) {
			return overlapping() != nil, "accepted"
		})
	})
	testenv.Eventually(t, time.Minute, "overlapping ranges let through", func() (bool, string) {
		err := overlapping()
		return err == nil, fmt.Sprint(err)
	})
}

func TestInvalidShardMapKeepsTheLastGoodOne(t *testing.T) {
	f := newFixture(t)
	before := f.shardMap().Status.Epoch

	// unit-a claims 34-40, which unit-b owns, and 93-99 belong to nobody:
	// the sizes still add up, so the CRD's rules let it through.
	overlap := func(s *trafficv1alpha1.ShardMapSpec) {
		s.Units[0].Ranges = []trafficv1alpha1.ShardRange{{From: 0, To: 40}}
		s.Units[2].Ranges = []trafficv1alpha1.ShardRange{{From: 67, To: 92}}
	}
	overlapping := func() error {
		sm := f.shardMap()
		overlap(&sm.Spec)
		return env.Client.Update(context.Background(), sm, client.DryRunAll)
	}
	// CAFE's admission policy refuses it at apply...
	if err := overlapping(); err == nil || !strings.Contains(err.Error(), "spec.units[].ranges: shards 0-40 of unit unit-a overlap shards 34-66 of unit unit-b") {
		t.Errorf("overlapping ranges: got %v, want the cafe-shardmap-ranges policy's refusal", err)
	}
	// ...and where that policy is not installed, the controller's compile
	// catches it.
	withoutRangesPolicy(t, overlapping)
	f.updateShardMap(overlap)
	testenv.Eventually(t, 10*time.Second, "Valid=False on the ShardMap", func() (bool, string) {
		sm := f.shardMap()
		c := meta.FindStatusCondition(sm.Status.Conditions, trafficv1alpha1.ShardMapValid)
		return c != nil && c.Status == metav1.ConditionFalse && sm.Status.ObservedGeneration == sm.Generation, fmt.Sprintf("status %+v", sm.Status)
	})
	sm := f.shardMap()
	valid := meta.FindStatusCondition(sm.Status.Conditions, trafficv1alpha1.ShardMapValid)
	for _, problem := range []string{"shard 34 is also owned by unit \"unit-a\"", "shards 93-99 are owned by no unit"} {
		if !strings.Contains(valid.Message, problem) {
			t.Errorf("Valid=False message %q does not say %q", valid.Message, problem)
		}
	}
	if sm.Status.Epoch != before {
		t.Errorf("an invalid spec moved the epoch from %d to %d", before, sm.Status.Epoch)
	}
	testenv.Eventually(t, 10*time.Second, "every router to log the refusal", func() (bool, string) {
		logs := f.logs.String()
		for _, unit := range units {
			if !strings.Contains(logs, "msg=\"shard map refused; the last good one stays in force\" unit="+unit) {
				return false, unit + " has not logged the refusal"
			}
		}
		return true, ""
	})
	for unit, epoch := range f.epochs() {
		if epoch != before {
			t.Errorf("router %s moved from epoch %d to %d", unit, before, epoch)
		}
	}
	for unit, shards := range declared {
		if ok, why := f.servedBy(sampleOf(shards), unit); !ok {
			t.Errorf("the last good map is not in force: %s", why)
		}
	}

	// Fixing the spec applies it under a new epoch.
	f.updateShardMap(func(s *trafficv1alpha1.ShardMapSpec) {
		s.Units[0].Ranges = []trafficv1alpha1.ShardRange{{From: 0, To: 33}}
		s.Units[2].Ranges = []trafficv1alpha1.ShardRange{{From: 67, To: 99}}
	})
	testenv.Eventually(t, 10*time.Second, "the fixed map in force everywhere", func() (bool, string) {
		for unit, epoch := range f.epochs() {
			if epoch != before+1 {
				return false, unit + " not at the next epoch"
			}
		}
		return true, ""
	})
}

// TestDeadUnitFailsOverAndBack kills both backends of unit-b while clients
// send idempotent requests for its shards to every router, then brings
// them back.
func TestDeadUnitFailsOverAndBack(t *testing.T) {
	f := newFixture(t)
	shards := sampleOf(declared["unit-b"])
	loop := startGetLoop(units, shards, func(router string, shard int) (int, string) {
		a := f.get(router, shard, nil)
		return a.status, a.body
	})
	defer loop.stop()

	time.Sleep(300 * time.Millisecond)
	before := f.shardMap().Status.Epoch
	began := time.Now()
	for _, b := range f.backends["unit-b"] {
		b.Stop()
	}
	// The routers send unit-b's idempotent requests to its failoverTo,
	// unit-c, as soon as unit-b's endpoints fail, before the control plane
	// moves the shards.
	testenv.Eventually(t, 15*time.Second, "unit-b's shards served by unit-c", func() (bool, string) {
		return f.servedBy(shards, "unit-c")
	})
	servedTook := time.Since(began)
	testenv.Eventually(t, 15*time.Second, "every router at the failover epoch", func() (bool, string) {
		for unit, epoch := range f.epochs() {
			if epoch != before+1 {
				return false, fmt.Sprintf("router %s at epoch %d", unit, epoch)
			}
		}
		return true, ""
	})
	failoverTook := time.Since(began)
	// Load goes on across the epoch change, which must not fail requests
	// either.
	time.Sleep(300 * time.Millisecond)
	if ok, why := f.servedBy(shards, "unit-c"); !ok {
		t.Errorf("after the failover epoch: %s", why)
	}
	sm := f.shardMap()
	if sm.Status.Epoch != before+1 {
		t.Errorf("failover took the epoch from %d to %d, want one step", before, sm.Status.Epoch)
	}
	for _, row := range sm.Status.Effective {
		if row.Unit == "unit-b" && row.ServedBy != "unit-c" {
			t.Errorf("status says unit-b is served by %q", row.ServedBy)
		}
	}
	loop.stop()
	t.Logf("failover: unit-b's requests served by unit-c %v after its backends died, shards moved %v after; %d of %d idempotent requests failed meanwhile (first: %v)",
		servedTook, failoverTook, loop.failed.Load(), loop.sent.Load(), loop.first.Load())
	if loop.failed.Load() != 0 {
		t.Errorf("%d of %d idempotent requests failed while unit-b's endpoints were dead (first: %v); want none", loop.failed.Load(), loop.sent.Load(), loop.first.Load())
	}

	began = time.Now()
	for _, b := range f.backends["unit-b"] {
		f.must(b.Start())
	}
	testenv.Eventually(t, 15*time.Second, "every router at the failback epoch", func() (bool, string) {
		for unit, epoch := range f.epochs() {
			if epoch != before+2 {
				return false, fmt.Sprintf("router %s at epoch %d", unit, epoch)
			}
		}
		return true, ""
	})
	took := time.Since(began)
	// At once, not after the proxy's outlier ejections of the dead
	// endpoints expire: the router forgets them when its unit fails back.
	if ok, why := f.servedBy(shards, "unit-b"); !ok {
		t.Errorf("right after failback: %s", why)
	}
	if took < failbackAfter {
		t.Errorf("failback after %v, before unit-b was healthy for failbackAfter (%v)", took, failbackAfter)
	}
	t.Logf("failback: unit-b serves its shards again %v after its backends came back (failbackAfter %v)", took, failbackAfter)
	if got := f.shardMap().Status.Epoch; got != before+2 {
		t.Errorf("failover and failback took the epoch from %d to %d, want two steps", before, got)
	}
	f.tables.stop()
	if shared := f.tables.check(t); len(shared) < 3 {
		t.Errorf("routers shared only epochs %v: the split-brain check saw too little", shared)
	}
}
