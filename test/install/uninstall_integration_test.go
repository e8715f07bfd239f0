//go:build integration

package install

import (
	"context"
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	appsv1alpha1 "github.com/cafe-dev/cafe/api/apps/v1alpha1"
	"github.com/cafe-dev/cafe/internal/testenv"
)

// checkWorkloadBeforeUninstall checks what the uninstall has to clear away
// in namespace: serving pods behind CAFE's readiness gate that the
// admission policy protects, one PodDisruptionBudget per unit, and no
// finalizer of CAFE's anywhere (docs/cafedeployment.md promises none).
func checkWorkloadBeforeUninstall(t *testing.T, namespace string) {
	t.Helper()
	ctx := context.Background()
	pods, err := env.Kube.CoreV1().Pods(namespace).List(ctx, metav1.ListOptions{LabelSelector: appsv1alpha1.InstanceIndexLabel})
	if err != nil {
		t.Fatal(err)
	}
	if len(pods.Items) == 0 {
		t.Fatal("the workload has no pods: the uninstall would prove nothing")
	}
	for _, pod := range pods.Items {
		if !serving(&pod) {
			t.Errorf("pod %s is not serving", pod.Name)
		}
		if len(pod.Finalizers) > 0 {
			t.Errorf("pod %s carries finalizers %v", pod.Name, pod.Finalizers)
		}
	}
	pdbs, err := env.Kube.PolicyV1().PodDisruptionBudgets(namespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(pdbs.Items) != 3 {
		t.Errorf("%d PodDisruptionBudgets, want one per unit (3)", len(pdbs.Items))
	}
	var cds appsv1alpha1.CafeDeploymentList
	var sets appsv1alpha1.InPlaceSetList
	for _, list := range []client.ObjectList{&cds, &sets} {
		if err := env.Client.List(ctx, list, client.InNamespace(namespace)); err != nil {
			t.Fatal(err)
		}
	}
	for _, cd := range cds.Items {
		if len(cd.Finalizers) > 0 {
			t.Errorf("CafeDeployment %s carries finalizers %v", cd.Name, cd.Finalizers)
		}
	}
	for _, s := range sets.Items {
		if len(s.Finalizers) > 0 {
			t.Errorf("InPlaceSet %s carries finalizers %v", s.Name, s.Finalizers)
		}
	}
	// The pod-protection policy is in force: the uninstall must get past it.
	err = env.Kube.CoreV1().Pods(namespace).Delete(ctx, pods.Items[0].Name, metav1.DeleteOptions{})
	if !apierrors.IsForbidden(err) || !strings.Contains(err.Error(), "serves traffic") {
		t.Errorf("a direct delete of serving pod %s: got %v, want the pod-protection policy's refusal", pods.Items[0].Name, err)
	}
}

// waitNoneLeft waits until namespace holds none of kinds (a kubectl
// resource list) matching the label selector ("" for every one).
func waitNoneLeft(t *testing.T, namespace, kinds, selector string) {
	t.Helper()
	testenv.Eventually(t, 2*time.Minute, kinds+" "+selector+" gone from "+namespace, func() (bool, string) {
		left := kubectl(t, nil, "get", kinds, "-n", namespace, "-l", selector, "-o", "name")
		return strings.TrimSpace(left) == "" || strings.Contains(left, "No resources found"), left
	})
}
