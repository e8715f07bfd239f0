//go:build integration

package install

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"sigs.k8s.io/yaml"

	"github.com/cafe-dev/cafe/internal/testenv"
)

// env is a real control plane (Kubernetes 1.34) with simulated nodes; its
// pods become Ready without running their images, which is enough to show
// that every manifest is accepted, the pods pass Pod Security admission and
// get scheduled, and the Services select them.
var env *testenv.Env

func TestMain(m *testing.M) { testenv.Main(m, testenv.Options{}, &env) }

// TestKustomizeInstallRunsAndUninstalls follows docs/install.md: a server
// dry run, the install, the controller's two replicas available, CRDs
// served, the roles for people aggregated into view and edit, a workload
// released by the installed service account, and the documented uninstall,
// which must strand no pod, budget, finalizer or policy.
func TestKustomizeInstallRunsAndUninstalls(t *testing.T) {
	// A dry run of namespaced objects needs their namespace to exist.
	kubectl(t, nil, "apply", "--server-side", "-f", "config/default/namespace.yaml")
	dry := kubectl(t, nil, "apply", "--server-side", "--dry-run=server", "-k", "config/default")
	if !strings.Contains(dry, "deployment.apps/cafe-controller serverside-applied (server dry run)") {
		t.Errorf("server dry run did not accept the Deployment:\n%s", dry)
	}

	kubectl(t, nil, "apply", "--server-side", "-k", "config/default")
	for _, name := range crdNames(t) {
		kubectl(t, nil, "wait", "--for=condition=Established", "--timeout=60s", "crd/"+name)
	}
	waitAvailable(t, "cafe-system", "cafe-controller", 2)
	waitServiceEndpoints(t, "cafe-system", "cafe-controller-metrics", 2)
	for role, verb := range map[string]string{"view": "list", "edit": "create", "admin": "delete"} {
		waitAggregated(t, role, "apps.cafe.dev", verb)
	}

	stopController := startControllerBinary(t, "cafe-system", "cafe-controller")
	ns := env.Namespace(t)
	if err := env.Client.Create(context.Background(), payWorkload(ns, 6, "pay:v1")); err != nil {
		t.Fatal(err)
	}
	waitReleased(t, ns, "pay")
	checkWorkloadBeforeUninstall(t, ns)

	// Uninstall exactly as docs/install.md says. 1: CAFE's objects, while
	// everything is still installed, until their pods are gone.
	waitCacheServesLists(t)
	kubectl(t, nil, "delete", "cafedeployments.apps.cafe.dev,inplacesets.apps.cafe.dev", "--all", "-A", "--wait")
	testenv.Eventually(t, 2*time.Minute, "no CAFE pod left", func() (bool, string) {
		out := kubectl(t, nil, "get", "pods", "-A", "-l", "apps.cafe.dev/instance-index")
		return strings.Contains(out, "No resources found"), out
	})
	waitNoneLeft(t, ns, "poddisruptionbudgets,controllerrevisions,inplacesets.apps.cafe.dev,pods", "")

	// 2: the controller. Stopping the controller process stands in for the
	// Deployment's pods going with it; 3 is part of 2 with kustomize.
	stopController()
	kubectl(t, nil, "delete", "--wait", "--timeout=120s", "-k", "config/default")
	if _, err := env.Kube.CoreV1().Namespaces().Get(context.Background(), "cafe-system", metav1.GetOptions{}); err == nil {
		t.Error("namespace cafe-system survived the uninstall")
	}
	if left := kubectl(t, nil, "get", "-k", "config/default", "--ignore-not-found", "-o", "name"); strings.TrimSpace(left) != "" {
		t.Errorf("the uninstall left objects of the install:\n%s", left)
	}

	// Nothing CAFE left holds the workload's namespace: it goes at once.
	if err := env.Kube.CoreV1().Namespaces().Delete(context.Background(), ns, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, time.Minute, "namespace "+ns+" deleted", func() (bool, string) {
		_, err := env.Kube.CoreV1().Namespaces().Get(context.Background(), ns, metav1.GetOptions{})
		return apierrors.IsNotFound(err), fmt.Sprint(err)
	})
}

// TestChartInstallRuns installs the chart's rendering, with a router in
// two units, as `helm install` would send it: CRDs first, then the
// templates.
func TestChartInstallRuns(t *testing.T) {
	const release, namespace = "helmcafe", "cafe-helm"
	createNamespace(t, namespace)
	kubectl(t, nil, "apply", "--server-side", "-f", "charts/cafe/crds/")
	objs := mustRender(t, release, namespace, "router: {enabled: true, units: [unit-a, unit-b]}")
	kubectl(t, manifestStream(t, objs), "apply", "--server-side", "-f", "-")

	waitAvailable(t, namespace, "helmcafe-controller", 2)
	waitServiceEndpoints(t, namespace, "helmcafe-controller-metrics", 2)
	for _, unit := range []string{"unit-a", "unit-b"} {
		name := "helmcafe-router-" + unit
		waitAvailable(t, namespace, name, 2)
		waitServiceEndpoints(t, namespace, name, 2)
		pods, err := env.Kube.CoreV1().Pods(namespace).List(context.Background(), metav1.ListOptions{LabelSelector: "apps.cafe.dev/unit=" + unit})
		if err != nil {
			t.Fatal(err)
		}
		for _, pod := range pods.Items {
			if !strings.HasPrefix(pod.Spec.NodeName, unit+"-") {
				t.Errorf("router pod %s of %s runs on node %s, outside its unit", pod.Name, unit, pod.Spec.NodeName)
			}
		}
	}
}

// TestNamespacedInstallsRun installs both namespace-scoped variants the way
// docs/install.md describes: an administrator installs the cluster-scoped
// part once and binds each team's cluster reads, then each team installs
// its controller into its namespace.
func TestNamespacedInstallsRun(t *testing.T) {
	kubectl(t, nil, "apply", "--server-side", "-k", "config/namespaced/cluster")

	createNamespace(t, "team-kustomize")
	kubectl(t, nil, "create", "clusterrolebinding", "cafe-controller-cluster-reads-team-kustomize",
		"--clusterrole=cafe-controller-cluster-reads", "--serviceaccount=team-kustomize:cafe-controller")
	overlay := t.TempDir()
	base, err := filepath.Abs(repoPath("config", "namespaced"))
	if err != nil {
		t.Fatal(err)
	}
	rel, err := filepath.Rel(overlay, base)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(overlay, "kustomization.yaml"), "namespace: team-kustomize\nresources:\n- "+filepath.ToSlash(rel)+"\n")
	kubectl(t, nil, "apply", "--server-side", "-k", overlay)
	waitAvailable(t, "team-kustomize", "cafe-controller", 2)

	createNamespace(t, "team-helm")
	objs := mustRender(t, "cafe", "team-helm", namespaceAdminValues("team-helm"))
	kubectl(t, manifestStream(t, objs), "apply", "--server-side", "-f", "-")
	waitAvailable(t, "team-helm", "cafe-controller", 2)

	for _, ns := range []string{"team-kustomize", "team-helm"} {
		if _, err := env.Kube.RbacV1().Roles(ns).Get(context.Background(), "cafe-controller", metav1.GetOptions{}); err != nil {
			t.Errorf("the controller's Role in %s: %v", ns, err)
		}
	}
}

// waitCacheServesLists waits until the API server's watch cache serves
// every CAFE kind. A CRD deleted seconds after it was created may otherwise
// stay Terminating for minutes: the API server's CRD finalizer cannot list
// the kind's instances while its storage is "(re)initializing" and backs
// off. An install that ran for longer than a test never sees this.
func waitCacheServesLists(t *testing.T) {
	t.Helper()
	client, err := dynamic.NewForConfig(env.Config)
	if err != nil {
		t.Fatal(err)
	}
	for _, crd := range generatedCRDs(t) {
		gvr := schema.GroupVersionResource{Group: crd.Spec.Group, Version: crd.Spec.Versions[0].Name, Resource: crd.Spec.Names.Plural}
		testenv.Eventually(t, 60*time.Second, gvr.String()+" served from the watch cache", func() (bool, string) {
			_, err := client.Resource(gvr).List(context.Background(), metav1.ListOptions{ResourceVersion: "0"})
			if err != nil {
				return false, err.Error()
			}
			return true, ""
		})
	}
}

func kubectl(t *testing.T, stdin []byte, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(testenv.BinDir(), "kubectl"),
		append([]string{"--kubeconfig", env.Platform.KubeconfigPath()}, args...)...)
	cmd.Dir = repoPath()
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("kubectl %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// createNamespace creates a namespace enforcing the "restricted" Pod
// Security Standard, as docs/install.md advises.
func createNamespace(t *testing.T, name string) {
	t.Helper()
	kubectl(t, nil, "create", "namespace", name)
	kubectl(t, nil, "label", "namespace", name, "pod-security.kubernetes.io/enforce=restricted")
}

func manifestStream(t *testing.T, objs []*unstructured.Unstructured) []byte {
	t.Helper()
	var buf bytes.Buffer
	for _, o := range objs {
		data, err := yaml.Marshal(o.Object)
		if err != nil {
			t.Fatal(err)
		}
		buf.WriteString("---\n")
		buf.Write(data)
	}
	return buf.Bytes()
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func waitAvailable(t *testing.T, namespace, name string, replicas int32) {
	t.Helper()
	testenv.Eventually(t, 90*time.Second, "deployment "+namespace+"/"+name+" available", func() (bool, string) {
		d, err := env.Kube.AppsV1().Deployments(namespace).Get(context.Background(), name, metav1.GetOptions{})
		if err != nil {
			return false, err.Error()
		}
		for _, c := range d.Status.Conditions {
			if c.Type == "ReplicaFailure" && c.Status == "True" {
				return false, "replica failure: " + c.Message
			}
		}
		return d.Status.ObservedGeneration == d.Generation && d.Status.AvailableReplicas == replicas,
			"available " + itoa(d.Status.AvailableReplicas) + " of " + itoa(replicas)
	})
}

// waitServiceEndpoints waits until a Service's EndpointSlices list ready
// pods: proof that its selector matches the pods.
func waitServiceEndpoints(t *testing.T, namespace, service string, ready int) {
	t.Helper()
	testenv.Eventually(t, 60*time.Second, "service "+namespace+"/"+service+" endpoints", func() (bool, string) {
		list, err := env.Kube.DiscoveryV1().EndpointSlices(namespace).List(context.Background(),
			metav1.ListOptions{LabelSelector: "kubernetes.io/service-name=" + service})
		if err != nil {
			return false, err.Error()
		}
		n := 0
		for _, s := range list.Items {
			for _, e := range s.Endpoints {
				if e.Conditions.Ready != nil && *e.Conditions.Ready {
					n++
				}
			}
		}
		return n == ready, itoa(int32(n)) + " ready endpoints"
	})
}

// waitAggregated waits until the cluster's aggregation controller has
// merged a rule for group with verb into the built-in role.
func waitAggregated(t *testing.T, role, group, verb string) {
	t.Helper()
	testenv.Eventually(t, 60*time.Second, "ClusterRole "+role+" to include "+group, func() (bool, string) {
		r, err := env.Kube.RbacV1().ClusterRoles().Get(context.Background(), role, metav1.GetOptions{})
		if err != nil {
			return false, err.Error()
		}
		for _, rule := range r.Rules {
			if slices.Contains(rule.APIGroups, group) && slices.Contains(rule.Verbs, verb) {
				return true, ""
			}
		}
		return false, "no rule for " + group
	})
}

func itoa(n int32) string { return strconv.Itoa(int(n)) }
