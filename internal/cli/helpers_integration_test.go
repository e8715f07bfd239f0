//go:build integration

package cli

import (
	"context"
	"fmt"
	"io"
	"regexp"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	appsv1alpha1 "github.com/cafe-dev/cafe/api/apps/v1alpha1"
	"github.com/cafe-dev/cafe/internal/testenv"
)

var env *testenv.Env

func TestMain(m *testing.M) {
	testenv.Main(m, testenv.Options{RunControllers: true}, &env)
}

// kubectlCafe runs `kubectl cafe args...` in-process against the test
// platform through its kubeconfig file, in namespace ns, writing its
// output to out.
func kubectlCafe(ctx context.Context, out *testenv.SyncBuffer, ns string, args ...string) error {
	return runCafe(ctx, out, append([]string{"--kubeconfig", env.Platform.KubeconfigPath(), "-n", ns}, args...)...)
}

// runCafe runs `kubectl cafe args...` in-process with exactly these
// arguments, for tests that choose the kubeconfig flags themselves.
func runCafe(ctx context.Context, out io.Writer, args ...string) error {
	cmd := NewCommand(genericiooptions.IOStreams{In: strings.NewReader(""), Out: out, ErrOut: out})
	cmd.SetArgs(args)
	return cmd.ExecuteContext(ctx)
}

// cafe runs a command to its end and returns its output.
func cafe(t *testing.T, ns string, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	var out testenv.SyncBuffer
	err := kubectlCafe(ctx, &out, ns, args...)
	return out.String(), err
}

// mustCafe runs a command that must succeed.
func mustCafe(t *testing.T, ns string, args ...string) string {
	t.Helper()
	out, err := cafe(t, ns, args...)
	if err != nil {
		t.Fatalf("kubectl cafe %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

// workloadSpec is a CafeDeployment "pay" of replicas pods over the three
// units, batches of two.
func workloadSpec(ns string, replicas int32, image string, strategy appsv1alpha1.CafeDeploymentStrategy) *appsv1alpha1.CafeDeployment {
	labels := map[string]string{"app": "pay"}
	if strategy.BatchSize == nil {
		strategy.BatchSize = ptr.To(intstr.FromInt32(2))
	}
	return &appsv1alpha1.CafeDeployment{
		ObjectMeta: metav1.ObjectMeta{Name: "pay", Namespace: ns},
		Spec: appsv1alpha1.CafeDeploymentSpec{
			Replicas: ptr.To(replicas),
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Topology: appsv1alpha1.Topology{Units: []appsv1alpha1.UnitSpec{{Name: "unit-a"}, {Name: "unit-b"}, {Name: "unit-c"}}},
			Strategy: strategy,
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: image}}},
			},
		},
	}
}

// betaStrategy: Beta, every batch confirmed, no drain time.
var betaStrategy = appsv1alpha1.CafeDeploymentStrategy{Type: appsv1alpha1.ReleaseBeta, NeedConfirm: true}

// autoStrategy: batches that start by themselves, each pod drained for a
// second, so a watch sees every batch.
var autoStrategy = appsv1alpha1.CafeDeploymentStrategy{Type: appsv1alpha1.ReleaseBatch, TrafficHandoff: appsv1alpha1.TrafficHandoff{DrainSeconds: ptr.To[int32](1), MaxWaitSeconds: ptr.To[int32](60)}}

// oneBatchStrategy: the whole release in one batch that starts by itself,
// for tests that need pods, not batches.
var oneBatchStrategy = appsv1alpha1.CafeDeploymentStrategy{Type: appsv1alpha1.ReleaseBatch, BatchSize: ptr.To(intstr.FromString("100%"))}

// createCompleted creates the workload and confirms its scale-out to the
// end with kubectl cafe confirm.
func createCompleted(t *testing.T, ns string, cd *appsv1alpha1.CafeDeployment) {
	t.Helper()
	if err := env.Client.Create(context.Background(), cd); err != nil {
		t.Fatal(err)
	}
	for {
		got := waitSettled(t, ns)
		if got.Status.Release.Phase == appsv1alpha1.ReleaseCompleted {
			return
		}
		mustCafe(t, ns, "confirm", "pay")
	}
}

func getWorkload(t *testing.T, ns string) *appsv1alpha1.CafeDeployment {
	t.Helper()
	var cd appsv1alpha1.CafeDeployment
	if err := env.Client.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: "pay"}, &cd); err != nil {
		t.Fatal(err)
	}
	return &cd
}

// waitSettled waits until the release completed or waits for someone.
func waitSettled(t *testing.T, ns string) *appsv1alpha1.CafeDeployment {
	t.Helper()
	var cd *appsv1alpha1.CafeDeployment
	testenv.Eventually(t, 3*time.Minute, "the release to complete or wait", func() (bool, string) {
		cd = getWorkload(t, ns)
		r := cd.Status.Release
		return settled(cd, buildView(&snapshot{workload: cd, pods: workloadPods(t, ns)})), fmt.Sprintf("phase %q batch %d/%d, generation %d observed %d", r.Phase, r.Batch, r.TotalBatches, cd.Generation, cd.Status.ObservedGeneration)
	})
	return cd
}

// edit changes the workload, retrying on conflicts.
func edit(t *testing.T, ns string, change func(*appsv1alpha1.CafeDeployment)) {
	t.Helper()
	for i := 0; ; i++ {
		cd := getWorkload(t, ns)
		change(cd)
		err := env.Client.Update(context.Background(), cd)
		if err == nil {
			return
		}
		if i > 10 || !strings.Contains(err.Error(), "modified") {
			t.Fatal(err)
		}
	}
}

// setImage starts a release of image, with a change cause.
func setImage(t *testing.T, ns, image string) {
	t.Helper()
	edit(t, ns, func(cd *appsv1alpha1.CafeDeployment) {
		cd.Spec.Template.Spec.Containers[0].Image = image
		if cd.Annotations == nil {
			cd.Annotations = map[string]string{}
		}
		cd.Annotations[appsv1alpha1.ChangeCauseAnnotation] = "image " + image
	})
}

func workloadPods(t *testing.T, ns string) []corev1.Pod {
	t.Helper()
	var list corev1.PodList
	if err := env.Client.List(context.Background(), &list, client.InNamespace(ns)); err != nil {
		t.Fatal(err)
	}
	return list.Items
}

func listPods(t *testing.T, ns string) map[string]corev1.Pod {
	t.Helper()
	var list corev1.PodList
	if err := env.Client.List(context.Background(), &list, client.InNamespace(ns)); err != nil {
		t.Fatal(err)
	}
	out := map[string]corev1.Pod{}
	for _, p := range list.Items {
		out[p.Name] = p
	}
	return out
}

var (
	podIP       = regexp.MustCompile(`\b100\.\d+\.\d+\.\d+\b`)
	nodeIndex   = regexp.MustCompile(`\b(unit-[a-z]-node)-\d+\b`)
	isoTime     = regexp.MustCompile(`\b\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\b`)
	cellBreak   = regexp.MustCompile(` {2,}`)
	frameMarker = "\n" + frameSeparator
)

// masked replaces what changes from run to run (the namespace, times, and
// with pods the nodes the scheduler chose and the IPs they gave) so that
// output compares with a golden file. Times keep their width; pod IPs do
// not, so with pods the tables are aligned again after masking.
func masked(out, ns string) string {
	out = strings.ReplaceAll(out, ns, "<ns>")
	out = isoTime.ReplaceAllString(out, "YYYY-MM-DDTHH:MM:SSZ")
	if !podIP.MatchString(out) {
		return out
	}
	out = podIP.ReplaceAllString(out, "<ip>")
	out = nodeIndex.ReplaceAllString(out, "$1-N")
	var b strings.Builder
	for i, block := range strings.Split(strings.TrimSuffix(out, "\n"), "\n\n") {
		if i > 0 {
			b.WriteString("\n")
		}
		t := &table{}
		for _, line := range strings.Split(block, "\n") {
			t.row(cellBreak.Split(line, -1)...)
		}
		if err := t.write(&b); err != nil {
			panic(err)
		}
	}
	return b.String()
}
