//go:build integration

package e2e

import (
	"context"
	"testing"
	"time"

	"github.com/cafe-dev/cafe/internal/demostack"
	"github.com/cafe-dev/cafe/internal/loadgen"
)

// TestUnitOutage loses a unit under load, first by a silent network cut
// (then mended), then by killing every process of it (which leaves the
// platform without that unit's live nodes, so it runs last).
func TestUnitOutage(t *testing.T) {
	for _, kind := range []demostack.DrillKind{demostack.CutUnit, demostack.KillUnit} {
		t.Run(string(kind), func(t *testing.T) { drill(t, kind) })
	}
}

func drill(t *testing.T, kind demostack.DrillKind) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	stack, err := demostack.Start(ctx, demostack.Options{
		Platform:  env.Platform,
		Config:    env.Config,
		Namespace: env.Namespace(t),
		Replicas:  12,
		BatchSize: 4,
		Log:       t.Logf,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer stack.Stop()
	out, err := stack.RunDrill(ctx, demostack.Drill{
		Kind: kind,
		Unit: "unit-b",
		At:   10 * time.Second,
		Load: loadgen.Config{Spread: loadgen.ByUser, Rate: 200, Duration: 30 * time.Second, TransferRatio: 0.4},
		Log:  t.Logf,
	})
	if err != nil {
		t.Fatal(err)
	}
	rep := out.Report
	t.Logf("%s of unit-b at %.1fs: shards moved after %s; %d of %d requests failed after the loss; every shard served again after %s; failures by cause %v",
		kind, out.LostAt.Seconds(), out.ShardsMovedAfter, out.FailedAfterLoss, rep.Sent, out.ServedAgainAfter, rep.FailuresByCause)
	for i, f := range rep.Failures {
		if i == 10 {
			break
		}
		t.Logf("failure at %.2fs: %s %s via %s: %s %d %s", f.At.Seconds(), f.Op, f.User, f.Target, f.Cause, f.Status, f.Detail)
	}
	if out.ShardsMovedAfter == 0 {
		t.Error("the ShardMap never gave unit-b's shards to another unit")
	}
	if out.DetailsTruncated || out.ServedAgainAfter > 3*time.Second {
		t.Errorf("every shard served again only after %s (truncated details: %v); the goal is 3 s", out.ServedAgainAfter, out.DetailsTruncated)
	}
	if l := rep.Ledger; l == nil || !l.Passed {
		t.Fatalf("RPO is not 0: ledger check %+v", l)
	}
}
