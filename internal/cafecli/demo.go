package cafecli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	appsv1alpha1 "github.com/cafe-dev/cafe/api/apps/v1alpha1"
	"github.com/cafe-dev/cafe/internal/apiinstall"
	"github.com/cafe-dev/cafe/internal/demostack"
	"github.com/cafe-dev/cafe/internal/loadgen"
	"github.com/cafe-dev/cafe/internal/platform"
)

// demoOptions are what `cafe demo` and `cafe drill` share: a platform of
// their own with live nodes, and the payment demo on it.
type demoOptions struct {
	platform platform.Options
	stack    demostack.Options
	policy   string
	rate     float64
	duration time.Duration
}

func (d *demoOptions) flags(cmd *cobra.Command, dataDir string) {
	f := cmd.Flags()
	f.StringVar(&d.platform.DataDir, "data-dir", dataDir, "directory of the demo's own local platform (removed and made afresh)")
	f.StringVar(&d.platform.BinDir, "bin-dir", "bin", "directory with the binaries built by `make tools build`")
	f.IntVar(&d.platform.LiveNodesPerUnit, "live-nodes-per-unit", 2, "live nodes in each unit (they run the demo's processes)")
	f.Int32Var(&d.stack.Replicas, "replicas", 30, "replicas of the payment service over the units")
	f.Int32Var(&d.stack.BatchSize, "batch-size", 10, "pods per release batch (after the Beta batch of one pod per unit)")
	f.StringVar(&d.policy, "upgrade-policy", string(appsv1alpha1.PodUpdateInPlaceIfPossible), "InPlaceIfPossible or Recreate")
	f.Float64Var(&d.rate, "rate", loadgen.DefaultRate, "requests per second through the routers")
}

// start brings up the platform, CAFE's controllers and the demo stack.
func (d *demoOptions) start(ctx context.Context, out io.Writer) (*platform.Platform, *demostack.Stack, error) {
	switch appsv1alpha1.PodUpdatePolicy(d.policy) {
	case appsv1alpha1.PodUpdateInPlaceIfPossible, appsv1alpha1.PodUpdateRecreate:
		d.stack.UpgradePolicy = appsv1alpha1.PodUpdatePolicy(d.policy)
	default:
		return nil, nil, fmt.Errorf("--upgrade-policy %q: want InPlaceIfPossible or Recreate", d.policy)
	}
	if !platform.IsRoot() {
		return nil, nil, errors.New("the demo runs real processes in network namespaces: run it as root")
	}
	logf := func(format string, args ...any) { fmt.Fprintf(out, "  "+format+"\n", args...) }
	d.platform.Log = logf
	d.platform.NodesPerUnit = 1
	d.platform.APIServerPort = 0
	d.platform.BeforeControllers = apiinstall.Install
	if err := resetDataDir(d.platform.DataDir); err != nil {
		return nil, nil, err
	}
	fmt.Fprintf(out, "starting a local platform with %d live nodes per unit in %s\n", d.platform.LiveNodesPerUnit, d.platform.DataDir)
	p, err := platform.Start(ctx, d.platform)
	if err != nil {
		return nil, nil, err
	}
	cfg, err := p.RESTConfig()
	if err != nil {
		p.Stop()
		return nil, nil, err
	}
	ready, errs := startCafe(ctx, cfg, out, p.LogDir())
	if err := waitStarted(ctx, ready, errs); err != nil {
		p.Stop()
		return nil, nil, err
	}
	d.stack.Platform, d.stack.Config, d.stack.Log = p, cfg, logf
	fmt.Fprintf(out, "starting the payment demo: %d replicas, a store member and a router per unit\n", d.stack.Replicas)
	stack, err := demostack.Start(ctx, d.stack)
	if err != nil {
		p.Stop()
		return nil, nil, err
	}
	return p, stack, nil
}

func newDemoCommand() *cobra.Command {
	d := &demoOptions{}
	var image string
	var warmUp time.Duration
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Release the payment demo unit by unit under load, and count every failed request",
		Long: `Starts a local platform of its own with live nodes (real processes in each
unit's network namespace), the payment demo (cafe-demo as a CafeDeployment,
an etcd member and a cafe-router per unit), then sends a steady stream of
reads and transfers through the routers while releasing v2 in a Beta batch
and confirmed batches. Each batch is confirmed only when it is fully ready
and no request has failed. At the end it prints the requests sent and
failed, per-unit latency and the ledger check. Needs root. See docs/demo.md.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, out := cmd.Context(), cmd.OutOrStdout()
			p, stack, err := d.start(ctx, out)
			if err != nil {
				return err
			}
			defer p.Stop()
			defer stack.Stop()
			fmt.Fprintf(out, "load: %.0f requests/s for %s; release to %s after %s\n", d.rate, d.duration, image, warmUp)
			outcome, err := stack.Run(ctx, demostack.ReleaseUnderLoad{
				Image:  image,
				WarmUp: warmUp,
				Load: loadgen.Config{
					Spread: loadgen.ByUser, Rate: d.rate, Duration: d.duration,
					ProgressInterval: 5 * time.Second,
				},
				Progress: func(pr loadgen.Progress) { fmt.Fprintln(out, " ", pr) },
			})
			if err != nil {
				return err
			}
			return printReleaseOutcome(out, outcome)
		},
	}
	d.flags(cmd, ".cafe-demo")
	cmd.Flags().DurationVar(&d.duration, "duration", 90*time.Second, "how long the load runs; the release must end before it does")
	cmd.Flags().DurationVar(&warmUp, "warm-up", 10*time.Second, "load before the release starts")
	cmd.Flags().StringVar(&image, "image", "cafe/demo:v2", "the image to release")
	return cmd
}

func printReleaseOutcome(out io.Writer, o *demostack.ReleaseOutcome) error {
	fmt.Fprintf(out, "\nrelease ran from %.1fs to %.1fs of the load\n", o.ReleaseStarted.Seconds(), o.ReleaseEnded.Seconds())
	if err := o.Report.WriteText(out); err != nil {
		return err
	}
	switch {
	case o.ReleaseErr != nil:
		return fmt.Errorf("the release did not complete: %w", o.ReleaseErr)
	case !o.Report.Passed():
		return fmt.Errorf("%d of %d requests failed or the ledger check failed", o.Report.Failed, o.Report.Sent)
	}
	fmt.Fprintln(out, "\nzero failed requests; every acknowledged transfer applied exactly once")
	return nil
}

// resetDataDir removes an earlier demo's platform directory, but only one
// that holds a platform (a kubeconfig), never some other directory a user
// named by mistake.
func resetDataDir(dir string) error {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) || (err == nil && len(entries) == 0) {
		return nil
	}
	if err != nil {
		return err
	}
	if _, err := os.Stat(filepath.Join(dir, "kubeconfig")); err != nil {
		return fmt.Errorf("--data-dir %s is not empty and holds no CAFE platform: choose another directory", dir)
	}
	return os.RemoveAll(dir)
}
