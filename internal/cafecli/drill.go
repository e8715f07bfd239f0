package cafecli

import (
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	"github.com/cafe-dev/cafe/internal/demostack"
	"github.com/cafe-dev/cafe/internal/loadgen"
)

// RTOTarget is the drill's goal for every shard to be served again.
const RTOTarget = 3 * time.Second

func newDrillCommand() *cobra.Command {
	d := &demoOptions{}
	var kind, unit string
	var at time.Duration
	cmd := &cobra.Command{
		Use:   "drill",
		Short: "Lose a unit under load and measure RTO and RPO",
		Long: `Starts a local platform of its own with the payment demo (as cafe demo
does), sends a steady stream of reads and transfers through the routers,
and then loses one unit:

  --kind kill  every process of the unit dies at once (SIGKILL): its live
               nodes, with all their pods, and its store member
  --kind cut   the unit's network is cut silently: its processes live on
               but nothing they send arrives, so peers see silence

It reports when the unit's shards moved to another unit, how many requests
failed after the loss, the time until every shard was served again (RTO,
target 3 s) and whether any acknowledged transfer was lost (RPO, target 0).
The routers are the access layer and stay up. Needs root. See docs/demo.md.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, out := cmd.Context(), cmd.OutOrStdout()
			if kind != string(demostack.KillUnit) && kind != string(demostack.CutUnit) {
				return fmt.Errorf("--kind %q: want kill or cut", kind)
			}
			p, stack, err := d.start(ctx, out)
			if err != nil {
				return err
			}
			defer p.Stop()
			defer stack.Stop()
			fmt.Fprintf(out, "load: %.0f requests/s for %s; %s unit %s after %s\n", d.rate, d.duration, kind, unit, at)
			outcome, err := stack.RunDrill(ctx, demostack.Drill{
				Kind: demostack.DrillKind(kind),
				Unit: unit,
				At:   at,
				Load: loadgen.Config{
					Spread: loadgen.ByUser, Rate: d.rate, Duration: d.duration,
					ProgressInterval: 2 * time.Second,
				},
				Progress: func(pr loadgen.Progress) { fmt.Fprintln(out, " ", pr) },
				Log:      d.stack.Log,
			})
			if err != nil {
				return err
			}
			return printDrillOutcome(out, kind, unit, outcome)
		},
	}
	d.flags(cmd, ".cafe-drill")
	cmd.Flags().StringVar(&kind, "kind", "kill", "kill (every process of the unit dies) or cut (its network is cut silently)")
	cmd.Flags().StringVar(&unit, "unit", "unit-b", "the unit to lose")
	cmd.Flags().DurationVar(&at, "at", 15*time.Second, "load before the unit is lost")
	cmd.Flags().DurationVar(&d.duration, "duration", 45*time.Second, "how long the load runs")
	return cmd
}

func printDrillOutcome(out io.Writer, kind, unit string, o *demostack.DrillOutcome) error {
	fmt.Fprintln(out)
	if err := o.Report.WriteText(out); err != nil {
		return err
	}
	moved := "never"
	if o.ShardsMovedAfter > 0 {
		moved = fmt.Sprintf("%.2fs after the loss", o.ShardsMovedAfter.Seconds())
	}
	bound := ""
	if o.DetailsTruncated {
		bound = " (at least: not every failure was kept)"
	}
	rpo := "0 (every acknowledged transfer is stored exactly once)"
	if l := o.Report.Ledger; l == nil || !l.Passed {
		rpo = "NOT 0: the ledger check failed"
	}
	fmt.Fprintf(out, "\ndrill %s of %s at %.1fs of the load\n", kind, unit, o.LostAt.Seconds())
	fmt.Fprintf(out, "  shards moved to another unit:   %s\n", moved)
	fmt.Fprintf(out, "  requests failed after the loss: %d\n", o.FailedAfterLoss)
	fmt.Fprintf(out, "  every shard served again after: %.2fs%s (target %s)\n", o.ServedAgainAfter.Seconds(), bound, RTOTarget)
	fmt.Fprintf(out, "  RPO:                            %s\n", rpo)
	switch {
	case o.Report.Ledger == nil || !o.Report.Ledger.Passed:
		return fmt.Errorf("acknowledged transfers were lost or applied twice")
	case o.ServedAgainAfter > RTOTarget || o.DetailsTruncated:
		return fmt.Errorf("shards were not all served again within %s", RTOTarget)
	}
	return nil
}
