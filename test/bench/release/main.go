// Command release benchmarks CafeDeployment releases against a plain
// Deployment rolling update on the same local control plane, latency model
// and availability budget, in one run, and prints the figures as ratios.
//
//	go run ./test/bench/release -pods 1000
package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime/pprof"
	"sort"
	"strconv"
	"strings"
	"time"

	dto "github.com/prometheus/client_model/go"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/util/retry"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	appsv1alpha1 "github.com/cafe-dev/cafe/api/apps/v1alpha1"
	"github.com/cafe-dev/cafe/internal/apiinstall"
	"github.com/cafe-dev/cafe/internal/manager"
	"github.com/cafe-dev/cafe/internal/platform"
)

var (
	pods        = flag.Int("pods", 1000, "pods per workload")
	latency     = flag.Duration("latency", time.Second, "simulated container start latency (same for every scenario)")
	sandbox     = flag.Duration("sandbox-latency", 0, "simulated time a new pod's sandbox (network, volumes) takes before its containers start; in-place restarts keep theirs (same for every scenario)")
	qps         = flag.Int("qps", 20, "client QPS (burst twice that) of each controller, kube-controller-manager's and CAFE's alike (kube-scheduler's too, but never below its default of 50); 20 is kube-controller-manager's default (its burst is 30), under which a release is bound by its controllers' requests; at 200 the API server's CPU on a 2-core machine bounds it instead")
	binDir      = flag.String("bin-dir", "bin", "directory with the control-plane binaries")
	nodesPer    = flag.Int("nodes-per-unit", 4, "simulated nodes per unit")
	scale       = flag.Int("scale-workloads", 0, "instead of the release comparison: create this many CafeDeployments of -pods pods each, report the controller's peak RSS, then watch reconciles while idle")
	heapProfile = flag.String("heap-profile", "", "with -scale-workloads: write a heap profile here once every pod serves")
	idle        = flag.Duration("idle", 5*time.Minute, "with -scale-workloads: how long to watch reconciles while nothing changes")
	follow      = flag.Bool("timeline", false, "follow every pod of the CafeDeployment scenarios and print how long each step of its change took (a watch of its own, which costs the API server and this process a little more than the Deployment scenario pays)")
	cpuProfile  = flag.String("cpu-profile", "", "write a CPU profile of this process (CAFE's controllers and the benchmark's watches) during the CafeDeployment scenarios here")
	apiProfile  = flag.String("apiserver-profile", "", "record the API server's CPU over the first 10 s of each release into <this>-<scenario>.pprof")
)

func main() {
	flag.Parse()
	ctrl.SetLogger(zap.New(zap.WriteTo(io.Discard)))
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "error:", err)
		os.Exit(1)
	}
}

type result struct {
	name        string
	wall        time.Duration
	ownWrites   float64 // the controller's own mutating requests
	allMutating float64 // every mutating request the API server served
}

func run() error {
	ctx := context.Background()
	nodePods := (*pods*2)/(3**nodesPer) + 20
	if *scale > 0 {
		nodePods = (*pods**scale)/(3**nodesPer) + 20
	}
	p, cfg, stop, err := platform.StartThrowaway(ctx, platform.Options{
		BinDir: *binDir, NodesPerUnit: *nodesPer, NodePods: nodePods,
		StartLatency: *latency, SandboxLatency: *sandbox, ControllerManagerQPS: *qps, Profiling: *apiProfile != "",
		BeforeControllers: apiinstall.Install,
	})
	if err != nil {
		return err
	}
	defer stop()
	c, err := client.New(cfg, client.Options{Scheme: manager.Scheme()})
	if err != nil {
		return err
	}
	mgr, err := manager.New(cfg, manager.Options{QPS: float32(*qps), Burst: 2 * *qps, Concurrency: 8})
	if err != nil {
		return err
	}
	mctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() { _ = mgr.Start(mctx) }()
	mgr.GetCache().WaitForCacheSync(mctx)

	// The benchmark's own watches (the per-pod timeline) use protobuf, as the
	// controllers do, so that following a release costs the API server and
	// this process as little as it can.
	csCfg := rest.CopyConfig(cfg)
	csCfg.ContentType = runtime.ContentTypeProtobuf
	csCfg.AcceptContentTypes = runtime.ContentTypeProtobuf + "," + runtime.ContentTypeJSON
	cs, err := kubernetes.NewForConfig(csCfg)
	if err != nil {
		return err
	}
	if *scale > 0 {
		return scaleScenario(ctx, c, cs)
	}
	fmt.Printf("release benchmark: %d pods over 3 units, 25%% of pods changing at a time, sandbox latency %s, container start latency %s, client QPS %d\n", *pods, *sandbox, *latency, *qps)
	var results []result
	cpu := newCPUMeter(p.PIDs())
	dep, err := deploymentScenario(ctx, c, cfg, cpu)
	if err != nil {
		return err
	}
	results = append(results, dep)
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	for _, handoff := range []bool{false, true} {
		cafe, err := cafeScenario(ctx, c, cs, cfg, handoff, cpu)
		if err != nil {
			return err
		}
		results = append(results, cafe)
	}

	fmt.Printf("\n%-40s %10s %8s %14s %16s\n", "scenario", "wall", "ratio", "own writes/pod", "all mutating/pod")
	for _, r := range results {
		fmt.Printf("%-40s %9.1fs %7.2fx %14.2f %16.2f\n", r.name, r.wall.Seconds(), r.wall.Seconds()/dep.wall.Seconds(), r.ownWrites/float64(*pods), r.allMutating/float64(*pods))
	}
	return nil
}

var labels = map[string]string{"app": "bench"}

func template(image string) corev1.PodTemplateSpec {
	return corev1.PodTemplateSpec{
		ObjectMeta: metav1.ObjectMeta{Labels: labels},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: image}}},
	}
}

func namespace(ctx context.Context, c client.Client, name string) error {
	return c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}})
}

func deploymentScenario(ctx context.Context, c client.Client, cfg *rest.Config, cpu *cpuMeter) (result, error) {
	ns := "bench-deployment"
	if err := namespace(ctx, c, ns); err != nil {
		return result{}, err
	}
	quarter := intstr.FromString("25%")
	zero := intstr.FromInt32(0)
	d := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "bench", Namespace: ns},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To(int32(*pods)),
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: template("bench:v1"),
			Strategy: appsv1.DeploymentStrategy{Type: appsv1.RollingUpdateDeploymentStrategyType,
				RollingUpdate: &appsv1.RollingUpdateDeployment{MaxUnavailable: &quarter, MaxSurge: &zero}},
		},
	}
	if err := c.Create(ctx, d); err != nil {
		return result{}, err
	}
	if err := waitFor(ctx, "Deployment v1", func() (bool, error) {
		if err := c.Get(ctx, client.ObjectKeyFromObject(d), d); err != nil {
			return false, err
		}
		return d.Status.UpdatedReplicas == int32(*pods) && d.Status.AvailableReplicas == int32(*pods), nil
	}); err != nil {
		return result{}, err
	}
	beforeBy := map[string]float64{}
	before, err := apiserverMutating(cfg, beforeBy)
	if err != nil {
		return result{}, err
	}
	idleFrom, idleTo := cpu.settle(3 * time.Second)
	cpuFrom := cpu.sample()
	start := time.Now()
	profiled := profileAPIServer(cfg, *apiProfile, "deployment", 10)
	if err := updateTemplate(ctx, c, d, func() { d.Spec.Template = template("bench:v2") }); err != nil {
		return result{}, err
	}
	if err := waitFor(ctx, "Deployment v2", func() (bool, error) {
		if err := c.Get(ctx, client.ObjectKeyFromObject(d), d); err != nil {
			return false, err
		}
		return d.Status.ObservedGeneration == d.Generation && d.Status.UpdatedReplicas == int32(*pods) &&
			d.Status.AvailableReplicas == int32(*pods) && d.Status.Replicas == int32(*pods), nil
	}); err != nil {
		return result{}, err
	}
	wall := time.Since(start)
	cpuTo := cpu.sample()
	if err := profiled(); err != nil {
		return result{}, err
	}
	afterBy := map[string]float64{}
	after, err := apiserverMutating(cfg, afterBy)
	if err != nil {
		return result{}, err
	}
	mutating := after - before
	fmt.Println("Deployment rolling update:")
	printPerPod(beforeBy, afterBy)
	cpu.report(idleFrom, idleTo, cpuFrom, cpuTo, *pods)
	// kube-controller-manager is the Deployment's controller: its writes are
	// all mutating requests minus kwok's status writes, which the API server
	// cannot tell apart by resource; report the total for both columns.
	return result{name: "Deployment rolling update", wall: wall, ownWrites: mutating, allMutating: mutating}, deleteNamespace(ctx, c, ns)
}

func cafeScenario(ctx context.Context, c client.Client, cs kubernetes.Interface, cfg *rest.Config, handoff bool, cpu *cpuMeter) (result, error) {
	ns, name := "bench-cafe-no-handoff", "CafeDeployment in place, no hand-off"
	if handoff {
		ns, name = "bench-cafe-handoff", "CafeDeployment in place, with hand-off"
	}
	if err := namespace(ctx, c, ns); err != nil {
		return result{}, err
	}
	quarter := intstr.FromString("25%")
	all := intstr.FromString("100%")
	cd := &appsv1alpha1.CafeDeployment{
		ObjectMeta: metav1.ObjectMeta{Name: "bench", Namespace: ns},
		Spec: appsv1alpha1.CafeDeploymentSpec{
			Replicas: ptr.To(int32(*pods)),
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Topology: appsv1alpha1.Topology{Units: []appsv1alpha1.UnitSpec{{Name: "unit-a"}, {Name: "unit-b"}, {Name: "unit-c"}}},
			Strategy: appsv1alpha1.CafeDeploymentStrategy{
				Type: appsv1alpha1.ReleaseBatch, BatchSize: &all, MaxUnavailablePerUnit: &quarter,
				TrafficHandoff: appsv1alpha1.TrafficHandoff{DrainSeconds: ptr.To[int32](0), MaxWaitSeconds: ptr.To[int32](60), Disabled: !handoff},
			},
			Template: template("bench:v1"),
		},
	}
	if err := c.Create(ctx, cd); err != nil {
		return result{}, err
	}
	done := func(image string) func() (bool, error) {
		return func() (bool, error) {
			if err := c.Get(ctx, client.ObjectKeyFromObject(cd), cd); err != nil {
				return false, err
			}
			return cd.Status.ObservedGeneration == cd.Generation && cd.Status.Release.Phase == appsv1alpha1.ReleaseCompleted &&
				cd.Status.UpdatedReadyReplicas == int32(*pods) && cd.Spec.Template.Spec.Containers[0].Image == image, nil
		}
	}
	if err := waitFor(ctx, "CafeDeployment v1", done("bench:v1")); err != nil {
		return result{}, err
	}
	ownBefore, reconcilesBefore := ownWrites(), reconcileWork()
	beforeBy := map[string]float64{}
	before, err := apiserverMutating(cfg, beforeBy)
	if err != nil {
		return result{}, err
	}
	idleFrom, idleTo := cpu.settle(3 * time.Second)
	cpuFrom := cpu.sample()
	start := time.Now()
	followCtx, stopFollowing := context.WithCancel(ctx)
	defer stopFollowing()
	var trace *timeline
	if *follow {
		if trace, err = followRelease(followCtx, cs, ns, "bench:v2", start); err != nil {
			return result{}, err
		}
	}
	profiled := profileAPIServer(cfg, *apiProfile, ns, 10)
	if err := updateTemplate(ctx, c, cd, func() { cd.Spec.Template = template("bench:v2") }); err != nil {
		return result{}, err
	}
	if err := waitFor(ctx, "CafeDeployment v2", done("bench:v2")); err != nil {
		return result{}, err
	}
	wall := time.Since(start)
	cpuTo := cpu.sample()
	if err := profiled(); err != nil {
		return result{}, err
	}
	stopFollowing()
	fmt.Printf("%s:\n", name)
	if trace != nil {
		trace.report(wall)
	}
	reconcileWork().report(reconcilesBefore)
	afterBy := map[string]float64{}
	after, err := apiserverMutating(cfg, afterBy)
	if err != nil {
		return result{}, err
	}
	printPerPod(beforeBy, afterBy)
	cpu.report(idleFrom, idleTo, cpuFrom, cpuTo, *pods)
	own := ownWrites() - ownBefore
	return result{name: name, wall: wall, ownWrites: own, allMutating: after - before},
		deleteNamespace(ctx, c, ns)
}

// updateTemplate sets a workload's new template on a fresh read, again after
// a conflict: its controller may write status between the benchmark's last
// read and its update.
func updateTemplate(ctx context.Context, c client.Client, obj client.Object, set func()) error {
	return retry.RetryOnConflict(retry.DefaultRetry, func() error {
		if err := c.Get(ctx, client.ObjectKeyFromObject(obj), obj); err != nil {
			return err
		}
		set()
		return c.Update(ctx, obj)
	})
}

// deleteNamespace deletes a scenario's namespace and waits until its pods
// are gone, so the next scenario's figures do not include this clean-up.
func deleteNamespace(ctx context.Context, c client.Client, ns string) error {
	if err := c.Delete(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}); err != nil {
		return err
	}
	return waitFor(ctx, "namespace "+ns+" gone", func() (bool, error) {
		err := c.Get(ctx, client.ObjectKey{Name: ns}, &corev1.Namespace{})
		return apierrors.IsNotFound(err), client.IgnoreNotFound(err)
	})
}

// ownWrites sums the mutating requests CAFE's controllers sent, from
// client-go's request metrics in the controller-runtime registry.
func ownWrites() float64 {
	var n float64
	eachMetric(func(family string, m *dto.Metric, label map[string]string) {
		if family == "rest_client_requests_total" && isMutating(label["method"]) {
			n += m.GetCounter().GetValue()
		}
	})
	return n
}

func isMutating(verb string) bool {
	switch strings.ToUpper(verb) {
	case "POST", "PUT", "PATCH", "DELETE", "CREATE", "UPDATE", "APPLY":
		return true
	}
	return false
}

// printPerPod prints the API server's requests and watch events per pod
// during a release, by verb and resource, largest first.
func printPerPod(before, after map[string]float64) {
	type row struct {
		key string
		per float64
	}
	var rows []row
	for k, v := range after {
		if d := (v - before[k]) / float64(*pods); d >= 0.05 {
			rows = append(rows, row{k, d})
		}
	}
	sort.Slice(rows, func(i, j int) bool { return rows[i].per > rows[j].per })
	fmt.Println("  API server requests and watch events per pod, by verb and resource:")
	for _, r := range rows {
		fmt.Printf("  %-50s %6.2f\n", r.key, r.per)
	}
}

// apiserverMutating sums apiserver_request_total over mutating verbs; with a
// breakdown map it also adds each verb/resource/subresource's count there.
func apiserverMutating(cfg *rest.Config, breakdown map[string]float64) (float64, error) {
	hc, err := apiHTTPClient(cfg, 10*time.Second)
	if err != nil {
		return 0, err
	}
	resp, err := hc.Get(cfg.Host + "/metrics")
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	var total float64
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		v, err := strconv.ParseFloat(line[strings.LastIndex(line, " ")+1:], 64)
		if err != nil {
			continue
		}
		switch {
		case strings.HasPrefix(line, "apiserver_request_total{"):
			verb := between(line, `verb="`, `"`)
			if isMutating(verb) {
				total += v
			}
			if breakdown != nil {
				breakdown[verb+" "+between(line, `resource="`, `"`)+"/"+between(line, `subresource="`, `"`)] += v
			}
		case strings.HasPrefix(line, "apiserver_watch_events_total{") && breakdown != nil:
			breakdown["watch events sent "+between(line, `resource="`, `"`)] += v
		}
	}
	return total, sc.Err()
}

func between(s, start, end string) string {
	i := strings.Index(s, start)
	if i < 0 {
		return ""
	}
	s = s[i+len(start):]
	if j := strings.Index(s, end); j >= 0 {
		return s[:j]
	}
	return s
}

func waitFor(ctx context.Context, what string, cond func() (bool, error)) error {
	deadline := time.Now().Add(20 * time.Minute)
	for time.Now().Before(deadline) {
		ok, err := cond()
		if err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		if ok {
			return nil
		}
		time.Sleep(200 * time.Millisecond)
	}
	return fmt.Errorf("%s: timed out", what)
}
