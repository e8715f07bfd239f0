// Package failover decides which units serve a ShardMap's shards and runs
// that decision in one place: a controller elected with a Lease writes the
// result to the ShardMap's status with an increasing epoch, and every router
// applies the map with the highest epoch it has seen.
//
// Decide is the pure core. The controller around it observes unit health,
// calls Decide, and writes status with optimistic concurrency.
package failover

import (
	"fmt"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	trafficv1alpha1 "github.com/cafe-dev/cafe/api/traffic/v1alpha1"
	"github.com/cafe-dev/cafe/internal/router/kube"
	"github.com/cafe-dev/cafe/internal/router/shard"
)

// Health is a unit's health and since when it has had it without a break.
type Health struct {
	Healthy bool
	Since   time.Time
}

// Policy says how long a unit must be unhealthy before its shards move, and
// healthy before they come back. Both apply per unit: a unit is healthy when
// every route using the shard map has a live endpoint in it.
type Policy struct {
	FailoverAfter time.Duration
	FailbackAfter time.Duration
}

// Input is everything a decision depends on.
type Input struct {
	// Generation is the ShardMap's metadata.generation, the spec's version.
	Generation int64
	Spec       trafficv1alpha1.ShardMapSpec
	Status     trafficv1alpha1.ShardMapStatus
	// Health by unit name. A unit without an entry keeps its standing:
	// no health information is no reason to move shards.
	Health map[string]Health
	Policy Policy
	Now    time.Time
}

// Decision is the status to write and why.
type Decision struct {
	Status trafficv1alpha1.ShardMapStatus
	// Changed is true when Status differs from the input status.
	Changed bool
	// Moves explain each failover and failback, for the log and events.
	Moves []string
	// Recheck is how long until a running timer could change the decision;
	// zero when no timer runs.
	Recheck time.Duration
}

// maxConditionMessage keeps condition messages inside the API's limit.
const maxConditionMessage = 4096

// Decide computes a ShardMap's next status. The spec's manual states win:
// a Draining or Down unit is never failed over or back automatically. An
// Active unit that has been unhealthy for Policy.FailoverAfter is failed
// over (compiled as Down, so its shards go to its failoverTo chain) when
// the unit that would take its shards is not unhealthy itself; it fails
// back once healthy for Policy.FailbackAfter, or at once when no unit could
// serve its shards any more. The epoch goes up by one whenever the routing
// table changes: a new spec generation or a new owner table. An invalid
// spec changes nothing but the Valid condition: routers keep the last good
// map. Decide is deterministic: the same input gives the same output.
func Decide(in Input) Decision {
	status := *in.Status.DeepCopy()
	status.ObservedGeneration = in.Generation
	d := Decision{}

	if _, err := shard.Compile(kube.MapSpec(in.Spec, 0, nil)); err != nil {
		meta.SetStatusCondition(&status.Conditions, condition(in, trafficv1alpha1.ShardMapValid, false,
			trafficv1alpha1.ReasonInvalid, "the last valid spec stays in force: "+err.Error()))
		return finish(in, status, d)
	}
	meta.SetStatusCondition(&status.Conditions, condition(in, trafficv1alpha1.ShardMapValid, true,
		trafficv1alpha1.ReasonCompiled, "the spec compiles into a routing table"))

	failed := kube.FailedOver(in.Spec, in.Status)
	d.Moves = settle(in, failed)
	table, err := shard.Compile(kube.MapSpec(in.Spec, 0, failed))
	if err != nil {
		// Marking units Down cannot break a spec that compiled.
		panic(fmt.Sprintf("failover: a valid spec failed to compile with failed-over units: %v", err))
	}
	rows := kube.EffectiveRows(table)
	if status.Epoch == 0 || in.Status.ObservedGeneration != in.Generation || !equality.Semantic.DeepEqual(rows, in.Status.Effective) {
		status.Epoch = in.Status.Epoch + 1
	}
	status.Effective = rows
	meta.SetStatusCondition(&status.Conditions, servingCondition(in, rows))
	d.Recheck = recheck(in, failed)
	return finish(in, status, d)
}

func finish(in Input, status trafficv1alpha1.ShardMapStatus, d Decision) Decision {
	d.Status = status
	d.Changed = !equality.Semantic.DeepEqual(in.Status, status)
	return d
}

// settle updates failed in place until no unit's standing changes, and
// returns the moves it made. Units are visited in spec order, so the result
// does not depend on map iteration.
func settle(in Input, failed map[string]bool) []string {
	var moves []string
	for pass := 0; pass <= len(in.Spec.Units); pass++ {
		changed := false
		for _, u := range in.Spec.Units {
			if kube.ManualState(u) != trafficv1alpha1.UnitActive {
				continue
			}
			h, known := in.Health[u.Name]
			switch {
			case failed[u.Name] && known && h.Healthy && in.Now.Sub(h.Since) >= in.Policy.FailbackAfter:
				delete(failed, u.Name)
				moves = append(moves, fmt.Sprintf("unit %q fails back: healthy for %v", u.Name, in.Now.Sub(h.Since)))
				changed = true
			case failed[u.Name] && servedBy(in.Spec, failed, u.Name) == "":
				delete(failed, u.Name)
				moves = append(moves, fmt.Sprintf("unit %q serves its shards again: no unit on its failover chain can take them", u.Name))
				changed = true
			case !failed[u.Name] && known && !h.Healthy && in.Now.Sub(h.Since) >= in.Policy.FailoverAfter:
				failed[u.Name] = true
				target := servedBy(in.Spec, failed, u.Name)
				if th, ok := in.Health[target]; target == "" || (ok && !th.Healthy) {
					// Moving shards to a unit that cannot serve them
					// either only adds a move to undo later.
					delete(failed, u.Name)
					continue
				}
				moves = append(moves, fmt.Sprintf("unit %q fails over to %q: unhealthy for %v", u.Name, target, in.Now.Sub(h.Since)))
				changed = true
			}
		}
		if !changed {
			break
		}
	}
	return moves
}

// servedBy is the unit serving unit's shards when the failed units are Down.
func servedBy(spec trafficv1alpha1.ShardMapSpec, failed map[string]bool, unit string) string {
	table, err := shard.Compile(kube.MapSpec(spec, 0, failed))
	if err != nil {
		return ""
	}
	for _, a := range table.Effective() {
		if a.Unit == unit {
			return a.ServedBy
		}
	}
	return ""
}

// recheck is the time until the nearest failover or failback timer ends.
func recheck(in Input, failed map[string]bool) time.Duration {
	var next time.Duration
	for _, u := range in.Spec.Units {
		h, known := in.Health[u.Name]
		if !known || kube.ManualState(u) != trafficv1alpha1.UnitActive {
			continue
		}
		var left time.Duration
		switch {
		case failed[u.Name] && h.Healthy:
			left = in.Policy.FailbackAfter - in.Now.Sub(h.Since)
		case !failed[u.Name] && !h.Healthy:
			left = in.Policy.FailoverAfter - in.Now.Sub(h.Since)
		}
		if left > 0 && (next == 0 || left < next) {
			next = left
		}
	}
	return next
}

func servingCondition(in Input, rows []trafficv1alpha1.ShardAssignment) metav1.Condition {
	var unserved []string
	for _, r := range rows {
		if r.ServedBy == "" && len(r.Ranges) > 0 {
			unserved = append(unserved, r.Unit)
		}
	}
	if len(unserved) > 0 {
		return condition(in, trafficv1alpha1.ShardMapServing, false, trafficv1alpha1.ReasonShardsUnserved,
			fmt.Sprintf("no unit can serve the shards of %s: every unit on their failover chains is Down", strings.Join(unserved, ", ")))
	}
	return condition(in, trafficv1alpha1.ShardMapServing, true, trafficv1alpha1.ReasonAllShardsServed, "every shard has a serving unit")
}

func condition(in Input, kind string, ok bool, reason, message string) metav1.Condition {
	status := metav1.ConditionFalse
	if ok {
		status = metav1.ConditionTrue
	}
	if len(message) > maxConditionMessage {
		message = message[:maxConditionMessage-3] + "..."
	}
	return metav1.Condition{
		Type:               kind,
		Status:             status,
		Reason:             reason,
		Message:            message,
		ObservedGeneration: in.Generation,
		LastTransitionTime: metav1.NewTime(in.Now),
	}
}
