//go:build integration

package install

import (
	"context"
	"os"
	"strings"
	"testing"

	"helm.sh/helm/v3/pkg/action"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"sigs.k8s.io/yaml"
)

var cafeDeployments = schema.GroupVersionResource{Group: "apps.cafe.dev", Version: "v1alpha1", Resource: "cafedeployments"}

// firstSchemaCRDs are charts/cafe/crds as the first chart (commit c5a3600)
// shipped them, by chart file name. v1alpha1 has changed twice since:
// spec.release.immediate (a boolean) became immediateRevision (a string),
// and trafficHandoff.disabled was added to both kinds. Rebuilding that
// schema from today's keeps the test free of git history and of a copy of
// a 600 kB file; a rename of either field fails here, not silently.
func firstSchemaCRDs(t *testing.T) map[string][]byte {
	t.Helper()
	edits := map[string]func(crd map[string]any){
		"apps.cafe.dev_cafedeployments.yaml": func(crd map[string]any) {
			release := schemaProperties(t, crd, "spec", "release")
			delete(release, "immediateRevision")
			release["immediate"] = map[string]any{"type": "boolean", "description": "immediate releases all remaining pods in one batch, with no Beta\nbatch and no confirmation (`kubectl cafe rollback --immediate`)."}
			delete(schemaProperties(t, crd, "spec", "strategy", "trafficHandoff"), "disabled")
		},
		"apps.cafe.dev_inplacesets.yaml": func(crd map[string]any) {
			delete(schemaProperties(t, crd, "spec", "trafficHandoff"), "disabled")
		},
	}
	out := map[string][]byte{}
	for name, edit := range edits {
		data, err := os.ReadFile(repoPath("charts", "cafe", "crds", name))
		if err != nil {
			t.Fatal(err)
		}
		var crd map[string]any
		if err := yaml.Unmarshal(data, &crd); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		edit(crd)
		if out[name], err = yaml.Marshal(crd); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// schemaProperties is the properties map of the object at path in the
// CRD's only version's schema, in place: editing it edits crd.
func schemaProperties(t *testing.T, crd map[string]any, path ...string) map[string]any {
	t.Helper()
	spec, _ := crd["spec"].(map[string]any)
	versions, _ := spec["versions"].([]any)
	if len(versions) != 1 {
		t.Fatalf("CRD %v has %d versions, want v1alpha1 only", crd["metadata"], len(versions))
	}
	fields := []string{"schema", "openAPIV3Schema", "properties"}
	for _, p := range path {
		fields = append(fields, p, "properties")
	}
	node, _ := versions[0].(map[string]any)
	for _, f := range fields {
		if node, _ = node[f].(map[string]any); node == nil {
			t.Fatalf("CRD %v has no schema properties at %s", crd["metadata"], strings.Join(path, "."))
		}
	}
	return node
}

// oldShapeWorkload is a CafeDeployment as a user of the first chart wrote
// it: only the required fields, and an immediate rollback flag that
// schema had, named for the release-approver policy (the admin's user).
const oldShapeWorkload = `
apiVersion: apps.cafe.dev/v1alpha1
kind: CafeDeployment
metadata:
  name: pay
  annotations: {apps.cafe.dev/confirmed-by: cafe-admin}
spec:
  replicas: 3
  selector:
    matchLabels: {app: pay}
  topology:
    units: [{name: unit-a}, {name: unit-b}, {name: unit-c}]
  release:
    immediate: true
  template:
    metadata:
      labels: {app: pay}
    spec:
      containers: [{name: app, image: pay:v1}]
`

// TestChartUpgradeKeepsObjectsOfTheFirstSchemaWorking installs the chart
// with the Helm library, with the CRDs the first chart shipped, stores a
// CafeDeployment of that schema, upgrades as docs/install.md says (CRDs
// with kubectl, then helm upgrade), and checks the object survives, the
// upgraded controller releases it under the chart's RBAC, and the
// documented Helm uninstall strands nothing.
func TestChartUpgradeKeepsObjectsOfTheFirstSchemaWorking(t *testing.T) {
	const release, namespace = "payments", "payments-system"
	ctx := context.Background()
	// Helm creates only CRDs that do not exist: start from none, as a
	// cluster that never had CAFE.
	removeCafeCRDs(t)
	createNamespace(t, namespace)

	ch := loadChart(t)
	for name, data := range firstSchemaCRDs(t) {
		replaceChartFile(t, ch, "crds/"+name, data)
	}
	helm := helmActions(t, namespace)
	install := action.NewInstall(helm)
	install.ReleaseName, install.Namespace = release, namespace
	// The policies' names are fixed: other tests' installs may own them.
	if _, err := install.Run(ch, helmValues(t, "admissionPolicies: {enabled: false}\nkubeAPI: {qps: 50}")); err != nil {
		t.Fatalf("helm install: %v", err)
	}
	waitAvailable(t, namespace, release+"-cafe-controller", 2)

	workloads := env.Namespace(t)
	dyn, err := dynamic.NewForConfig(env.Config)
	if err != nil {
		t.Fatal(err)
	}
	var old unstructured.Unstructured
	if err := yaml.Unmarshal([]byte(oldShapeWorkload), &old.Object); err != nil {
		t.Fatal(err)
	}
	stored, err := dyn.Resource(cafeDeployments).Namespace(workloads).Create(ctx, &old, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("the first schema refuses its own object: %v", err)
	}
	if immediate, _, _ := unstructured.NestedBool(stored.Object, "spec", "release", "immediate"); !immediate {
		t.Fatal("the installed CRDs are not the first schema: spec.release.immediate was dropped")
	}

	// Upgrade: the CRDs first, taken over from Helm, then the release.
	kubectl(t, nil, "apply", "--server-side", "--force-conflicts", "-f", "charts/cafe/crds/")
	checkCRDHasImmediateRevision(t)
	up := action.NewUpgrade(helm)
	up.Namespace, up.ReuseValues = namespace, true
	if _, err := up.Run(release, loadChart(t), helmValues(t, "image: {tag: v0.2.0}")); err != nil {
		t.Fatalf("helm upgrade: %v", err)
	}
	waitAvailable(t, namespace, release+"-cafe-controller", 2)
	d, err := env.Kube.AppsV1().Deployments(namespace).Get(ctx, release+"-cafe-controller", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if img := d.Spec.Template.Spec.Containers[0].Image; img != "ghcr.io/cafe-dev/cafe-controller:v0.2.0" {
		t.Errorf("after helm upgrade the controller runs %s, want the v0.2.0 tag", img)
	}
	if !strings.Contains(strings.Join(d.Spec.Template.Spec.Containers[0].Args, " "), "--kube-api-qps=50") {
		t.Errorf("helm upgrade --reuse-values lost the installed kubeAPI.qps: args %v", d.Spec.Template.Spec.Containers[0].Args)
	}
	checkCRDHasImmediateRevision(t) // helm upgrade leaves crds/ alone

	upgraded, err := dyn.Resource(cafeDeployments).Namespace(workloads).Get(ctx, "pay", metav1.GetOptions{})
	if err != nil {
		t.Fatalf("the stored CafeDeployment did not survive the upgrade: %v", err)
	}
	if upgraded.GetUID() != stored.GetUID() {
		t.Errorf("the CafeDeployment was replaced (uid %s, was %s)", upgraded.GetUID(), stored.GetUID())
	}
	// docs/install.md says so: the removed field is pruned on read.
	if _, found, _ := unstructured.NestedFieldNoCopy(upgraded.Object, "spec", "release", "immediate"); found {
		t.Errorf("spec.release.immediate is still served after the upgrade; docs/install.md says it is dropped")
	}

	// The upgraded controller, as the chart's service account, releases the
	// old object.
	stopController := startControllerBinary(t, namespace, release+"-cafe-controller")
	waitReleased(t, workloads, "pay")

	// Uninstall as docs/install.md says for Helm.
	waitCacheServesLists(t)
	kubectl(t, nil, "delete", "cafedeployments.apps.cafe.dev,inplacesets.apps.cafe.dev", "--all", "-A", "--wait")
	waitNoneLeft(t, workloads, "poddisruptionbudgets,controllerrevisions,pods", "")
	stopController()
	if _, err := action.NewUninstall(helm).Run(release); err != nil {
		t.Fatalf("helm uninstall: %v", err)
	}
	kubectl(t, nil, "delete", "--wait", "--timeout=120s", "-f", "charts/cafe/crds/")
	waitNoneLeft(t, namespace, "deployments,serviceaccounts,roles,rolebindings,services,poddisruptionbudgets,pods", "app.kubernetes.io/instance="+release)
	waitNoneLeft(t, namespace, "secrets", "owner=helm") // the release's history
	for _, kind := range []string{"clusterroles", "clusterrolebindings"} {
		left := kubectl(t, nil, "get", kind, "-l", "app.kubernetes.io/instance="+release, "-o", "name")
		if strings.TrimSpace(left) != "" && !strings.Contains(left, "No resources found") {
			t.Errorf("helm uninstall left %s:\n%s", kind, left)
		}
	}
	if left := kubectl(t, nil, "get", "crd", "-o", "name"); strings.Contains(left, "cafe.dev") {
		t.Errorf("CAFE's CRDs survived their deletion:\n%s", left)
	}
}

// checkCRDHasImmediateRevision checks the served CafeDeployment schema is
// today's.
func checkCRDHasImmediateRevision(t *testing.T) {
	t.Helper()
	got := kubectl(t, nil, "get", "crd", "cafedeployments.apps.cafe.dev", "-o",
		"jsonpath={.spec.versions[0].schema.openAPIV3Schema.properties.spec.properties.release.properties.immediateRevision.type}")
	if got != "string" {
		t.Errorf("the CafeDeployment CRD has no spec.release.immediateRevision string (%q): not today's schema", got)
	}
}

// removeCafeCRDs deletes CAFE's CRDs that earlier tests left, and every
// object of theirs.
func removeCafeCRDs(t *testing.T) {
	t.Helper()
	installed := kubectl(t, nil, "get", "crd", "-o", "name")
	all := crdNames(t)
	var present []string
	for _, name := range all {
		if strings.Contains(installed, "/"+name+"\n") {
			present = append(present, "crd/"+name)
		}
	}
	if len(present) == 0 {
		return
	}
	if len(present) == len(all) {
		waitCacheServesLists(t)
	}
	kubectl(t, nil, append([]string{"delete", "--wait", "--timeout=120s"}, present...)...)
}
