//go:build integration

package platform_test

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"

	"github.com/cafe-dev/cafe/internal/platform"
	"github.com/cafe-dev/cafe/internal/testenv"
)

var env *testenv.Env

func TestMain(m *testing.M) { testenv.Main(m, testenv.Options{}, &env) }

func TestNodesAreGroupedIntoUnitsWithOwnPodCIDRs(t *testing.T) {
	nodes, err := env.Kube.CoreV1().Nodes().List(context.Background(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	_, podRange, _ := net.ParseCIDR(env.Platform.PodCIDR())
	perUnit := map[string]int{}
	cidrs := map[string]string{}
	for _, n := range nodes.Items {
		unit := n.Labels[platform.UnitLabel]
		if n.Labels[platform.ZoneLabel] != unit {
			t.Errorf("node %s: zone label %q differs from unit label %q", n.Name, n.Labels[platform.ZoneLabel], unit)
		}
		perUnit[unit]++
		ip, cidr, err := net.ParseCIDR(n.Spec.PodCIDR)
		if err != nil || !podRange.Contains(ip) || !podRange.Contains(lastIP(cidr)) {
			t.Errorf("node %s: podCIDR %q is not inside the platform's pod range %s", n.Name, n.Spec.PodCIDR, podRange)
		}
		if other, dup := cidrs[n.Spec.PodCIDR]; dup {
			t.Errorf("nodes %s and %s share podCIDR %s", other, n.Name, n.Spec.PodCIDR)
		}
		cidrs[n.Spec.PodCIDR] = n.Name
	}
	for _, unit := range platform.DefaultUnits {
		if perUnit[unit] != 2 {
			t.Errorf("unit %s has %d nodes, want 2 (all: %v)", unit, perUnit[unit], perUnit)
		}
	}
}

func TestGuardRouteCoversPodRange(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Fatal("this test needs root: the local platform guards its pod range with an unreachable route")
	}
	if !platformHasRoute(env.Platform.PodCIDR()) {
		t.Fatalf("no unreachable route for the pod range %s", env.Platform.PodCIDR())
	}
}

func TestDeploymentOf100BecomesReadyWithAddressesInsideTheRange(t *testing.T) {
	ns := env.Namespace(t)
	ctx := context.Background()
	labels := map[string]string{"app": "web"}
	d := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: ns},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To[int32](100),
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "web", Image: "web:v1"}}},
			},
		},
	}
	if _, err := env.Kube.AppsV1().Deployments(ns).Create(ctx, d, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, 2*time.Minute, "100 ready replicas", func() (bool, string) {
		got, err := env.Kube.AppsV1().Deployments(ns).Get(ctx, "web", metav1.GetOptions{})
		if err != nil {
			return false, err.Error()
		}
		return got.Status.ReadyReplicas == 100, fmt.Sprintf("%d ready", got.Status.ReadyReplicas)
	})
	pods, err := env.Kube.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	_, podRange, _ := net.ParseCIDR(env.Platform.PodCIDR())
	seen := map[string]string{}
	for _, p := range pods.Items {
		node, err := env.Kube.CoreV1().Nodes().Get(ctx, p.Spec.NodeName, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		_, nodeCIDR, _ := net.ParseCIDR(node.Spec.PodCIDR)
		ip := net.ParseIP(p.Status.PodIP)
		if ip == nil || !nodeCIDR.Contains(ip) || !podRange.Contains(ip) {
			t.Errorf("pod %s on %s has IP %q outside its node's podCIDR %s", p.Name, p.Spec.NodeName, p.Status.PodIP, node.Spec.PodCIDR)
		}
		if other, dup := seen[p.Status.PodIP]; dup {
			t.Errorf("pods %s and %s share IP %s", other, p.Name, p.Status.PodIP)
		}
		seen[p.Status.PodIP] = p.Name
	}
}

// A pod is Ready only when its containers are ready and every readiness gate
// is True, like kubelet; and it follows the gate both ways.
func TestReadinessGatesDecideReadiness(t *testing.T) {
	ns := env.Namespace(t)
	ctx := context.Background()
	const gate = "example.com/in-rotation"
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "gated", Namespace: ns},
		Spec: corev1.PodSpec{
			ReadinessGates: []corev1.PodReadinessGate{{ConditionType: gate}},
			Containers:     []corev1.Container{{Name: "app", Image: "app:v1"}},
		},
	}
	if _, err := env.Kube.CoreV1().Pods(ns).Create(ctx, pod, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitPod(t, ns, "gated", "containers ready, pod not Ready", func(p *corev1.Pod) bool {
		return condition(p, corev1.ContainersReady) == corev1.ConditionTrue && condition(p, corev1.PodReady) == corev1.ConditionFalse
	})
	// Still not Ready a while later: nothing but the gate's owner may flip it.
	time.Sleep(time.Second)
	p := getPod(t, ns, "gated")
	if condition(p, corev1.PodReady) != corev1.ConditionFalse {
		t.Fatalf("pod became Ready without its readiness gate: %v", p.Status.Conditions)
	}
	if condition(p, gate) != "" {
		t.Fatalf("the simulator set the readiness gate condition itself: %v", p.Status.Conditions)
	}
	setCondition(t, ns, "gated", gate, corev1.ConditionTrue)
	waitPod(t, ns, "gated", "Ready after the gate turned True", func(p *corev1.Pod) bool {
		return condition(p, corev1.PodReady) == corev1.ConditionTrue
	})
	setCondition(t, ns, "gated", gate, corev1.ConditionFalse)
	waitPod(t, ns, "gated", "not Ready after the gate turned False", func(p *corev1.Pod) bool {
		return condition(p, corev1.PodReady) == corev1.ConditionFalse
	})
}

// Changing a running pod's image restarts that container in place: same UID,
// name and IP; containerStatuses show the new image, a new imageID and one
// more restart. Switching to the reported digest restarts it again (the
// VM-style restart CAFE uses).
func TestImageChangeRestartsContainerInPlace(t *testing.T) {
	ns := env.Namespace(t)
	ctx := context.Background()
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "app", Namespace: ns},
		Spec: corev1.PodSpec{Containers: []corev1.Container{
			{Name: "app", Image: "registry.local:5000/app:v1"},
			{Name: "sidecar", Image: "sidecar:v1"},
		}},
	}
	if _, err := env.Kube.CoreV1().Pods(ns).Create(ctx, pod, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	before := waitPod(t, ns, "app", "Ready", func(p *corev1.Pod) bool { return condition(p, corev1.PodReady) == corev1.ConditionTrue })
	oldID := before.Status.ContainerStatuses[0].ImageID
	setImage(t, ns, "app", 0, "registry.local:5000/app:v2")
	after := waitPod(t, ns, "app", "restarted with v2 and Ready", func(p *corev1.Pod) bool {
		s := status(p, "app")
		return s != nil && s.Image == "registry.local:5000/app:v2" && s.RestartCount == 1 && s.Ready &&
			condition(p, corev1.PodReady) == corev1.ConditionTrue
	})
	if after.UID != before.UID || after.Status.PodIP != before.Status.PodIP {
		t.Fatalf("in-place restart changed identity: uid %s→%s ip %s→%s", before.UID, after.UID, before.Status.PodIP, after.Status.PodIP)
	}
	app := status(after, "app")
	if app.ImageID == oldID || app.ImageID == "" {
		t.Errorf("imageID did not change with the image: %q", app.ImageID)
	}
	if app.LastTerminationState.Terminated == nil {
		t.Errorf("restarted container has no last termination state")
	}
	if s := status(after, "sidecar"); s.RestartCount != 0 {
		t.Errorf("unchanged sidecar restarted too: %+v", s)
	}
	digest := app.ImageID
	setImage(t, ns, "app", 0, digest)
	byDigest := waitPod(t, ns, "app", "restarted by digest", func(p *corev1.Pod) bool {
		s := status(p, "app")
		return s != nil && s.Image == digest && s.RestartCount == 2 && s.Ready
	})
	if got := status(byDigest, "app").ImageID; got != digest {
		t.Errorf("switching to the digest changed the image ID: %q, want %q", got, digest)
	}
}

// Stopping leaves no child process, listening port or route behind, and a
// restart on the same data directory keeps the objects created before.
func TestStopLeavesNothingAndRestartKeepsState(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	dir := filepath.Join(t.TempDir(), "data")
	opts := platform.Options{DataDir: dir, BinDir: testenv.BinDir(), Units: []string{"east", "west"}, NodesPerUnit: 1}
	first, err := platform.Start(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	cfg, _ := first.RESTConfig()
	kube := kubernetes.NewForConfigOrDie(cfg)
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "kept", Namespace: "default"}, Data: map[string]string{"k": "v"}}
	if _, err := kube.CoreV1().ConfigMaps("default").Create(ctx, cm, metav1.CreateOptions{}); err != nil {
		first.Stop()
		t.Fatal(err)
	}
	footprint, cidr := recordFootprint(t, first), first.PodCIDR()
	first.Stop()
	assertGone(t, footprint, cidr)

	second, err := platform.Start(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer second.Stop()
	if second.PodCIDR() != cidr {
		t.Errorf("restart moved the pod range from %s to %s (node podCIDRs cannot move)", cidr, second.PodCIDR())
	}
	cfg, _ = second.RESTConfig()
	kube = kubernetes.NewForConfigOrDie(cfg)
	got, err := kube.CoreV1().ConfigMaps("default").Get(ctx, "kept", metav1.GetOptions{})
	if err != nil || got.Data["k"] != "v" {
		t.Fatalf("object created before the restart is gone: %v %v", got, err)
	}
	footprint = recordFootprint(t, second)
	second.Stop()
	assertGone(t, footprint, cidr)
}

// A platform killed like a crash leaves its guard routes and its units'
// network (namespaces, bridge) behind; the next platform to start removes
// them, whatever slot it takes. Here the next one holds another slot than the
// crashed one, so only the clean-up can remove them (a platform taking the
// same slot would replace its routes and rebuild its network).
func TestCrashedPlatformIsCleanedUpByTheNext(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Fatal("this test needs root: it checks the guard routes and network namespaces")
	}
	agent := testenv.BuildCommand(t, "./cmd/cafe-node")
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	solo := []string{"solo"}
	// The next platform's data directory remembers the slot it first took
	// while the crashed one ran: the two slots differ.
	nextOpts := platform.Options{DataDir: filepath.Join(t.TempDir(), "next"), BinDir: testenv.BinDir(), Units: solo, NodesPerUnit: 1}
	next, err := platform.Start(ctx, nextOpts)
	if err != nil {
		t.Fatal(err)
	}
	crashed, err := platform.Start(ctx, platform.Options{
		DataDir: filepath.Join(t.TempDir(), "crashed"), BinDir: testenv.BinDir(), Units: solo, NodesPerUnit: 1,
		LiveNodesPerUnit: 1, NodeAgentBinary: agent,
	})
	next.Stop()
	if err != nil {
		t.Fatal(err)
	}
	left := leftoversOf(crashed)
	pids := crashed.PIDs()
	crashed.Kill()
	for _, what := range left {
		if !what.present() {
			t.Fatalf("expected the crashed platform to leave %s behind", what.name)
		}
	}

	next, err = platform.Start(ctx, nextOpts)
	if err != nil {
		t.Fatal(err)
	}
	defer next.Stop()
	if next.PodCIDR() == crashed.PodCIDR() {
		t.Fatalf("the next platform took the crashed one's pod range %s: the test cannot tell its clean-up from a replacement", next.PodCIDR())
	}
	for _, what := range left {
		if what.present() {
			t.Errorf("%s of the crashed platform is still there", what.name)
		}
	}
	for name, pid := range pids {
		if testenv.Alive(pid) {
			t.Errorf("%s (pid %d) of the crashed platform is still running", name, pid)
		}
	}
}

// leftover is something on the host a platform made and must remove.
type leftover struct {
	name    string
	present func() bool
}

// leftoversOf are p's guard routes, unit namespaces and bridge, named as in
// docs/local-platform.md.
func leftoversOf(p *platform.Platform) []leftover {
	slot := podRangeSlot(p.PodCIDR())
	bridge := fmt.Sprintf("cafebr%d", slot)
	out := []leftover{
		{"guard route " + p.PodCIDR(), func() bool { return platformHasRoute(p.PodCIDR()) }},
		{"live guard route " + p.LiveCIDR(), func() bool { return platformHasRoute(p.LiveCIDR()) }},
		{"bridge " + bridge, func() bool { return exists("/sys/class/net/" + bridge) }},
	}
	for _, unit := range p.Units() {
		ns := p.UnitNetns(unit)
		out = append(out, leftover{"network namespace " + ns, func() bool { return exists("/var/run/netns/" + ns) }})
	}
	return out
}

// StartLatency is one latency model: a new pod and an in-place restart (an
// image change) each take the start latency to become Ready, and not much
// longer.
// One latency model: a new pod pays its sandbox and its container's start,
// an in-place restart (which keeps the sandbox) only the start.
func TestStartLatencyDelaysNewPodsAndInPlaceRestartsAlike(t *testing.T) {
	const latency = 2 * time.Second
	const sandbox = 1500 * time.Millisecond
	const slack = 2 * time.Second // scheduling, kwok's reaction, polling
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	p, err := platform.Start(ctx, platform.Options{
		DataDir: filepath.Join(t.TempDir(), "data"), BinDir: testenv.BinDir(), Units: []string{"solo"}, NodesPerUnit: 1,
		StartLatency: latency, SandboxLatency: sandbox,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Stop()
	cfg, _ := p.RESTConfig()
	pods := kubernetes.NewForConfigOrDie(cfg).CoreV1().Pods("default")
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "slow", Namespace: "default"},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "app:v1"}}},
	}
	began := time.Now()
	if _, err := pods.Create(ctx, pod, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	readyWith := func(image string) func(*corev1.Pod) bool {
		return func(p *corev1.Pod) bool {
			s := status(p, "app")
			return s != nil && s.Image == image && s.Ready && condition(p, corev1.PodReady) == corev1.ConditionTrue
		}
	}
	waitPodOf(t, pods, "slow", "Ready", readyWith("app:v1"))
	newPod := time.Since(began)

	began = time.Now()
	patch := `[{"op":"replace","path":"/spec/containers/0/image","value":"app:v2"}]`
	if _, err := pods.Patch(ctx, "slow", types.JSONPatchType, []byte(patch), metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	restarted := waitPodOf(t, pods, "slow", "Ready again with app:v2", readyWith("app:v2"))
	restart := time.Since(began)
	if got := status(restarted, "app").RestartCount; got != 1 {
		t.Fatalf("the image change restarted the container %d times, want once (in place)", got)
	}

	for what, c := range map[string]struct{ took, want time.Duration }{
		"a new pod (sandbox, then start)": {newPod, sandbox + latency},
		"an in-place restart (start)":     {restart, latency},
	} {
		t.Logf("%s became Ready in %s (model: %s)", what, c.took.Round(time.Millisecond), c.want)
		if c.took < c.want {
			t.Errorf("%s became Ready in %s, sooner than the model's %s", what, c.took, c.want)
		}
		if c.took > c.want+slack {
			t.Errorf("%s became Ready in %s, far more than the model's %s", what, c.took, c.want)
		}
	}
}

func TestClearErrors(t *testing.T) {
	ctx := context.Background()
	_, err := platform.Start(ctx, platform.Options{DataDir: t.TempDir(), BinDir: t.TempDir()})
	if _, ok := err.(*platform.MissingBinaryError); !ok || !contains(err.Error(), "make tools") {
		t.Errorf("missing binary: got %v, want an error that says `make tools`", err)
	}
	_, err = platform.Start(ctx, platform.Options{DataDir: t.TempDir(), BinDir: testenv.BinDir(), APIServerPort: env.Platform.APIServerPort()})
	if _, ok := err.(*platform.PortInUseError); !ok {
		t.Errorf("port in use: got %v, want a PortInUseError", err)
	}
	file := filepath.Join(t.TempDir(), "file")
	os.WriteFile(file, nil, 0o644)
	_, err = platform.Start(ctx, platform.Options{DataDir: filepath.Join(file, "sub"), BinDir: testenv.BinDir()})
	if err == nil || !contains(err.Error(), "data directory") {
		t.Errorf("unusable data directory: got %v", err)
	}
}
