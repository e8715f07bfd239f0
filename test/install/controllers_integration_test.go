//go:build integration

package install

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	appsv1alpha1 "github.com/cafe-dev/cafe/api/apps/v1alpha1"
	"github.com/cafe-dev/cafe/internal/manager"
	"github.com/cafe-dev/cafe/internal/testenv"
)

// serviceAccountConfig authenticates as an installed service account with a
// bound token: only what the install's RBAC grants it.
func serviceAccountConfig(t *testing.T, namespace, name string) *rest.Config {
	t.Helper()
	tr, err := env.Kube.CoreV1().ServiceAccounts(namespace).CreateToken(context.Background(), name,
		&authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: ptr.To[int64](3600)}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("token for %s/%s: %v", namespace, name, err)
	}
	cfg := rest.AnonymousClientConfig(env.Config)
	cfg.BearerToken = tr.Status.Token
	return cfg
}

// startControllerBinary runs bin/cafe-controller (the test command builds
// it) as the installed Deployment would, with its service account's rights
// only and leader election in its namespace: the Deployment's own pods
// cannot, the simulated nodes run no images. stop ends it gracefully, as
// an uninstall ends the Deployment; it runs at clean-up too, and fails the
// test if RBAC refused the controller anything.
func startControllerBinary(t *testing.T, namespace, serviceAccount string) (stop func()) {
	t.Helper()
	bin := filepath.Join(testenv.BinDir(), "cafe-controller")
	if _, err := os.Stat(bin); err != nil {
		t.Fatalf("%s is missing: run `make build` (the test command builds it)", bin)
	}
	dir := t.TempDir()
	kubeconfig, log := filepath.Join(dir, "kubeconfig"), filepath.Join(dir, "controller.log")
	writeKubeconfig(t, kubeconfig, serviceAccountConfig(t, namespace, serviceAccount))
	logFile, err := os.Create(log)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "--kubeconfig", kubeconfig, "--leader-elect", "--leader-election-namespace", namespace,
		"--metrics-bind-address=0", "--health-probe-bind-address=0")
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var once sync.Once
	stop = func() {
		once.Do(func() {
			_ = cmd.Process.Signal(syscall.SIGTERM)
			done := make(chan struct{})
			go func() { _ = cmd.Wait(); close(done) }()
			select {
			case <-done:
			case <-time.After(30 * time.Second):
				_ = cmd.Process.Kill()
				<-done
			}
			logFile.Close()
			data, _ := os.ReadFile(log)
			for _, line := range strings.Split(string(data), "\n") {
				// RBAC's refusal, not a namespace's "forbidden" while it
				// terminates (earlier tests' workloads).
				if strings.Contains(line, "is forbidden: User") {
					t.Errorf("RBAC refused the controller (%s/%s): %s", namespace, serviceAccount, line)
				}
			}
			if t.Failed() {
				if len(data) > 3000 {
					data = data[len(data)-3000:]
				}
				t.Logf("controller log tail:\n%s", data)
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

// writeKubeconfig writes cfg (server, CA, bearer token) as a kubeconfig.
func writeKubeconfig(t *testing.T, path string, cfg *rest.Config) {
	t.Helper()
	kc := clientcmdapi.NewConfig()
	kc.Clusters["cafe"] = &clientcmdapi.Cluster{Server: cfg.Host, CertificateAuthority: cfg.CAFile, CertificateAuthorityData: cfg.CAData}
	kc.AuthInfos["sa"] = &clientcmdapi.AuthInfo{Token: cfg.BearerToken}
	kc.Contexts["sa"] = &clientcmdapi.Context{Cluster: "cafe", AuthInfo: "sa"}
	kc.CurrentContext = "sa"
	if err := clientcmd.WriteToFile(*kc, path); err != nil {
		t.Fatal(err)
	}
}

// runControllersInProcess runs CAFE's controllers from this checkout in the
// test process with cfg's identity, for a test that must see their
// requests. controller-runtime refuses a second set of controllers of the
// same names in one process: one test of the package only may use it.
func runControllersInProcess(t *testing.T, cfg *rest.Config, o manager.Options) (stop func()) {
	t.Helper()
	as := &testenv.Env{Platform: env.Platform, Config: cfg}
	stopManager, err := as.StartControllers(o)
	if err != nil {
		t.Fatalf("start CAFE's controllers: %v", err)
	}
	var once sync.Once
	stop = func() { once.Do(stopManager) }
	t.Cleanup(stop)
	return stop
}

// payWorkload is a CafeDeployment spread over the simulated platform's three
// units, released in batches with a short drain.
func payWorkload(namespace string, replicas int32, image string) *appsv1alpha1.CafeDeployment {
	labels := map[string]string{"app": "pay"}
	return &appsv1alpha1.CafeDeployment{
		ObjectMeta: metav1.ObjectMeta{Name: "pay", Namespace: namespace},
		Spec: appsv1alpha1.CafeDeploymentSpec{
			Replicas: ptr.To(replicas),
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Topology: appsv1alpha1.Topology{Units: []appsv1alpha1.UnitSpec{{Name: "unit-a"}, {Name: "unit-b"}, {Name: "unit-c"}}},
			Strategy: appsv1alpha1.CafeDeploymentStrategy{
				Type: appsv1alpha1.ReleaseBatch, BatchSize: ptr.To(intstr.FromInt32(3)),
				TrafficHandoff: appsv1alpha1.TrafficHandoff{DrainSeconds: ptr.To[int32](1), MaxWaitSeconds: ptr.To[int32](30)},
			},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: image}}},
			},
		},
	}
}

// createUnmanaged creates a workload that no controller runs during the
// test, and deletes it when the test ends, before its namespace: a later
// test's controllers must not meet it in a namespace being torn down.
func createUnmanaged(t *testing.T, cd *appsv1alpha1.CafeDeployment) {
	t.Helper()
	if err := env.Client.Create(context.Background(), cd); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := env.Client.Delete(context.Background(), cd); err != nil && !apierrors.IsNotFound(err) {
			t.Errorf("delete CafeDeployment %s/%s: %v", cd.Namespace, cd.Name, err)
		}
	})
}

// waitReleased waits until the CafeDeployment namespace/name has released
// its template to all its replicas and every one of them is ready.
func waitReleased(t *testing.T, namespace, name string) {
	t.Helper()
	testenv.Eventually(t, 3*time.Minute, "CafeDeployment "+namespace+"/"+name+" released", func() (bool, string) {
		var cd appsv1alpha1.CafeDeployment
		if err := env.Client.Get(context.Background(), client.ObjectKey{Namespace: namespace, Name: name}, &cd); err != nil {
			return false, err.Error()
		}
		r := cd.Status.Release
		return cd.Status.ObservedGeneration == cd.Generation && r.Phase == appsv1alpha1.ReleaseCompleted &&
				cd.Status.UpdatedReadyReplicas == *cd.Spec.Replicas,
			fmt.Sprintf("observed generation %d of %d, phase %q, updated ready %d of %d",
				cd.Status.ObservedGeneration, cd.Generation, r.Phase, cd.Status.UpdatedReadyReplicas, *cd.Spec.Replicas)
	})
}

// serving reports whether CAFE has put the pod in traffic.
func serving(pod *corev1.Pod) bool {
	for _, c := range pod.Status.Conditions {
		if c.Type == appsv1alpha1.ServingCondition {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}
