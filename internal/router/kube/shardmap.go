// Package kube is the unit router's Kubernetes side: it watches ShardMaps,
// Routes, Services, EndpointSlices and Pods, turns them into the proxy's
// tables, and applies a shard map only when the control plane has stamped
// it with an epoch newer than the one in force.
//
// The functions in this file and in routes.go and endpoints.go are pure:
// the router and the failover controller share them, so both read the API
// objects the same way.
package kube

import (
	"errors"
	"fmt"
	"sort"
	"strings"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	trafficv1alpha1 "github.com/cafe-dev/cafe/api/traffic/v1alpha1"
	"github.com/cafe-dev/cafe/internal/router/shard"
)

// ErrNotStamped means the status writer (the leader-elected failover
// controller) has not yet validated the ShardMap's current spec and given
// it an epoch. Routers keep the table they have until it does: applying an
// unstamped spec would let two routers route one epoch differently.
var ErrNotStamped = errors.New("the shard map's spec has not been stamped with an epoch by the failover controller yet")

// ErrStatusDisagrees means status.effective does not match what the spec
// and the failed-over units compile to: a status written by a different
// version of the controller, or edited by hand. Routing by it could split
// routers, so it is refused like an invalid spec.
var ErrStatusDisagrees = errors.New("status.effective does not match the spec")

// MapSpec converts a ShardMap spec into the shard package's spec at epoch.
// Units in failedOver are compiled as Down: that is how the failover
// controller's decision to move an Active unit's shards reaches the table.
func MapSpec(spec trafficv1alpha1.ShardMapSpec, epoch int64, failedOver map[string]bool) shard.MapSpec {
	out := shard.MapSpec{
		Epoch:  epoch,
		Shards: int(spec.Shards),
		Key: shard.KeySpec{
			Source: shard.KeySource(spec.Key.Source),
			Name:   spec.Key.Name,
			Hash:   spec.Key.Hash,
		},
		OnMissingKey: shard.MissingKeyPolicy{
			Action: shard.MissingKeyAction(spec.OnMissingKey.Action),
			Unit:   spec.OnMissingKey.Unit,
		},
	}
	// The API server applies these defaults; objects built in memory (and
	// CRDs installed without defaulting) may lack them.
	if out.Key.Source == "" {
		out.Key.Source = shard.KeyFromHeader
	}
	if out.OnMissingKey.Action == "" {
		out.OnMissingKey.Action = shard.RejectMissingKey
	}
	if spec.Key.PathSegment != nil {
		out.Key.PathSegment = int(*spec.Key.PathSegment)
	}
	if d := spec.Key.Digits; d != nil {
		out.Key.Digits = &shard.Digits{Offset: int(d.Offset), Count: int(d.Count)}
	} else if !spec.Key.Hash && spec.Key.Source == "" && spec.Key.Name == "" {
		// An entirely absent key is the API's default: two digits of X-Cafe-Uid.
		out.Key.Name = shard.DefaultKeyHeader
		out.Key.Digits = &shard.Digits{Count: 2}
	}
	for _, u := range spec.Units {
		unit := shard.UnitSpec{
			Name:          u.Name,
			State:         shard.UnitState(u.State),
			FailoverTo:    u.FailoverTo,
			RouterAddress: u.RouterAddress,
		}
		if failedOver[u.Name] {
			unit.State = shard.UnitDown
		}
		for _, r := range u.Ranges {
			unit.Ranges = append(unit.Ranges, shard.Range{From: int(r.From), To: int(r.To)})
		}
		out.Units = append(out.Units, unit)
	}
	return out
}

// ManualState is a unit's state as the spec declares it, Active when empty.
func ManualState(u trafficv1alpha1.ShardUnit) trafficv1alpha1.UnitState {
	if u.State == "" {
		return trafficv1alpha1.UnitActive
	}
	return u.State
}

// FailedOver lists the units the failover controller has failed over: the
// units the spec declares Active whose status row says another unit serves
// them. The controller never fails a unit over without a serving target, so
// an Active unit served by no one is not failed over (the spec's own states
// left it without a server).
func FailedOver(spec trafficv1alpha1.ShardMapSpec, status trafficv1alpha1.ShardMapStatus) map[string]bool {
	servedBy := make(map[string]string, len(status.Effective))
	for _, row := range status.Effective {
		servedBy[row.Unit] = row.ServedBy
	}
	failed := map[string]bool{}
	for _, u := range spec.Units {
		if ManualState(u) != trafficv1alpha1.UnitActive {
			continue
		}
		if by, ok := servedBy[u.Name]; ok && by != "" && by != u.Name {
			failed[u.Name] = true
		}
	}
	return failed
}

// EffectiveRows converts a table's owner table into status rows.
func EffectiveRows(t *shard.Table) []trafficv1alpha1.ShardAssignment {
	var rows []trafficv1alpha1.ShardAssignment
	for _, a := range t.Effective() {
		row := trafficv1alpha1.ShardAssignment{Unit: a.Unit, ServedBy: a.ServedBy}
		for _, r := range a.Ranges {
			row.Ranges = append(row.Ranges, trafficv1alpha1.ShardRange{From: int32(r.From), To: int32(r.To)})
		}
		rows = append(rows, row)
	}
	return rows
}

// CompileShardMap builds the table a router applies for sm: its spec, with
// the units its status fails over compiled as Down, at status.epoch. It
// refuses a spec the failover controller has not stamped (ErrNotStamped), a
// spec the controller found invalid, a spec that does not compile, and a
// status whose effective rows disagree with the compiled table.
func CompileShardMap(sm *trafficv1alpha1.ShardMap) (*shard.Table, error) {
	if sm.Status.ObservedGeneration != sm.Generation || sm.Status.Epoch == 0 {
		return nil, ErrNotStamped
	}
	if c := meta.FindStatusCondition(sm.Status.Conditions, trafficv1alpha1.ShardMapValid); c != nil && c.Status != metav1.ConditionTrue {
		return nil, fmt.Errorf("the failover controller found the spec invalid: %s", c.Message)
	}
	table, err := shard.Compile(MapSpec(sm.Spec, sm.Status.Epoch, FailedOver(sm.Spec, sm.Status)))
	if err != nil {
		return nil, err
	}
	if diff := diffServedBy(EffectiveRows(table), sm.Status.Effective); diff != "" {
		return nil, fmt.Errorf("%w: %s", ErrStatusDisagrees, diff)
	}
	return table, nil
}

// diffServedBy compares the serving unit of every row; ranges come from the
// spec both sides compiled, so they cannot differ where servedBy agrees.
func diffServedBy(want, got []trafficv1alpha1.ShardAssignment) string {
	have := make(map[string]string, len(got))
	for _, row := range got {
		have[row.Unit] = row.ServedBy
	}
	var diffs []string
	for _, row := range want {
		by, ok := have[row.Unit]
		switch {
		case !ok:
			diffs = append(diffs, fmt.Sprintf("unit %q has no status row", row.Unit))
		case by != row.ServedBy:
			diffs = append(diffs, fmt.Sprintf("unit %q is served by %q in status but by %q in the compiled spec", row.Unit, by, row.ServedBy))
		}
		delete(have, row.Unit)
	}
	for unit := range have {
		diffs = append(diffs, fmt.Sprintf("status lists unit %q, which the spec does not", unit))
	}
	sort.Strings(diffs)
	return strings.Join(diffs, "; ")
}
