//go:build integration

package cafecli_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	appsv1alpha1 "github.com/cafe-dev/cafe/api/apps/v1alpha1"
	"github.com/cafe-dev/cafe/internal/manager"
	"github.com/cafe-dev/cafe/internal/platform"
	"github.com/cafe-dev/cafe/internal/testenv"
)

// `cafe up` brings up three units with CAFE's CRDs and controllers, prints
// what to do next, and on SIGTERM stops every process it started, releases
// every port and removes its guard route; run again on the same data
// directory, it still has the objects created before.
func TestUpRunsThePlatformStopsCleanlyAndKeepsStateAcrossRuns(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Fatal("this test needs root: it checks the guard route `cafe up` adds as root")
	}
	cafe := testenv.BuildCommand(t, "./cmd/cafe")
	dataDir := filepath.Join(t.TempDir(), "data")

	first := startUp(t, cafe, dataDir)
	kube, cafeClient := clients(t, dataDir)
	podRange := assertThreeUnits(t, kube)
	if !guardRouted(podRange) {
		t.Errorf("no unreachable route guards the pod range %s", podRange)
	}
	ctx := context.Background()
	if err := cafeClient.Create(ctx, smallWorkload()); err != nil {
		t.Fatalf("create a CafeDeployment (is its CRD installed?): %v", err)
	}
	created := time.Now()
	testenv.Eventually(t, 2*time.Minute, "CAFE's controllers to give the CafeDeployment 3 Ready pods", func() (bool, string) {
		if readyPods(ctx, kube) == 3 {
			return true, ""
		}
		return false, workloadState(ctx, kube, cafeClient) + "\n`cafe up` said:\n" + first.output.String()
	})
	t.Logf("the CafeDeployment had 3 Ready pods after %s", time.Since(created).Round(time.Millisecond))
	footprint := first.footprint(t)
	first.stop(t)
	for _, left := range footprint.Left() {
		t.Errorf("after `cafe up` stopped: %s", left)
	}
	if guardRouted(podRange) {
		t.Errorf("the guard route %s is still there after `cafe up` stopped", podRange)
	}

	second := startUp(t, cafe, dataDir)
	_, cafeClient = clients(t, dataDir)
	var kept appsv1alpha1.CafeDeployment
	if err := cafeClient.Get(ctx, client.ObjectKey{Namespace: "default", Name: "pay"}, &kept); err != nil {
		t.Errorf("the CafeDeployment created in the first run is gone after a restart: %v", err)
	}
	second.stop(t)
}

// upProcess is a running `cafe up`.
type upProcess struct {
	cmd    *exec.Cmd
	output *testenv.SyncBuffer
	exited chan struct{}
}

// startUp runs `cafe up` on dataDir with one node per unit and a free API
// port, and returns once it printed what to do next and wrote its
// kubeconfig. A `cafe up` still running when the test ends is stopped.
func startUp(t *testing.T, cafe, dataDir string) *upProcess {
	t.Helper()
	up := &upProcess{output: &testenv.SyncBuffer{}, exited: make(chan struct{})}
	up.cmd = exec.Command(cafe, "up", "--data-dir", dataDir, "--bin-dir", testenv.BinDir(), "--port", "0", "--nodes-per-unit", "1")
	up.cmd.Dir = t.TempDir()
	up.cmd.Stdout, up.cmd.Stderr = up.output, up.output
	began := time.Now()
	if err := up.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		_ = up.cmd.Wait()
		close(up.exited)
	}()
	t.Cleanup(func() {
		select {
		case <-up.exited:
		default:
			_ = up.cmd.Process.Signal(syscall.SIGTERM)
			<-up.exited
		}
	})
	deadline := time.After(2 * time.Minute)
	for !strings.Contains(up.output.String(), "CAFE is up in") {
		select {
		case <-up.exited:
			t.Fatalf("`cafe up` exited (%v) before it was up:\n%s", up.cmd.ProcessState, up.output)
		case <-deadline:
			t.Fatalf("`cafe up` was not up after 2 minutes:\n%s", up.output)
		case <-time.After(100 * time.Millisecond):
		}
	}
	t.Logf("`cafe up` was up after %s", time.Since(began).Round(time.Millisecond))
	if !strings.Contains(up.output.String(), "kubectl get nodes") {
		t.Errorf("`cafe up` did not say what to do next:\n%s", up.output)
	}
	if _, err := os.Stat(filepath.Join(dataDir, "kubeconfig")); err != nil {
		t.Fatalf("`cafe up` is up but wrote no kubeconfig: %v", err)
	}
	return up
}

// components are what `cafe up` runs below itself, each listening: etcd on
// its client and peer ports, the others on one each (kwok: its kubelet
// endpoint).
var components = map[string]int{"etcd": 2, "kube-apiserver": 1, "kube-controller-manager": 1, "kube-scheduler": 1, "kwok": 1}

// footprint records `cafe up` and every process below it, and the ports
// they listen on, once every component listens.
func (up *upProcess) footprint(t *testing.T) testenv.Footprint {
	t.Helper()
	var f testenv.Footprint
	testenv.Eventually(t, 30*time.Second, "`cafe up` to run its components, each listening", func() (bool, string) {
		f = testenv.RecordFootprint(map[string]int{"cafe up": up.cmd.Process.Pid})
		for name, want := range components {
			if got := f.PortsOf(name); len(got) < want {
				return false, fmt.Sprintf("%s listens on ports %v, want at least %d (processes: %v)", name, got, want, f.Processes)
			}
		}
		return true, ""
	})
	t.Logf("`cafe up` runs %d processes listening on ports %v", len(f.Processes), f.Ports)
	return f
}

// stop sends SIGTERM and waits for `cafe up` to exit, successfully.
func (up *upProcess) stop(t *testing.T) {
	t.Helper()
	began := time.Now()
	if err := up.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-up.exited:
		t.Logf("`cafe up` exited %s after SIGTERM", time.Since(began).Round(time.Millisecond))
	case <-time.After(time.Minute):
		t.Fatalf("`cafe up` still runs a minute after SIGTERM:\n%s", up.output)
	}
	if !up.cmd.ProcessState.Success() || !strings.Contains(up.output.String(), "stopped") {
		t.Errorf("`cafe up` did not stop cleanly (%v):\n%s", up.cmd.ProcessState, up.output)
	}
}

// clients talk to the platform through the kubeconfig `cafe up` wrote.
func clients(t *testing.T, dataDir string) (kubernetes.Interface, client.Client) {
	t.Helper()
	cfg, err := clientcmd.BuildConfigFromFlags("", filepath.Join(dataDir, "kubeconfig"))
	if err != nil {
		t.Fatal(err)
	}
	kube, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	cafeClient, err := client.New(cfg, client.Options{Scheme: manager.Scheme()})
	if err != nil {
		t.Fatal(err)
	}
	return kube, cafeClient
}

// assertThreeUnits checks that the nodes form the three default units and
// returns the platform's pod range, 100.(64+S).0.0/16, which holds every
// node's podCIDR.
func assertThreeUnits(t *testing.T, kube kubernetes.Interface) string {
	t.Helper()
	nodes, err := kube.CoreV1().Nodes().List(context.Background(), metav1.ListOptions{})
	if err != nil {
		t.Fatalf("the kubeconfig `cafe up` wrote does not work: %v", err)
	}
	perUnit := map[string]int{}
	var podRange string
	for _, n := range nodes.Items {
		perUnit[n.Labels[platform.UnitLabel]]++
		octets := strings.SplitN(n.Spec.PodCIDR, ".", 3)
		podRange = strings.Join(octets[:2], ".") + ".0.0/16"
	}
	for _, unit := range platform.DefaultUnits {
		if perUnit[unit] != 1 {
			t.Errorf("unit %s has %d nodes, want 1 (nodes per %s: %v)", unit, perUnit[unit], platform.UnitLabel, perUnit)
		}
	}
	if len(perUnit) != len(platform.DefaultUnits) {
		t.Errorf("nodes are in units %v, want exactly %v", perUnit, platform.DefaultUnits)
	}
	return podRange
}

// smallWorkload is a CafeDeployment of one pod in each default unit.
func smallWorkload() *appsv1alpha1.CafeDeployment {
	labels := map[string]string{"app": "pay"}
	units := make([]appsv1alpha1.UnitSpec, 0, len(platform.DefaultUnits))
	for _, u := range platform.DefaultUnits {
		units = append(units, appsv1alpha1.UnitSpec{Name: u})
	}
	return &appsv1alpha1.CafeDeployment{
		ObjectMeta: metav1.ObjectMeta{Name: "pay", Namespace: "default"},
		Spec: appsv1alpha1.CafeDeploymentSpec{
			Replicas: ptr.To[int32](3),
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Topology: appsv1alpha1.Topology{Units: units},
			// One batch: the test needs the pods, not a release.
			Strategy: appsv1alpha1.CafeDeploymentStrategy{Type: appsv1alpha1.ReleaseBatch, BatchSize: ptr.To(intstr.FromString("100%"))},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "pay:v1"}}},
			},
		},
	}
}

func readyPods(ctx context.Context, kube kubernetes.Interface) int {
	pods, err := kube.CoreV1().Pods("default").List(ctx, metav1.ListOptions{LabelSelector: "app=pay"})
	if err != nil {
		return 0
	}
	ready := 0
	for _, p := range pods.Items {
		for _, c := range p.Status.Conditions {
			if c.Type == corev1.PodReady && c.Status == corev1.ConditionTrue {
				ready++
			}
		}
	}
	return ready
}

// guardRouted reports whether the root network namespace has an
// unreachable route for exactly cidr.
func guardRouted(cidr string) bool {
	out, err := exec.Command("ip", "route", "show", "type", "unreachable", "exact", cidr).Output()
	return err == nil && strings.TrimSpace(string(out)) != ""
}

// workloadState describes the test workload and its pods, for a failure.
func workloadState(ctx context.Context, kube kubernetes.Interface, c client.Client) string {
	var b strings.Builder
	var cd appsv1alpha1.CafeDeployment
	if err := c.Get(ctx, client.ObjectKey{Namespace: "default", Name: "pay"}, &cd); err != nil {
		fmt.Fprintf(&b, "CafeDeployment: %v\n", err)
	} else {
		fmt.Fprintf(&b, "CafeDeployment: phase %q batch %d, ready %d\n", cd.Status.Release.Phase, cd.Status.Release.Batch, cd.Status.ReadyReplicas)
		for _, c := range cd.Status.Conditions {
			fmt.Fprintf(&b, "  %s=%s %s: %s\n", c.Type, c.Status, c.Reason, c.Message)
		}
	}
	pods, err := kube.CoreV1().Pods("default").List(ctx, metav1.ListOptions{LabelSelector: "app=pay"})
	if err != nil {
		fmt.Fprintf(&b, "pods: %v\n", err)
		return b.String()
	}
	fmt.Fprintf(&b, "%d pods\n", len(pods.Items))
	for _, p := range pods.Items {
		fmt.Fprintf(&b, "  %s on %q ip %q phase %s:", p.Name, p.Spec.NodeName, p.Status.PodIP, p.Status.Phase)
		for _, c := range p.Status.Conditions {
			fmt.Fprintf(&b, " %s=%s", c.Type, c.Status)
		}
		b.WriteString("\n")
	}
	events, err := kube.CoreV1().Events("default").List(ctx, metav1.ListOptions{})
	if err == nil {
		for _, e := range events.Items {
			if e.Type == corev1.EventTypeWarning {
				fmt.Fprintf(&b, "  warning %s %s: %s\n", e.InvolvedObject.Name, e.Reason, e.Message)
			}
		}
	}
	return b.String()
}
