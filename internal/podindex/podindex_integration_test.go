//go:build integration

package podindex_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/cache"

	appsv1alpha1 "github.com/cafe-dev/cafe/api/apps/v1alpha1"
	"github.com/cafe-dev/cafe/internal/manager"
	"github.com/cafe-dev/cafe/internal/podindex"
	"github.com/cafe-dev/cafe/internal/testenv"
)

var env *testenv.Env

func TestMain(m *testing.M) {
	testenv.Main(m, testenv.Options{}, &env)
}

// TestListerFindsAWorkloadsPods runs the lister over a cache of every
// namespace (which reads the pod informer's index) and over a cache limited
// to one namespace (which reads through field indexes): both must list a
// workload's pods, and only those.
func TestListerFindsAWorkloadsPods(t *testing.T) {
	ns, other := env.Namespace(t), env.Namespace(t)
	ctx := context.Background()
	owner := createOwner(t, ns)
	otherOwner := createOwner(t, other)
	for _, p := range []struct {
		ns, name, cafeDeployment string
		owner                    *corev1.ConfigMap
	}{
		{ns, "a-0", "a", owner}, {ns, "a-1", "a", owner}, {ns, "b-0", "b", owner},
		{ns, "loose", "a", nil}, {other, "a-0", "a", otherOwner},
	} {
		createPod(t, p.ns, p.name, p.cafeDeployment, p.owner)
	}

	for _, limited := range []bool{false, true} {
		t.Run(fmt.Sprintf("limited to one namespace %v", limited), func(t *testing.T) {
			opts := cache.Options{Scheme: manager.Scheme()}
			if limited {
				opts.DefaultNamespaces = map[string]cache.Config{ns: {}}
			}
			c, err := cache.New(env.Config, opts)
			if err != nil {
				t.Fatal(err)
			}
			lister, err := podindex.NewLister(ctx, c)
			if err != nil {
				t.Fatal(err)
			}
			cctx, cancel := context.WithCancel(ctx)
			defer cancel()
			go func() { _ = c.Start(cctx) }()
			if !c.WaitForCacheSync(cctx) {
				t.Fatal("cache did not sync")
			}
			testenv.Eventually(t, 30*time.Second, "the lister shows the pods", func() (bool, string) {
				controlled, err := lister.ControlledBy(ctx, ns, owner.UID)
				if err != nil {
					return false, err.Error()
				}
				labelled, err := lister.OfCafeDeployment(ctx, ns, "a")
				if err != nil {
					return false, err.Error()
				}
				got := fmt.Sprintf("controlled %v, labelled a %v", names(controlled), names(labelled))
				return got == "controlled [a-0 a-1 b-0], labelled a [a-0 a-1 loose]", got
			})
		})
	}
}

func createOwner(t *testing.T, ns string) *corev1.ConfigMap {
	t.Helper()
	cm, err := env.Kube.CoreV1().ConfigMaps(ns).Create(context.Background(),
		&corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "owner"}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return cm
}

func createPod(t *testing.T, ns, name, cafeDeployment string, owner *corev1.ConfigMap) {
	t.Helper()
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{
			appsv1alpha1.CafeDeploymentLabel: cafeDeployment,
			appsv1alpha1.InstanceIndexLabel:  "0",
		}},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "app:v1"}}},
	}
	if owner != nil {
		pod.OwnerReferences = []metav1.OwnerReference{{APIVersion: "v1", Kind: "ConfigMap",
			Name: owner.Name, UID: owner.UID, Controller: ptr.To(true)}}
	}
	if _, err := env.Kube.CoreV1().Pods(ns).Create(context.Background(), pod, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}

func names(pods []*corev1.Pod) []string {
	var out []string
	for _, p := range pods {
		out = append(out, p.Name)
	}
	slices.Sort(out)
	return out
}
