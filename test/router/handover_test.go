//go:build integration

package router

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	trafficv1alpha1 "github.com/cafe-dev/cafe/api/traffic/v1alpha1"
	"github.com/cafe-dev/cafe/internal/router/failover"
	"github.com/cafe-dev/cafe/internal/router/kube"
	"github.com/cafe-dev/cafe/internal/testenv"
	"github.com/cafe-dev/cafe/test/router/scenario"
)

// TestFailoverLeaderHandover stops the router whose failover controller
// leads, and checks that another candidate takes the Lease within the
// lease timing and goes on deciding: a unit whose endpoints all die
// afterwards is failed over, and back, by the new leader. Meanwhile every
// epoch the ShardMap's status goes through is recorded from a watch: the
// sequence never repeats an epoch for another table nor goes back, and the
// routers still running never route a shard to different units at the same
// epoch (the fixture's tableLog).
func TestFailoverLeaderHandover(t *testing.T) {
	f := newFixture(t)
	epochs := watchEpochs(t, f.ns)

	var old string
	testenv.Eventually(t, 2*leaseDuration, "exactly one failover leader, holding the Lease", func() (bool, string) {
		leaders := f.leaders(units)
		holder := leaseHolder(t, f.ns)
		if len(leaders) != 1 || holder != leaders[0] {
			return false, fmt.Sprintf("leaders %v, Lease holder %q", leaders, holder)
		}
		old = leaders[0]
		return true, ""
	})
	var rest []string
	for _, unit := range units {
		if unit != old {
			rest = append(rest, unit)
		}
	}
	// The unit to kill, and its target, must both have running routers:
	// exactly one of the two remaining units fails over to the other.
	var victim string
	for _, unit := range rest {
		if target := scenario.FailoverTo[unit]; target != old {
			victim = unit
		}
	}
	target := scenario.FailoverTo[victim]
	t.Logf("leader %s; stopping its router, then killing %s's endpoints (failoverTo %s)", old, victim, target)
	before := f.shardMap().Status.Epoch

	began := time.Now()
	if !f.routers[old].stop() {
		t.Fatalf("router %s did not stop", old)
	}
	if f.routers[old].controller.Leading() {
		t.Fatalf("the stopped router %s still leads", old)
	}
	// The old leader released the Lease on its way out; a candidate
	// retries every retryPeriod (jittered by up to 1.2x). A crashed leader
	// that could not release it would be replaced after leaseDuration.
	var leader string
	testenv.Eventually(t, leaseDuration+3*retryPeriod, "a new failover leader among the remaining routers", func() (bool, string) {
		leaders := f.leaders(rest)
		holder := leaseHolder(t, f.ns)
		if len(leaders) != 1 || holder != leaders[0] {
			return false, fmt.Sprintf("leaders %v, Lease holder %q", leaders, holder)
		}
		leader = leaders[0]
		return true, ""
	})
	handover := time.Since(began)
	t.Logf("handover: %s leads %v after %s's router stopped (leaseDuration %v, retryPeriod %v)", leader, handover, old, leaseDuration, retryPeriod)
	if got := f.shardMap().Status.Epoch; got != before {
		t.Errorf("the leader change alone moved the epoch from %d to %d", before, got)
	}

	// Idempotent GETs for the victim's shards at the remaining routers,
	// across the failover and the failback: none may fail.
	shards := sampleOf(declared[victim])
	loop := startGetLoop(rest, shards, func(router string, shard int) (int, string) {
		a := f.get(router, shard, nil)
		return a.status, a.body
	})
	defer loop.stop()

	began = time.Now()
	for _, b := range f.backends[victim] {
		b.Stop()
	}
	testenv.Eventually(t, 15*time.Second, "the new leader to fail "+victim+" over", func() (bool, string) {
		sm := f.shardMap()
		return sm.Status.Epoch == before+1 && servedByInStatus(sm, victim) == target,
			fmt.Sprintf("status epoch %d, %s served by %q", sm.Status.Epoch, victim, servedByInStatus(sm, victim))
	})
	t.Logf("failover under the new leader: status moved %s to %s %v after its endpoints died", victim, target, time.Since(began))
	f.decidedBy(leader, before+1)
	testenv.Eventually(t, 10*time.Second, "the remaining routers at the failover epoch", func() (bool, string) {
		return f.atEpoch(rest, before+1)
	})
	if ok, why := f.servedByAt(rest, shards, target); !ok {
		t.Errorf("after the failover epoch: %s", why)
	}

	began = time.Now()
	for _, b := range f.backends[victim] {
		f.must(b.Start())
	}
	testenv.Eventually(t, 15*time.Second, "the new leader to fail "+victim+" back", func() (bool, string) {
		sm := f.shardMap()
		return sm.Status.Epoch == before+2 && servedByInStatus(sm, victim) == victim,
			fmt.Sprintf("status epoch %d, %s served by %q", sm.Status.Epoch, victim, servedByInStatus(sm, victim))
	})
	if took := time.Since(began); took < failbackAfter {
		t.Errorf("failback %v after the endpoints came back, before failbackAfter (%v)", took, failbackAfter)
	}
	f.decidedBy(leader, before+2)
	testenv.Eventually(t, 10*time.Second, "the remaining routers at the failback epoch", func() (bool, string) {
		return f.atEpoch(rest, before+2)
	})
	if ok, why := f.servedByAt(rest, shards, victim); !ok {
		t.Errorf("after the failback epoch: %s", why)
	}
	loop.stop()
	t.Logf("%d of %d idempotent GETs failed across failover and failback (first: %v)", loop.failed.Load(), loop.sent.Load(), loop.first.Load())
	if loop.failed.Load() != 0 {
		t.Errorf("%d of %d idempotent GETs for %s's shards failed (first: %v); want none", loop.failed.Load(), loop.sent.Load(), victim, loop.first.Load())
	}
	if !f.routers[leader].controller.Leading() {
		t.Errorf("%s lost the lead during the test", leader)
	}

	// The status epochs, in the order the API server wrote them.
	seq := epochs.stop(t)
	t.Logf("ShardMap status epochs seen by the watch: %v", seq)
	if len(seq) == 0 || seq[len(seq)-1] != before+2 || !containsAll(seq, before, before+1, before+2) {
		t.Errorf("the watch saw epochs %v, want them to include %d, %d and %d and end at %d", seq, before, before+1, before+2, before+2)
	}
	f.tables.stop()
	f.tables.check(t)
	shared := f.tables.sharedBy(rest...)
	if !containsAll(shared, before, before+1, before+2) {
		t.Errorf("the remaining routers shared only epochs %v: the split-brain check saw too little", shared)
	}
}

// leaders lists the routers among from whose controllers lead now.
func (f *fixture) leaders(from []string) []string {
	var out []string
	for _, unit := range from {
		if f.routers[unit].controller.Leading() {
			out = append(out, unit)
		}
	}
	return out
}

// decidedBy checks that the router of unit logged the decision that
// stamped epoch, as the leader.
func (f *fixture) decidedBy(unit string, epoch int64) {
	f.t.Helper()
	for _, line := range strings.Split(f.logs.String(), "\n") {
		if strings.Contains(line, `msg="failover decision"`) && strings.Contains(line, fmt.Sprintf("epoch=%d ", epoch)) {
			if !strings.Contains(line, "unit="+unit+" ") {
				f.t.Errorf("epoch %d was decided by another router than the leader %s: %s", epoch, unit, line)
			}
			return
		}
	}
	f.t.Errorf("no router logged the failover decision of epoch %d", epoch)
}

// atEpoch reports whether each of routers holds the ShardMap at epoch.
func (f *fixture) atEpoch(routers []string, epoch int64) (bool, string) {
	all := f.epochs()
	for _, unit := range routers {
		if all[unit] != epoch {
			return false, fmt.Sprintf("router %s at epoch %d", unit, all[unit])
		}
	}
	return true, ""
}

// servedByAt is servedBy at some routers only.
func (f *fixture) servedByAt(routers []string, shards []int, want string) (bool, string) {
	for _, from := range routers {
		for _, s := range shards {
			a := f.get(from, s, nil)
			if a.status != http.StatusOK || a.unit != want || !strings.HasPrefix(a.backend, want+"-") {
				return false, fmt.Sprintf("shard %d at router %s: status %d unit %q backend %q %s", s, from, a.status, a.unit, a.backend, a.body)
			}
		}
	}
	return true, ""
}

func servedByInStatus(sm *trafficv1alpha1.ShardMap, unit string) string {
	for _, row := range sm.Status.Effective {
		if row.Unit == unit {
			return row.ServedBy
		}
	}
	return ""
}

// leaseHolder is the failover Lease's holder, "" when none.
func leaseHolder(t *testing.T, ns string) string {
	lease, err := env.Kube.CoordinationV1().Leases(ns).Get(context.Background(), failover.DefaultLeaseName, metav1.GetOptions{})
	if err != nil || lease.Spec.HolderIdentity == nil {
		return ""
	}
	return *lease.Spec.HolderIdentity
}

func containsAll(have []int64, want ...int64) bool {
	set := map[int64]bool{}
	for _, e := range have {
		set[e] = true
	}
	for _, e := range want {
		if !set[e] {
			return false
		}
	}
	return true
}

// epochLog records the test ShardMap's status epoch from every watch
// event, and flags an epoch lower than one seen before or one seen again
// with another effective table.
type epochLog struct {
	mu       sync.Mutex
	seq      []int64 // distinct epochs, in event order
	tables   map[int64]string
	problems []string
	cancel   context.CancelFunc
	done     chan struct{}
}

func watchEpochs(t *testing.T, ns string) *epochLog {
	t.Helper()
	wc, err := client.NewWithWatch(env.Config, client.Options{Scheme: kube.Scheme()})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	l := &epochLog{tables: map[int64]string{}, cancel: cancel, done: make(chan struct{})}
	// The first watch must be open before the test changes anything.
	w, err := wc.Watch(ctx, &trafficv1alpha1.ShardMapList{}, client.InNamespace(ns))
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	go func() {
		defer close(l.done)
		rv := ""
		for {
			for ev := range w.ResultChan() {
				sm, ok := ev.Object.(*trafficv1alpha1.ShardMap)
				if !ok {
					rv = "" // an error event, e.g. an expired resourceVersion: list again
					continue
				}
				if sm.Name == shardMapName {
					l.record(sm)
				}
				rv = sm.ResourceVersion
			}
			for ctx.Err() == nil {
				// The watch ended early: resume where it was.
				opts := &client.ListOptions{Namespace: ns, Raw: &metav1.ListOptions{ResourceVersion: rv}}
				if w, err = wc.Watch(ctx, &trafficv1alpha1.ShardMapList{}, opts); err == nil {
					break
				}
				time.Sleep(100 * time.Millisecond)
			}
			if ctx.Err() != nil {
				return
			}
		}
	}()
	t.Cleanup(func() { l.cancel(); <-l.done })
	return l
}

func (l *epochLog) record(sm *trafficv1alpha1.ShardMap) {
	l.mu.Lock()
	defer l.mu.Unlock()
	epoch := sm.Status.Epoch
	if epoch == 0 {
		return // not stamped yet
	}
	table := fmt.Sprint(sm.Status.Effective)
	if last := len(l.seq); last > 0 && epoch < l.seq[last-1] {
		l.problems = append(l.problems, fmt.Sprintf("epoch went back from %d to %d (resourceVersion %s)", l.seq[last-1], epoch, sm.ResourceVersion))
	}
	if seen, ok := l.tables[epoch]; ok {
		if seen != table {
			l.problems = append(l.problems, fmt.Sprintf("epoch %d repeated with another table: %s, then %s (resourceVersion %s)", epoch, seen, table, sm.ResourceVersion))
		}
		return
	}
	l.tables[epoch] = table
	l.seq = append(l.seq, epoch)
}

// stop ends the watch, fails t for every problem, and returns the distinct
// epochs in the order they were seen.
func (l *epochLog) stop(t *testing.T) []int64 {
	t.Helper()
	l.cancel()
	<-l.done
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, p := range l.problems {
		t.Errorf("ShardMap status: %s", p)
	}
	return append([]int64(nil), l.seq...)
}
