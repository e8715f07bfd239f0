//go:build integration

// Package chaos kills CAFE's controller with SIGKILL in the middle of a
// release, after each kind of action it takes and at seeded random moments,
// and checks that the release still completes safely.
package chaos

import (
	"context"
	"flag"
	"fmt"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	appsv1alpha1 "github.com/cafe-dev/cafe/api/apps/v1alpha1"
	"github.com/cafe-dev/cafe/internal/testenv"
)

var (
	env  *testenv.Env
	seed = flag.Int64("chaos.seed", 0, "seed of the random kill points (0: from the clock, logged)")
)

func TestMain(m *testing.M) { testenv.Main(m, testenv.Options{InstallCRDs: true}, &env) }

// controller is CAFE's controller binary running as a child process, so it
// can be killed like a crashed pod.
type controller struct {
	t    *testing.T
	cmd  *exec.Cmd
	log  *os.File
	kill int
}

func startController(t *testing.T) *controller {
	t.Helper()
	bin := filepath.Join(testenv.BinDir(), "cafe-controller")
	if _, err := os.Stat(bin); err != nil {
		t.Fatalf("%s is missing: run `make build` (the test command builds it)", bin)
	}
	log, err := os.Create(filepath.Join(t.TempDir(), "controller.log"))
	if err != nil {
		t.Fatal(err)
	}
	c := &controller{t: t, log: log}
	c.start()
	t.Cleanup(func() {
		if c.cmd != nil {
			_ = c.cmd.Process.Kill()
			_ = c.cmd.Wait()
		}
		if t.Failed() {
			data, _ := os.ReadFile(log.Name())
			t.Logf("controller log (last 4 KiB):\n%s", tail(data, 4096))
		}
	})
	return c
}

func (c *controller) start() {
	c.cmd = exec.Command(filepath.Join(testenv.BinDir(), "cafe-controller"),
		"--kubeconfig", env.Platform.KubeconfigPath(), "--leader-elect=false",
		"--metrics-bind-address=0", "--health-probe-bind-address=0")
	c.cmd.Stdout, c.cmd.Stderr = c.log, c.log
	if err := c.cmd.Start(); err != nil {
		c.t.Fatal(err)
	}
}

// crash kills the controller with SIGKILL (by its PID) and starts a new one.
func (c *controller) crash(why string) {
	c.kill++
	c.t.Logf("kill %d: %s", c.kill, why)
	_ = c.cmd.Process.Kill()
	_ = c.cmd.Wait()
	c.start()
}

func tail(b []byte, n int) []byte {
	if len(b) > n {
		return b[len(b)-n:]
	}
	return b
}

func workload(ns string) *appsv1alpha1.CafeDeployment {
	labels := map[string]string{"app": "pay"}
	return &appsv1alpha1.CafeDeployment{
		ObjectMeta: metav1.ObjectMeta{Name: "pay", Namespace: ns},
		Spec: appsv1alpha1.CafeDeploymentSpec{
			Replicas: ptr.To[int32](12),
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Topology: appsv1alpha1.Topology{Units: []appsv1alpha1.UnitSpec{{Name: "unit-a"}, {Name: "unit-b"}, {Name: "unit-c"}}},
			Strategy: appsv1alpha1.CafeDeploymentStrategy{
				Type:                  appsv1alpha1.ReleaseBatch,
				BatchSize:             ptr.To(intstr.FromString("50%")),
				MaxUnavailablePerUnit: ptr.To(intstr.FromInt32(1)),
				TrafficHandoff:        appsv1alpha1.TrafficHandoff{DrainSeconds: ptr.To[int32](1), MaxWaitSeconds: ptr.To[int32](60)},
			},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "pay:v1"}}},
			},
		},
	}
}

func edit(t *testing.T, ns string, change func(*appsv1alpha1.CafeDeployment)) {
	t.Helper()
	for i := 0; ; i++ {
		var cd appsv1alpha1.CafeDeployment
		if err := env.Client.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: "pay"}, &cd); err != nil {
			t.Fatal(err)
		}
		change(&cd)
		err := env.Client.Update(context.Background(), &cd)
		if err == nil {
			return
		}
		if i > 10 || !strings.Contains(err.Error(), "modified") {
			t.Fatal(err)
		}
	}
}

// settled reports whether n pods run image and serve, and the release is
// complete.
func settled(t *testing.T, ns string, n int, image string) (bool, string) {
	var cd appsv1alpha1.CafeDeployment
	if err := env.Client.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: "pay"}, &cd); err != nil {
		return false, err.Error()
	}
	var pods corev1.PodList
	if err := env.Client.List(context.Background(), &pods, client.InNamespace(ns)); err != nil {
		return false, err.Error()
	}
	serving := 0
	for _, p := range pods.Items {
		for _, c := range p.Status.Conditions {
			if c.Type == appsv1alpha1.ServingCondition && c.Status == corev1.ConditionTrue && p.Spec.Containers[0].Image == image && p.DeletionTimestamp == nil {
				serving++
			}
		}
	}
	done := cd.Status.Release.Phase == appsv1alpha1.ReleaseCompleted && cd.Status.ObservedGeneration == cd.Generation
	return done && serving == n && len(pods.Items) == n, fmt.Sprintf("phase %s, %d of %d pods serving %s", cd.Status.Release.Phase, serving, len(pods.Items), image)
}

func TestReleaseSurvivesControllerKills(t *testing.T) {
	if *seed == 0 {
		*seed = time.Now().UnixNano()
	}
	t.Logf("chaos seed %d (rerun with -args -chaos.seed=%d)", *seed, *seed)
	rng := rand.New(rand.NewSource(*seed))
	ns := env.Namespace(t)
	obs := env.Observe(t, ns)
	ctl := startController(t)
	svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "pay", Namespace: ns},
		Spec: corev1.ServiceSpec{Selector: map[string]string{"app": "pay"}, Ports: []corev1.ServicePort{{Port: 80}}}}
	if err := env.Client.Create(context.Background(), svc); err != nil {
		t.Fatal(err)
	}

	// 1. Creation: kill right after the first pod is created.
	start := time.Now()
	if err := env.Client.Create(context.Background(), workload(ns)); err != nil {
		t.Fatal(err)
	}
	killAfter(t, obs, ctl, testenv.PodCreated, start)
	killAfter(t, obs, ctl, testenv.ServingTrue, start)
	testenv.Eventually(t, 3*time.Minute, "12 pods serving v1", func() (bool, string) { return settled(t, ns, 12, "pay:v1") })

	// 2. A release: kill after each kind of pod change.
	releaseStart := time.Now()
	edit(t, ns, func(cd *appsv1alpha1.CafeDeployment) { cd.Spec.Template.Spec.Containers[0].Image = "pay:v2" })
	for _, kind := range []testenv.EventKind{testenv.ServingFalse, testenv.Unlisted, testenv.SpecChanged, testenv.ContainersReady, testenv.ServingTrue} {
		killAfter(t, obs, ctl, kind, time.Now())
	}
	testenv.Eventually(t, 3*time.Minute, "12 pods serving v2", func() (bool, string) { return settled(t, ns, 12, "pay:v2") })

	// 3. Scale in: kill after the first deletion.
	edit(t, ns, func(cd *appsv1alpha1.CafeDeployment) { cd.Spec.Replicas = ptr.To[int32](9) })
	killAfter(t, obs, ctl, testenv.PodDeleted, time.Now())
	testenv.Eventually(t, 3*time.Minute, "9 pods serving v2", func() (bool, string) { return settled(t, ns, 9, "pay:v2") })

	// 4. A release under 20 kills at seeded random moments.
	edit(t, ns, func(cd *appsv1alpha1.CafeDeployment) { cd.Spec.Template.Spec.Containers[0].Image = "pay:v3" })
	for i := 0; i < 20; i++ {
		time.Sleep(time.Duration(100+rng.Intn(900)) * time.Millisecond)
		ctl.crash(fmt.Sprintf("random point %d", i+1))
	}
	testenv.Eventually(t, 4*time.Minute, "9 pods serving v3", func() (bool, string) { return settled(t, ns, 9, "pay:v3") })
	obs.Stop()

	// No pod was changed twice for one revision: each surviving pod changed
	// image exactly twice (v1→v2, v2→v3).
	for pod, n := range obs.Count(testenv.SpecChanged) {
		if n > 2 {
			t.Errorf("pod %s changed %d times over two releases (want at most 2)", pod, n)
		}
	}
	// The per-unit floor held throughout: 4 pods per unit (3 after the
	// scale-in), at most 1 unavailable.
	for unit, low := range obs.MinServingPerUnit(releaseStart) {
		if low < 2 {
			t.Errorf("unit %s dropped to %d serving pods (floor 2 with 3 pods and maxUnavailablePerUnit 1)", unit, low)
		}
	}
	if n := obs.CheckHandoff(t, time.Second); n == 0 {
		t.Error("no hand-off was checked")
	}
	if ctl.kill < 28 {
		t.Errorf("only %d kills happened", ctl.kill)
	}
}

// killAfter waits for the first event of kind after since and kills the
// controller then.
func killAfter(t *testing.T, obs *testenv.Observer, ctl *controller, kind testenv.EventKind, since time.Time) {
	t.Helper()
	if !obs.WaitFor(kind, since, 2*time.Minute) {
		t.Fatalf("no %s event came", kind)
	}
	ctl.crash("after " + string(kind))
}
