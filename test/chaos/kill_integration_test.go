//go:build integration

// Package chaos kills CAFE's controller with SIGKILL in the middle of a
// release, after each kind of action it takes and at seeded random moments,
// and checks that the release still completes safely.
package chaos

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	appsv1alpha1 "github.com/cafe-dev/cafe/api/apps/v1alpha1"
	"github.com/cafe-dev/cafe/internal/controller/inplaceset"
	"github.com/cafe-dev/cafe/internal/release"
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

	// 1. Creation: kill right after the first pod is created and after the
	// first goes into traffic.
	start := time.Now()
	if err := env.Client.Create(context.Background(), workload(ns)); err != nil {
		t.Fatal(err)
	}
	killAfter(t, obs, ctl, testenv.PodCreated, start)
	killAfter(t, obs, ctl, testenv.ServingTrue, start)
	testenv.Eventually(t, 3*time.Minute, "12 pods serving v1", func() (bool, string) { return settled(t, ns, 12, "pay:v1") })

	// 2. An in-place release: kill after each step of a pod's change.
	inPlace := time.Now()
	edit(t, ns, func(cd *appsv1alpha1.CafeDeployment) { cd.Spec.Template.Spec.Containers[0].Image = "pay:v2" })
	for _, kind := range []testenv.EventKind{testenv.ServingFalse, testenv.Unlisted, testenv.SpecChanged, testenv.ContainersReady, testenv.ServingTrue} {
		killAfter(t, obs, ctl, kind, time.Now())
	}
	testenv.Eventually(t, 3*time.Minute, "12 pods serving v2", func() (bool, string) { return settled(t, ns, 12, "pay:v2") })

	// 3. Scale in: kill after the first deletion.
	scaleIn := time.Now()
	edit(t, ns, func(cd *appsv1alpha1.CafeDeployment) { cd.Spec.Replicas = ptr.To[int32](9) })
	killAfter(t, obs, ctl, testenv.PodDeleted, scaleIn)
	testenv.Eventually(t, 3*time.Minute, "9 pods serving v2", func() (bool, string) { return settled(t, ns, 9, "pay:v2") })
	names := podNames(t, ns)

	// 4. A release that needs recreation (a new environment variable): kill
	// after a deletion and after a replacement's creation.
	recreate := time.Now()
	edit(t, ns, func(cd *appsv1alpha1.CafeDeployment) {
		cd.Spec.Template.Spec.Containers[0].Env = []corev1.EnvVar{{Name: "MODE", Value: "recreated"}}
	})
	killAfter(t, obs, ctl, testenv.PodDeleted, recreate)
	killAfter(t, obs, ctl, testenv.PodCreated, recreate)
	testenv.Eventually(t, 3*time.Minute, "9 recreated pods serving v2", func() (bool, string) { return settled(t, ns, 9, "pay:v2") })
	if got := podNames(t, ns); !slices.Equal(got, names) {
		t.Errorf("recreation changed pod names: %v, then %v", names, got)
	}

	// 5. A restart in place of one pod: kill after its containers' change.
	restart := time.Now()
	restartPod(t, ns, names[0], "chaos-1")
	killAfter(t, obs, ctl, testenv.SpecChanged, restart)
	testenv.Eventually(t, 2*time.Minute, names[0]+" restarted and serving", func() (bool, string) {
		var pod corev1.Pod
		if err := env.Client.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: names[0]}, &pod); err != nil {
			return false, err.Error()
		}
		return pod.Annotations[appsv1alpha1.RestartHandledAnnotation] == "chaos-1" && inplaceset.ConditionStatus(&pod, appsv1alpha1.ServingCondition) == corev1.ConditionTrue, fmt.Sprintf("%v %v", pod.Annotations, pod.Status.Conditions)
	})

	// 6. A release whose second batch waits for a confirmation: kill right
	// after the confirmed batch starts.
	confirmed := time.Now()
	edit(t, ns, func(cd *appsv1alpha1.CafeDeployment) {
		cd.Spec.Strategy.NeedConfirm = true
		cd.Spec.Template.Spec.Containers[0].Image = "pay:v3"
	})
	cd := waitRelease(t, ns, func(r appsv1alpha1.ReleaseStatus) bool {
		return r.Phase == appsv1alpha1.ReleaseWaitingForConfirmation
	})
	edit(t, ns, func(c *appsv1alpha1.CafeDeployment) {
		c.Spec.Release.Confirm = &appsv1alpha1.ReleaseConfirmation{Revision: cd.Status.Release.Revision, Batch: cd.Status.Release.Batch}
		if c.Annotations == nil {
			c.Annotations = map[string]string{}
		}
		c.Annotations[appsv1alpha1.ConfirmedByAnnotation] = "cafe-admin" // the test's user
	})
	waitRelease(t, ns, func(r appsv1alpha1.ReleaseStatus) bool {
		return r.Phase == appsv1alpha1.ReleaseProgressing && r.Batch == cd.Status.Release.Batch
	})
	ctl.crash("after the confirmed batch started")
	testenv.Eventually(t, 3*time.Minute, "9 pods serving v3", func() (bool, string) { return settled(t, ns, 9, "pay:v3") })

	// 7. One release under 20 kills at seeded random moments, every one of
	// them while the release is in progress: a 5-second drain keeps it
	// going longer than the kills take.
	random := time.Now()
	edit(t, ns, func(cd *appsv1alpha1.CafeDeployment) {
		cd.Spec.Strategy.NeedConfirm = false
		cd.Spec.Strategy.TrafficHandoff.DrainSeconds = ptr.To[int32](5)
		cd.Spec.Template.Spec.Containers[0].Image = "pay:v4"
	})
	for i := 0; i < 20; i++ {
		time.Sleep(time.Duration(100+rng.Intn(900)) * time.Millisecond)
		if done, state := settled(t, ns, 9, "pay:v4"); done {
			t.Fatalf("the release completed before random kill %d (%s): the kills must fall inside it", i+1, state)
		}
		ctl.crash(fmt.Sprintf("random point %d", i+1))
	}
	testenv.Eventually(t, 4*time.Minute, "9 pods serving v4", func() (bool, string) { return settled(t, ns, 9, "pay:v4") })
	end := time.Now()
	obs.Stop()

	// No pod was changed twice for one revision, nor recreated twice.
	for _, w := range []struct {
		what     string
		count    func(obs *testenv.Observer, from, to time.Time) map[string]int
		from, to time.Time
		want     int // pods changed
	}{
		{"in-place release to v2", specChanges, inPlace, scaleIn, 12},
		{"recreation", recreations, recreate, restart, 9},
		{"restart", specChanges, restart, confirmed, 1},
		{"release to v3", specChanges, confirmed, random, 9},
		{"release to v4", specChanges, random, end, 9},
	} {
		perPod := w.count(obs, w.from, w.to)
		for pod, n := range perPod {
			if n > 1 {
				t.Errorf("%s: pod %s changed %d times, want 1\n%s", w.what, pod, n, obs.History(pod))
			}
		}
		if len(perPod) != w.want {
			t.Errorf("%s: %d pods changed, want %d", w.what, len(perPod), w.want)
		}
	}
	// The per-unit floor held throughout, checked on every pod event: 4 pods
	// per unit and at most 1 unavailable until the scale-in, 3 per unit
	// after it.
	for _, w := range []struct {
		from, to time.Time
		floor    int
	}{{inPlace, scaleIn, 3}, {scaleIn, end, 2}} {
		for unit, low := range obs.MinServingPerUnit(w.from, w.to) {
			if low < w.floor {
				t.Errorf("unit %s dropped to %d serving pods between %s and %s (floor %d)",
					unit, low, w.from.Format(time.StampMilli), w.to.Format(time.StampMilli), w.floor)
			}
		}
	}
	checkBatchEvents(t, ns)
	if n := obs.CheckHandoff(t, time.Second); n == 0 {
		t.Error("no hand-off was checked")
	}
	if ctl.kill != 32 {
		t.Errorf("%d kills happened, want 32", ctl.kill)
	}
}

// checkBatchEvents checks that every batch of every release was marked
// once despite the kills: one BatchStarted and one BatchCompleted event per
// batch recorded on the workload's revisions, under the names the
// controller gives them, and no other. The last batch's event and record
// follow its status by a moment, so the check waits for them.
func checkBatchEvents(t *testing.T, ns string) {
	t.Helper()
	testenv.Eventually(t, time.Minute, "one event per batch start and completion", func() (bool, string) {
		want, err := recordedBatchEvents(ns)
		if err != nil {
			return false, err.Error()
		}
		if len(want) < 10 {
			return false, fmt.Sprintf("%d batch events expected from the records, want at least 10 (five releases)", len(want))
		}
		var events corev1.EventList
		if err := env.Client.List(context.Background(), &events, client.InNamespace(ns)); err != nil {
			return false, err.Error()
		}
		got := map[string]string{}
		for _, ev := range events.Items {
			if ev.InvolvedObject.Kind == "CafeDeployment" && (ev.Reason == release.ReasonBatchStarted || ev.Reason == release.ReasonBatchCompleted) {
				got[ev.Name] = ev.Reason + ": " + ev.Message
			}
		}
		var wrong []string
		for name, what := range want {
			if _, ok := got[name]; !ok {
				wrong = append(wrong, fmt.Sprintf("no event %s (%s)", name, what))
			}
		}
		for name, what := range got {
			if _, ok := want[name]; !ok {
				wrong = append(wrong, fmt.Sprintf("event %s (%s) marks no recorded batch", name, what))
			}
		}
		return len(wrong) == 0, strings.Join(wrong, "\n")
	})
}

// recordedBatchEvents names the events the batch records on the workload's
// revisions call for, each with its reason and message.
func recordedBatchEvents(ns string) (map[string]string, error) {
	var revisions appsv1.ControllerRevisionList
	if err := env.Client.List(context.Background(), &revisions, client.InNamespace(ns)); err != nil {
		return nil, err
	}
	want := map[string]string{}
	for _, rev := range revisions.Items {
		if owner := metav1.GetControllerOf(&rev); owner == nil || owner.Kind != "CafeDeployment" {
			continue
		}
		var recorded []appsv1alpha1.BatchRecord
		if err := json.Unmarshal([]byte(rev.Annotations[appsv1alpha1.ReleaseBatchesAnnotation]), &recorded); err != nil {
			return nil, fmt.Errorf("revision %s: batch records: %w", rev.Name, err)
		}
		var batches []release.BatchRecord
		for _, b := range recorded {
			if b.StartedAt == nil || b.CompletedAt == nil {
				return nil, fmt.Errorf("revision %s: batch %d not completed: %+v", rev.Name, b.Batch, b)
			}
			batches = append(batches, release.BatchRecord{Batch: b.Batch, Target: b.Target, StartedAt: b.StartedAt.Time, CompletedAt: b.CompletedAt.Time})
		}
		for _, ev := range release.BatchEvents(rev.Name, nil, batches) {
			want["pay."+ev.Key] = ev.Reason + ": " + ev.Message
		}
	}
	return want, nil
}

// podNames lists the namespace's pods, sorted.
func podNames(t *testing.T, ns string) []string {
	t.Helper()
	var pods corev1.PodList
	if err := env.Client.List(context.Background(), &pods, client.InNamespace(ns)); err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, p := range pods.Items {
		names = append(names, p.Name)
	}
	slices.Sort(names)
	return names
}

// restartPod asks CAFE to restart a pod's containers in place, as kubectl
// cafe restart does.
func restartPod(t *testing.T, ns, name, token string) {
	t.Helper()
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}}
	patch := []byte(fmt.Sprintf(`{"metadata":{"annotations":{%q:%q}}}`, appsv1alpha1.RestartRequestedAnnotation, token))
	if err := env.Client.Patch(context.Background(), pod, client.RawPatch("application/merge-patch+json", patch)); err != nil {
		t.Fatal(err)
	}
}

// waitRelease waits until the workload's status, for its latest spec,
// satisfies ok.
func waitRelease(t *testing.T, ns string, ok func(appsv1alpha1.ReleaseStatus) bool) *appsv1alpha1.CafeDeployment {
	t.Helper()
	var cd appsv1alpha1.CafeDeployment
	testenv.Eventually(t, 2*time.Minute, "the release's state", func() (bool, string) {
		if err := env.Client.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: "pay"}, &cd); err != nil {
			return false, err.Error()
		}
		return cd.Status.ObservedGeneration == cd.Generation && ok(cd.Status.Release), fmt.Sprintf("%+v", cd.Status.Release)
	})
	return &cd
}

// specChanges counts in-place changes per pod between from and to.
func specChanges(obs *testenv.Observer, from, to time.Time) map[string]int {
	out := map[string]int{}
	for _, ev := range obs.Events() {
		if ev.Kind == testenv.SpecChanged && !ev.At.Before(from) && ev.At.Before(to) {
			out[ev.Pod]++
		}
	}
	return out
}

// recreations counts, per pod name, the deletions between from and to of a
// pod that was not yet at the revision the name ends up with: each is a
// recreation towards it. A deletion of a pod already at that revision is not
// one. The simulated kubelet (kwok v0.8) deletes a terminating pod by name,
// without a UID precondition, so a late or repeated delete of the old pod
// can take the new one just created under the same name with it (which
// CAFE then replaces at the same revision); a real kubelet's deletes name
// the UID.
func recreations(obs *testenv.Observer, from, to time.Time) map[string]int {
	final := map[string]string{}
	var deleted []testenv.PodEvent
	for _, ev := range obs.Events() {
		if ev.At.Before(from) || !ev.At.Before(to) {
			continue
		}
		switch ev.Kind {
		case testenv.PodCreated:
			final[ev.Pod] = ev.Revision
		case testenv.PodDeleted:
			deleted = append(deleted, ev)
		}
	}
	out := map[string]int{}
	for _, ev := range deleted {
		if ev.Revision != final[ev.Pod] {
			out[ev.Pod]++
		}
	}
	return out
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
