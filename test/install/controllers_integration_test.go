//go:build integration

package install

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/rest"
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

// runControllers runs CAFE's controllers from this checkout in the test
// process with cfg's identity. The installed Deployment's pods cannot stand
// in: the simulated nodes run no images. The returned stop may be called
// before the test ends (as an uninstall stops the Deployment); it is also
// called at clean-up.
func runControllers(t *testing.T, cfg *rest.Config, o manager.Options) (stop func()) {
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
				TrafficHandoff: appsv1alpha1.TrafficHandoff{DrainSeconds: 1, MaxWaitSeconds: 30},
			},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: image}}},
			},
		},
	}
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
