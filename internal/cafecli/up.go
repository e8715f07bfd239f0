package cafecli

import (
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/cafe-dev/cafe/internal/apiinstall"
	"github.com/cafe-dev/cafe/internal/platform"
)

func newUpCommand() *cobra.Command {
	var opts platform.Options
	cmd := &cobra.Command{
		Use:   "up",
		Short: "Run the local platform: a real control plane with simulated nodes in units",
		Long: `Runs etcd, kube-apiserver, kube-controller-manager, kube-scheduler and kwok
as child processes under the data directory, registers simulated nodes
grouped into units, installs CAFE's CRDs and runs CAFE's controllers.
Ctrl-C stops everything. Running it again on the same data directory brings
back the same cluster state.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			out := cmd.OutOrStdout()
			began := time.Now()
			opts.Log = func(format string, args ...any) { fmt.Fprintf(out, "  "+format+"\n", args...) }
			fmt.Fprintf(out, "CAFE local platform: %d units (%v), %d nodes each, data in %s\n",
				len(opts.Units), opts.Units, opts.NodesPerUnit, opts.DataDir)
			opts.BeforeControllers = apiinstall.Install
			p, err := platform.Start(ctx, opts)
			if err != nil {
				return err
			}
			defer func() {
				fmt.Fprintln(out, "stopping the local platform")
				p.Stop()
				fmt.Fprintln(out, "stopped")
			}()
			cfg, err := p.RESTConfig()
			if err != nil {
				return err
			}
			ready, errs := startCafe(ctx, cfg, out, p.LogDir())
			if err := waitStarted(ctx, ready, errs); err != nil {
				return err
			}
			kubeconfig, _ := filepath.Rel(mustGetwd(), p.KubeconfigPath())
			if kubeconfig == "" || kubeconfig[0] == '.' && len(kubeconfig) > 1 && kubeconfig[1] == '.' {
				kubeconfig = p.KubeconfigPath()
			}
			fmt.Fprintf(out, `
CAFE is up in %.1fs. API server: %s
  export KUBECONFIG=%s PATH=$PWD/bin:$PATH
  kubectl get nodes -L %s
  kubectl apply -f config/samples/
  kubectl cafe get <name> --watch
Logs: %s   Stop: Ctrl-C
`, time.Since(began).Seconds(), p.APIServerURL(), kubeconfig, platform.UnitLabel, p.LogDir())
			select {
			case <-ctx.Done():
				return nil
			case err := <-errs:
				return err
			}
		},
	}
	f := cmd.Flags()
	f.StringVar(&opts.DataDir, "data-dir", ".cafe", "directory for the cluster's data, PKI, logs and kubeconfig")
	f.StringVar(&opts.BinDir, "bin-dir", "bin", "directory with the control-plane binaries built by `make tools`")
	f.IntVar(&opts.APIServerPort, "port", 6443, "API server port on 127.0.0.1 (0 picks a free port)")
	f.StringSliceVar(&opts.Units, "units", platform.DefaultUnits, "names of the units (data centers)")
	f.IntVar(&opts.NodesPerUnit, "nodes-per-unit", 2, "simulated nodes in each unit")
	f.IntVar(&opts.LiveNodesPerUnit, "live-nodes-per-unit", 0, "live nodes in each unit: they run pods' containers as local processes in the unit's network namespace (needs root; images map to binaries with --live-images)")
	f.StringVar(&opts.LiveImages, "live-images", "", "image repository to binary for live nodes, repo=binary[,...] (default cafe/demo=<bin-dir>/cafe-demo)")
	f.StringVar(&opts.NodeCPU, "node-cpu", "32", "CPU capacity of each simulated node")
	f.StringVar(&opts.NodeMemory, "node-memory", "128Gi", "memory capacity of each simulated node")
	f.IntVar(&opts.NodePods, "node-pods", 110, "pod capacity of each simulated node")
	f.DurationVar(&opts.StartLatency, "pod-start-latency", 0, "simulated container start time, for new pods and in-place restarts alike")
	f.DurationVar(&opts.SandboxLatency, "pod-sandbox-latency", 0, "simulated time a new pod's sandbox (network, volumes) takes before its containers start; in-place restarts keep theirs")
	return cmd
}

func mustGetwd() string {
	wd, err := os.Getwd()
	if err != nil {
		return "/"
	}
	return wd
}
