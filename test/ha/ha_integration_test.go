//go:build integration

// Package ha runs CAFE's controller the way a cluster does: as its own
// service account with only the generated RBAC, two replicas with leader
// election, and checks that a release completes when the leader is killed in
// the middle of it.
package ha

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	appsv1alpha1 "github.com/cafe-dev/cafe/api/apps/v1alpha1"
	"github.com/cafe-dev/cafe/internal/testenv"
)

var env *testenv.Env

func TestMain(m *testing.M) { testenv.Main(m, testenv.Options{InstallCRDs: true}, &env) }

// serviceAccountKubeconfig applies the generated RBAC (config/rbac) and
// writes a kubeconfig that authenticates as the controller's service account
// with a bound token: no admin rights, only what the ClusterRole grants.
func serviceAccountKubeconfig(t *testing.T) string {
	t.Helper()
	kubectl := filepath.Join(testenv.BinDir(), "kubectl")
	root := testenv.RepoRoot()
	run := func(args ...string) {
		out, err := exec.Command(kubectl, append([]string{"--kubeconfig", env.Platform.KubeconfigPath()}, args...)...).CombinedOutput()
		if err != nil {
			t.Fatalf("kubectl %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	run("create", "namespace", "cafe-system")
	run("apply", "--server-side", "-k", filepath.Join(root, "config", "rbac"))
	tr, err := env.Kube.CoreV1().ServiceAccounts("cafe-system").CreateToken(context.Background(), "cafe-controller",
		&authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: ptr.To[int64](3600)}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	admin, err := clientcmd.LoadFromFile(env.Platform.KubeconfigPath())
	if err != nil {
		t.Fatal(err)
	}
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["cafe"] = admin.Clusters["cafe"]
	cfg.AuthInfos["sa"] = &clientcmdapi.AuthInfo{Token: tr.Status.Token}
	cfg.Contexts["sa"] = &clientcmdapi.Context{Cluster: "cafe", AuthInfo: "sa"}
	cfg.CurrentContext = "sa"
	path := filepath.Join(t.TempDir(), "sa.kubeconfig")
	if err := clientcmd.WriteToFile(*cfg, path); err != nil {
		t.Fatal(err)
	}
	return path
}

// replica is one controller process.
type replica struct {
	name string
	cmd  *exec.Cmd
	log  string
}

func startReplica(t *testing.T, name, kubeconfig string) *replica {
	t.Helper()
	bin := filepath.Join(testenv.BinDir(), "cafe-controller")
	if _, err := os.Stat(bin); err != nil {
		t.Fatalf("%s is missing: run `make build` (the test command builds it)", bin)
	}
	log := filepath.Join(t.TempDir(), name+".log")
	f, err := os.Create(log)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "--kubeconfig", kubeconfig, "--leader-elect", "--leader-election-namespace", "cafe-system",
		"--metrics-bind-address=0", "--health-probe-bind-address=0")
	cmd.Stdout, cmd.Stderr = f, f
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	r := &replica{name: name, cmd: cmd, log: log}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		if t.Failed() {
			data, _ := os.ReadFile(log)
			if len(data) > 3000 {
				data = data[len(data)-3000:]
			}
			t.Logf("%s log tail:\n%s", name, data)
		}
	})
	return r
}

func (r *replica) leads() bool {
	data, _ := os.ReadFile(r.log)
	return strings.Contains(string(data), "successfully acquired lease")
}

func (r *replica) forbidden() []string {
	data, _ := os.ReadFile(r.log)
	var out []string
	for _, line := range strings.Split(string(data), "\n") {
		if strings.Contains(line, "forbidden") {
			out = append(out, line)
		}
	}
	return out
}

func workload(ns string) *appsv1alpha1.CafeDeployment {
	labels := map[string]string{"app": "pay"}
	return &appsv1alpha1.CafeDeployment{
		ObjectMeta: metav1.ObjectMeta{Name: "pay", Namespace: ns},
		Spec: appsv1alpha1.CafeDeploymentSpec{
			Replicas: ptr.To[int32](9),
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Topology: appsv1alpha1.Topology{Units: []appsv1alpha1.UnitSpec{{Name: "unit-a"}, {Name: "unit-b"}, {Name: "unit-c"}},
				AutoReschedule: &appsv1alpha1.AutoReschedule{Enabled: true, PendingSeconds: ptr.To[int32](30)}},
			Strategy: appsv1alpha1.CafeDeploymentStrategy{
				Type: appsv1alpha1.ReleaseBatch, BatchSize: ptr.To(intstr.FromInt32(3)),
				TrafficHandoff: appsv1alpha1.TrafficHandoff{DrainSeconds: ptr.To[int32](1), MaxWaitSeconds: ptr.To[int32](60)},
			},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "pay:v1"}}},
			},
		},
	}
}

func completed(t *testing.T, ns, image string) (bool, string) {
	var cd appsv1alpha1.CafeDeployment
	if err := env.Client.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: "pay"}, &cd); err != nil {
		return false, err.Error()
	}
	r := cd.Status.Release
	return cd.Status.ObservedGeneration == cd.Generation && r.Phase == appsv1alpha1.ReleaseCompleted &&
			cd.Status.UpdatedReadyReplicas == 9 && cd.Spec.Template.Spec.Containers[0].Image == image,
		fmt.Sprintf("phase %s batch %d/%d updated-ready %d", r.Phase, r.Batch, r.TotalBatches, cd.Status.UpdatedReadyReplicas)
}

// Two replicas under the controller's own service account and generated
// RBAC: a whole release (creation, a batched upgrade, events, budgets,
// revisions) completes, the leader is killed mid-release and the other
// replica finishes it, and nothing was forbidden along the way.
func TestLeastPrivilegeReplicasSurviveLeaderLoss(t *testing.T) {
	kubeconfig := serviceAccountKubeconfig(t)
	ns := env.Namespace(t)
	replicas := []*replica{startReplica(t, "a", kubeconfig), startReplica(t, "b", kubeconfig)}
	if err := env.Client.Create(context.Background(), workload(ns)); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, 3*time.Minute, "v1 released", func() (bool, string) { return completed(t, ns, "pay:v1") })

	var cd appsv1alpha1.CafeDeployment
	if err := env.Client.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: "pay"}, &cd); err != nil {
		t.Fatal(err)
	}
	cd.Spec.Template.Spec.Containers[0].Image = "pay:v2"
	if err := env.Client.Update(context.Background(), &cd); err != nil {
		t.Fatal(err)
	}
	// Mid-release: once the first batch has started, kill the leader.
	testenv.Eventually(t, time.Minute, "the release to start", func() (bool, string) {
		var got appsv1alpha1.CafeDeployment
		_ = env.Client.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: "pay"}, &got)
		return got.Status.UpdatedReplicas > 0 && got.Status.UpdatedReplicas < 9, fmt.Sprintf("updated %d", got.Status.UpdatedReplicas)
	})
	var leader, follower *replica
	for _, r := range replicas {
		if r.leads() {
			leader = r
		} else {
			follower = r
		}
	}
	if leader == nil || follower == nil {
		t.Fatalf("want exactly one leader among the replicas")
	}
	t.Logf("killing leader %s (pid %d)", leader.name, leader.cmd.Process.Pid)
	_ = leader.cmd.Process.Kill()
	var once sync.Once
	testenv.Eventually(t, 3*time.Minute, "the other replica to finish the release", func() (bool, string) {
		if follower.leads() {
			once.Do(func() { t.Logf("replica %s took over", follower.name) })
		}
		return completed(t, ns, "pay:v2")
	})
	if !follower.leads() {
		t.Errorf("replica %s never acquired the lease", follower.name)
	}
	for _, r := range replicas {
		if lines := r.forbidden(); len(lines) > 0 {
			t.Errorf("replica %s was refused by RBAC: the generated role misses a verb:\n%s", r.name, strings.Join(lines, "\n"))
		}
	}
}
