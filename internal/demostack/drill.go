package demostack

import (
	"context"
	"fmt"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/client"

	trafficv1alpha1 "github.com/cafe-dev/cafe/api/traffic/v1alpha1"
	"github.com/cafe-dev/cafe/internal/loadgen"
	"github.com/cafe-dev/cafe/internal/platform"
)

// DrillKind is how a unit is lost.
type DrillKind string

const (
	// KillUnit kills every process of the unit at once with SIGKILL: its
	// live nodes (and with them every pod process) and its store member.
	KillUnit DrillKind = "kill"
	// CutUnit cuts the unit's network silently: its processes live on, but
	// nothing they send reaches anyone, so peers see silence, not errors.
	CutUnit DrillKind = "cut"
)

// Drill is a unit outage under load.
type Drill struct {
	Kind DrillKind
	Unit string
	// Load is the whole stream; the unit is lost At after it starts.
	Load     loadgen.Config
	At       time.Duration
	Progress func(loadgen.Progress)
	Log      func(format string, args ...any)
}

// DrillOutcome is what the drill measured.
type DrillOutcome struct {
	Report *loadgen.Report
	// LostAt is when the unit was lost, from the load's start.
	LostAt time.Duration
	// ShardsMovedAfter is how long after the loss the ShardMap's status
	// gave the unit's shards to another unit (0 if it never did).
	ShardsMovedAfter time.Duration
	// FailedAfterLoss counts the failed requests still waiting for their
	// answer when the unit was lost, or sent after. ServedAgainAfter is from
	// the loss until the last failed request was sent (0 when none was sent
	// after the loss): every request sent from then on was served.
	FailedAfterLoss  int
	ServedAgainAfter time.Duration
	// DetailsTruncated is set when the report kept fewer failures than
	// happened, so ServedAgainAfter is a lower bound.
	DetailsTruncated bool
}

// RunDrill loses a unit in the middle of a steady stream and measures how
// long until every shard is served again, how many requests failed, and
// whether any acknowledged transfer was lost.
func (s *Stack) RunDrill(ctx context.Context, d Drill) (*DrillOutcome, error) {
	if d.Kind != KillUnit && d.Kind != CutUnit {
		return nil, fmt.Errorf("drill kind %q: want %s or %s", d.Kind, KillUnit, CutUnit)
	}
	if _, ok := s.Routers[d.Unit]; !ok {
		return nil, fmt.Errorf("unit %q is not one of the demo's units %v", d.Unit, s.o.Units)
	}
	if d.Log == nil {
		d.Log = func(string, ...any) {}
	}
	cfg := d.Load
	cfg.Progress = d.Progress
	load, err := s.startLoad(ctx, cfg, d.At, "the drill")
	if err != nil {
		return nil, err
	}
	out := &DrillOutcome{LostAt: load.elapsed()}
	lost := time.Now()
	if err := s.lose(d.Kind, d.Unit); err != nil {
		return nil, err
	}
	d.Log("%s: unit %s lost at %.1fs of the load", d.Kind, d.Unit, out.LostAt.Seconds())
	moved := make(chan time.Duration, 1)
	pollCtx, stopPolling := context.WithCancel(ctx)
	go func() {
		after := s.waitShardsMoved(pollCtx, d.Unit, lost)
		if after > 0 {
			d.Log("the ShardMap gave %s's shards to another unit %.2fs after the loss", d.Unit, after.Seconds())
		}
		moved <- after
	}()
	rep, err := load.wait()
	stopPolling()
	out.ShardsMovedAfter = <-moved
	if d.Kind == CutUnit {
		if err := s.o.Platform.RestoreUnit(d.Unit); err != nil {
			d.Log("restore %s's network: %v", d.Unit, err)
		}
	}
	if err != nil {
		return nil, err
	}
	out.Report = rep
	for _, f := range rep.Failures {
		if f.At+f.Latency >= out.LostAt {
			out.FailedAfterLoss++
			out.ServedAgainAfter = max(out.ServedAgainAfter, f.At-out.LostAt)
		}
	}
	out.DetailsTruncated = len(rep.Failures) < rep.Failed
	if out.DetailsTruncated {
		out.FailedAfterLoss = rep.Failed // every failure, at worst after the loss
	}
	ledger := loadgen.NewServiceLedger(s.surviving(d.Unit), 5*time.Second)
	out.Report.Ledger = loadgen.CheckLedger(ctx, ledger, out.Report)
	return out, nil
}

// lose takes the unit down.
func (s *Stack) lose(kind DrillKind, unit string) error {
	p := s.o.Platform
	if kind == CutUnit {
		return p.CutUnit(unit)
	}
	names := []string{EtcdChild(unit)}
	for i := 0; i < p.LiveNodesPerUnit(); i++ {
		names = append(names, platform.LiveNodeName(unit, i))
	}
	for _, name := range names {
		if err := p.KillChild(name); err != nil {
			return err
		}
	}
	return nil
}

// waitShardsMoved polls the ShardMap until another unit serves unit's
// shards and returns how long that took since the loss, or 0 if ctx ends
// first.
func (s *Stack) waitShardsMoved(ctx context.Context, unit string, since time.Time) time.Duration {
	for {
		if by, err := s.servedBy(ctx, unit); err == nil && by != unit {
			return time.Since(since)
		}
		select {
		case <-ctx.Done():
			return 0
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// surviving is the router of a unit other than lost.
func (s *Stack) surviving(lost string) string {
	for _, u := range s.o.Units {
		if u != lost {
			return "http://" + s.Routers[u]
		}
	}
	return "http://" + s.Routers[lost]
}

// servedBy is who serves unit's shards now, by the ShardMap's status.
func (s *Stack) servedBy(ctx context.Context, unit string) (string, error) {
	var sm trafficv1alpha1.ShardMap
	if err := s.client.Get(ctx, client.ObjectKey{Namespace: s.o.Namespace, Name: ShardMap}, &sm); err != nil {
		return "", err
	}
	for _, a := range sm.Status.Effective {
		if a.Unit == unit {
			return a.ServedBy, nil
		}
	}
	return unit, nil
}
