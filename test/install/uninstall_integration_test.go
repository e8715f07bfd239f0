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

// TestUninstallInTheWrongOrderRecovers checks what docs/install.md says of
// the wrong order: with the controller removed first its pods are
// stranded, still running; deleting the CRDs then may strand them for good
// (the garbage collector cannot tell that an owner of a kind no longer
// served is gone, kubernetes/kubernetes#102641); applying the CRDs again
// lets it delete the pods, their budgets and revisions, the pod-protection
// policy still in force (as when another release owns it).
func TestUninstallInTheWrongOrderRecovers(t *testing.T) {
	kubectl(t, nil, "apply", "--server-side", "-f", "config/default/namespace.yaml")
	applyCRDs(t)
	kubectl(t, nil, "apply", "--server-side", "--force-conflicts", "-k", "config/admission")
	kubectl(t, nil, "apply", "--server-side", "-k", "config/rbac")
	stopController := startControllerBinary(t, "cafe-system", "cafe-controller")
	ns := env.Namespace(t)
	if err := env.Client.Create(context.Background(), payWorkload(ns, 6, "pay:v1")); err != nil {
		t.Fatal(err)
	}
	waitReleased(t, ns, "pay")
	checkWorkloadBeforeUninstall(t, ns)

	// The controller goes first: its pods stay, with nobody to manage them.
	stopController()
	kubectl(t, nil, "delete", "--wait", "-k", "config/rbac")
	time.Sleep(3 * time.Second)
	pods, err := env.Kube.CoreV1().Pods(ns).List(context.Background(), metav1.ListOptions{LabelSelector: appsv1alpha1.InstanceIndexLabel})
	if err != nil {
		t.Fatal(err)
	}
	if len(pods.Items) != 6 {
		t.Errorf("%d pods left with the controller gone, want the 6 stranded", len(pods.Items))
	}

	// Then the CRDs, and, for whatever the garbage collector left, the
	// CRDs again.
	waitCacheServesLists(t)
	kubectl(t, nil, "delete", "--wait", "--timeout=120s", "-k", "config/crd")
	applyCRDs(t)
	waitNoneLeft(t, ns, "poddisruptionbudgets,controllerrevisions,pods", "")
	if _, err := env.Kube.AdmissionregistrationV1().ValidatingAdmissionPolicies().Get(context.Background(), "cafe-pod-protection", metav1.GetOptions{}); err != nil {
		t.Errorf("the pod-protection policy was not in force during the clean-up: %v", err)
	}
	waitCacheServesLists(t)
	kubectl(t, nil, "delete", "--wait", "--timeout=120s", "-k", "config/crd")
	kubectl(t, nil, "delete", "--wait", "-k", "config/admission")
}

func applyCRDs(t *testing.T) {
	t.Helper()
	kubectl(t, nil, "apply", "--server-side", "-k", "config/crd")
	for _, name := range crdNames(t) {
		kubectl(t, nil, "wait", "--for=condition=Established", "--timeout=60s", "crd/"+name)
	}
}
