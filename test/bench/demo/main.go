// Command demo benchmarks the financial-grade release: the payment demo on
// live nodes, a steady stream of reads and transfers through the routers,
// and a release to v2 — by plain Deployments' rolling updates (the baseline)
// and by a CafeDeployment in place and by recreate — all on one platform in
// one run, each with the same load. It prints every scenario's failures
// beside each other, whatever they are. Needs root and `make tools build`.
//
//	go run ./test/bench/demo
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"sort"
	"strings"
	"time"

	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	appsv1alpha1 "github.com/cafe-dev/cafe/api/apps/v1alpha1"
	"github.com/cafe-dev/cafe/internal/apiinstall"
	"github.com/cafe-dev/cafe/internal/demostack"
	"github.com/cafe-dev/cafe/internal/loadgen"
	"github.com/cafe-dev/cafe/internal/manager"
	"github.com/cafe-dev/cafe/internal/platform"
)

var (
	binDir   = flag.String("bin-dir", "bin", "directory with the platform's and CAFE's binaries (make tools build)")
	replicas = flag.Int("replicas", 30, "replicas of the payment service over three units")
	rate     = flag.Float64("rate", 200, "requests per second through the routers")
	duration = flag.Duration("duration", 80*time.Second, "load per scenario; the release starts after -warm-up and must end before the load")
	warmUp   = flag.Duration("warm-up", 10*time.Second, "load before each release")
)

type scenario struct {
	name     string
	workload demostack.Workload
	policy   appsv1alpha1.PodUpdatePolicy
}

var scenarios = []scenario{
	{"Deployment rolling update (baseline)", demostack.PlainDeployments, ""},
	{"CafeDeployment, in place", demostack.CafeDeploymentWorkload, appsv1alpha1.PodUpdateInPlaceIfPossible},
	{"CafeDeployment, recreate", demostack.CafeDeploymentWorkload, appsv1alpha1.PodUpdateRecreate},
}

func main() {
	flag.Parse()
	ctrl.SetLogger(zap.New(zap.WriteTo(io.Discard)))
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "error:", err)
		os.Exit(1)
	}
}

func run() error {
	ctx := context.Background()
	p, cfg, stop, err := platform.StartThrowaway(ctx, platform.Options{
		BinDir: *binDir, NodesPerUnit: 1, LiveNodesPerUnit: 2,
		BeforeControllers: apiinstall.Install,
	})
	if err != nil {
		return err
	}
	defer stop()
	if p.LiveCIDR() == "" {
		return fmt.Errorf("no live nodes: run the benchmark as root")
	}
	mgr, err := manager.New(cfg, manager.Options{QPS: 200, Burst: 400, Concurrency: 8})
	if err != nil {
		return err
	}
	mctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() { _ = mgr.Start(mctx) }()
	mgr.GetCache().WaitForCacheSync(mctx)

	fmt.Printf("release under load: %d replicas of cafe/demo over 3 units (2 live nodes each), %.0f requests/s through the routers (40%% transfers, no client retries, 5 s timeout) for %s; release to v2 after %s\n",
		*replicas, *rate, *duration, *warmUp)
	fmt.Printf("%d CPUs, %s/%s, %s\n\n", runtime.NumCPU(), runtime.GOOS, runtime.GOARCH, runtime.Version())
	var rows []string
	for i, sc := range scenarios {
		fmt.Printf("=== %s\n", sc.name)
		row, err := runScenario(ctx, p, cfg, fmt.Sprintf("bench-%d", i), sc)
		if err != nil {
			return fmt.Errorf("%s: %w", sc.name, err)
		}
		rows = append(rows, row)
	}
	fmt.Println()
	fmt.Println("| workload | requests | failed | failures by cause | p99 ms (worst unit) | release took | ledger |")
	fmt.Println("|---|---:|---:|---|---:|---:|---|")
	for _, r := range rows {
		fmt.Println(r)
	}
	return nil
}

func runScenario(ctx context.Context, p *platform.Platform, cfg *rest.Config, ns string, sc scenario) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
	defer cancel()
	stack, err := demostack.Start(ctx, demostack.Options{
		Platform: p, Config: cfg, Namespace: ns,
		Workload: sc.workload, UpgradePolicy: sc.policy,
		Replicas: int32(*replicas),
		Log:      func(format string, args ...any) { fmt.Printf("  "+format+"\n", args...) },
	})
	if err != nil {
		return "", err
	}
	defer stack.Stop()
	out, err := stack.Run(ctx, demostack.ReleaseUnderLoad{
		Image:  "cafe/demo:v2",
		WarmUp: *warmUp,
		Load:   loadgen.Config{Spread: loadgen.ByUser, Rate: *rate, Duration: *duration, TransferRatio: 0.4, ProgressInterval: 10 * time.Second},
		Progress: func(pr loadgen.Progress) {
			fmt.Println("   ", pr)
		},
	})
	if err != nil {
		return "", err
	}
	if out.ReleaseErr != nil {
		return "", out.ReleaseErr
	}
	rep := out.Report
	for i, f := range rep.Failures {
		if i == 5 {
			fmt.Printf("    ... %d more\n", len(rep.Failures)-i)
			break
		}
		fmt.Printf("    failed at %.2fs: %s %s via %s: %s %d from %s (%s): %s\n", f.At.Seconds(), f.Op, f.User, f.Target, f.Cause, f.Status, f.Unit, f.Version, f.Detail)
	}
	var causes []string
	for cause, n := range rep.FailuresByCause {
		causes = append(causes, fmt.Sprintf("%s %d", cause, n))
	}
	sort.Strings(causes)
	if len(causes) == 0 {
		causes = []string{"—"}
	}
	var worst time.Duration
	for _, unit := range rep.Units() {
		worst = max(worst, rep.Latency[unit].P99)
	}
	ledger := "exact"
	if rep.Ledger == nil || !rep.Ledger.Passed {
		ledger = "FAILED"
	}
	return fmt.Sprintf("| %s | %d | %d | %s | %.1f | %.1f s | %s |", sc.name, rep.Sent, rep.Failed, strings.Join(causes, ", "),
		float64(worst.Microseconds())/1000, (out.ReleaseEnded - out.ReleaseStarted).Seconds(), ledger), nil
}
