package install

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
)

// kustomize renders a kustomization directory as `kubectl kustomize` does
// (kubectl embeds the same kustomize library).
func kustomize(t *testing.T, dir string) []*unstructured.Unstructured {
	t.Helper()
	resources, err := krusty.MakeKustomizer(krusty.MakeDefaultOptions()).Run(filesys.MakeFsOnDisk(), dir)
	if err != nil {
		t.Fatalf("kustomize %s: %v", dir, err)
	}
	out, err := resources.AsYaml()
	if err != nil {
		t.Fatal(err)
	}
	return parseManifests(t, out)
}

func TestKustomizeDefaultInstallsEverythingInCafeSystem(t *testing.T) {
	objs := kustomize(t, repoPath("config", "default"))

	ns := find(t, objs, "Namespace", "cafe-system")
	if got := ns.GetLabels()["pod-security.kubernetes.io/enforce"]; got != "restricted" {
		t.Errorf("namespace enforces Pod Security %q, want restricted", got)
	}
	for _, o := range objs {
		if !clusterScopedKinds[o.GetKind()] && o.GetNamespace() != "cafe-system" {
			t.Errorf("%s %s is in namespace %q, want cafe-system", o.GetKind(), o.GetName(), o.GetNamespace())
		}
	}
	if got, want := namesOfKind(objs, "CustomResourceDefinition"), crdNames(t); !slices.Equal(got, want) {
		t.Errorf("CRDs = %v, want every CRD of config/crd/bases %v (run hack/generate.sh)", got, want)
	}

	find(t, objs, "ServiceAccount", "cafe-controller")
	role := typed[rbacv1.ClusterRole](t, find(t, objs, "ClusterRole", "cafe-controller"))
	if !equality.Semantic.DeepEqual(role.Rules, generatedRules(t)) {
		t.Errorf("ClusterRole cafe-controller's rules differ from config/rbac/role.yaml")
	}
	binding := typed[rbacv1.ClusterRoleBinding](t, find(t, objs, "ClusterRoleBinding", "cafe-controller"))
	checkBinding(t, binding.RoleRef, binding.Subjects, "ClusterRole", "cafe-controller", "cafe-system")
	checkLeaderElection(t, objs, "cafe-controller-leader-election", "cafe-system")

	d := typed[appsv1.Deployment](t, find(t, objs, "Deployment", "cafe-controller"))
	checkControllerPod(t, d, "cafe-controller")
	if d.Spec.Replicas == nil || *d.Spec.Replicas != 2 {
		t.Errorf("replicas = %v, want 2", d.Spec.Replicas)
	}
	c := container(t, d, "controller")
	if c.Image != "ghcr.io/cafe-dev/cafe-controller:v0.1.0" {
		t.Errorf("image = %q, want ghcr.io/cafe-dev/cafe-controller:v0.1.0", c.Image)
	}
	if a, ok := argWithPrefix(c.Args, "--namespace"); ok {
		t.Errorf("a cluster-wide install must not restrict the controller: %s", a)
	}
	checkMetricsService(t, objs, "cafe-controller-metrics", d)
	for _, kind := range []string{"ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding"} {
		if got := namesOfKind(objs, kind); !slices.Equal(got, admissionPolicies) {
			t.Errorf("%ss = %v, want %v", kind, got, admissionPolicies)
		}
		for _, name := range admissionPolicies {
			if got := find(t, objs, kind, name); got.GetNamespace() != "" {
				t.Errorf("cluster-scoped %s %s carries namespace %q", kind, name, got.GetNamespace())
			}
		}
	}
}

func TestKustomizeNamespacedHoldsNothingClusterScoped(t *testing.T) {
	objs := kustomize(t, repoPath("config", "namespaced"))

	for _, o := range objs {
		if clusterScopedKinds[o.GetKind()] {
			t.Errorf("the namespaced install holds cluster-scoped %s %s: a namespace administrator cannot apply it", o.GetKind(), o.GetName())
		}
	}
	role := typed[rbacv1.Role](t, find(t, objs, "Role", "cafe-controller"))
	if !equality.Semantic.DeepEqual(role.Rules, generatedRules(t)) {
		t.Errorf("Role cafe-controller's rules differ from config/rbac/role.yaml")
	}
	binding := typed[rbacv1.RoleBinding](t, find(t, objs, "RoleBinding", "cafe-controller"))
	checkBinding(t, binding.RoleRef, binding.Subjects, "Role", "cafe-controller", "cafe-tenant")
	checkLeaderElection(t, objs, "cafe-controller-leader-election", "cafe-tenant")

	d := typed[appsv1.Deployment](t, find(t, objs, "Deployment", "cafe-controller"))
	checkControllerPod(t, d, "cafe-controller")
	c := container(t, d, "controller")
	if !slices.Contains(c.Args, "--namespace=$(POD_NAMESPACE)") {
		t.Errorf("args %v do not restrict the controller to its own namespace", c.Args)
	}
	if !slices.ContainsFunc(c.Env, func(e corev1.EnvVar) bool {
		return e.Name == "POD_NAMESPACE" && e.ValueFrom != nil && e.ValueFrom.FieldRef != nil && e.ValueFrom.FieldRef.FieldPath == "metadata.namespace"
	}) {
		t.Errorf("env %v lacks POD_NAMESPACE from metadata.namespace", c.Env)
	}
	checkMetricsService(t, objs, "cafe-controller-metrics", d)
}

// TestKustomizeNamespacedClusterPartHoldsTheRest: what the administrator
// installs for namespace-scoped controllers is cluster-scoped only, and with
// the namespaced overlay makes up the cluster-wide install's objects.
func TestKustomizeNamespacedClusterPartHoldsTheRest(t *testing.T) {
	cluster := kustomize(t, repoPath("config", "namespaced", "cluster"))
	for _, o := range cluster {
		if !clusterScopedKinds[o.GetKind()] || o.GetNamespace() != "" {
			t.Errorf("the administrator's part holds %s %s in namespace %q", o.GetKind(), o.GetName(), o.GetNamespace())
		}
	}
	if got, want := namesOfKind(cluster, "CustomResourceDefinition"), crdNames(t); !slices.Equal(got, want) {
		t.Errorf("CRDs = %v, want %v", got, want)
	}
	full := kustomize(t, repoPath("config", "default"))
	for _, kind := range []string{"ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding"} {
		if got, want := namesOfKind(cluster, kind), namesOfKind(full, kind); !slices.Equal(got, want) {
			t.Errorf("%ss = %v, the cluster-wide install has %v", kind, got, want)
		}
	}
	for _, name := range []string{"cafe-viewer", "cafe-operator", "cafe-approver", "cafe-controller-cluster-reads"} {
		find(t, cluster, "ClusterRole", name)
	}
}

// TestNamespacedControllerCanReadWhatIsClusterScoped: a namespace-scoped
// controller's Role cannot grant cluster-scoped resources, so every
// generated rule on one must be covered, read-only, by the cluster reads
// (kustomize and chart alike). A controller that starts writing a
// cluster-scoped resource cannot be namespace-scoped at all.
func TestNamespacedControllerCanReadWhatIsClusterScoped(t *testing.T) {
	reads := typed[rbacv1.ClusterRole](t, find(t, kustomize(t, repoPath("config", "namespaced", "cluster")), "ClusterRole", "cafe-controller-cluster-reads"))
	chartReads := typed[rbacv1.ClusterRole](t, find(t, mustRender(t, "cafe", "team-a", "watchNamespace: team-a"), "ClusterRole", "cafe-controller-cluster-reads-team-a"))
	if !equality.Semantic.DeepEqual(reads.Rules, chartReads.Rules) {
		t.Errorf("cluster reads: kustomize %+v, chart %+v", reads.Rules, chartReads.Rules)
	}
	for _, rule := range generatedRules(t) {
		for _, resource := range rule.Resources {
			if !builtinClusterScoped[strings.Split(resource, "/")[0]] {
				continue
			}
			for _, verb := range rule.Verbs {
				if !slices.Contains(readVerbs, verb) {
					t.Errorf("config/rbac/role.yaml lets the controller %s cluster-scoped %s: a namespace-scoped install cannot grant that", verb, resource)
					continue
				}
				for _, group := range rule.APIGroups {
					if !grants(reads.Rules, group, resource, verb) {
						t.Errorf("config/rbac/role.yaml reads cluster-scoped %s (%s); add it to config/namespaced/cluster/cluster_reads_role.yaml and charts/cafe/templates/controller-cluster-reads.yaml", resource, verb)
					}
				}
			}
		}
	}
}

// builtinClusterScoped are Kubernetes' cluster-scoped resources a
// controller might read.
var builtinClusterScoped = map[string]bool{
	"nodes": true, "namespaces": true, "persistentvolumes": true, "storageclasses": true, "csinodes": true,
	"csidrivers": true, "volumeattachments": true, "runtimeclasses": true, "priorityclasses": true,
	"clusterroles": true, "clusterrolebindings": true, "customresourcedefinitions": true, "ingressclasses": true,
	"validatingadmissionpolicies": true, "validatingadmissionpolicybindings": true,
	"validatingwebhookconfigurations": true, "mutatingwebhookconfigurations": true, "apiservices": true,
	"certificatesigningrequests": true,
}

// TestKustomizeNamespacedOverlayMovesEverything renders the overlay as
// docs/install.md tells a team to: a kustomization of its own that sets the
// namespace. Every object and every binding's subject must move with it.
func TestKustomizeNamespacedOverlayMovesEverything(t *testing.T) {
	dir := t.TempDir()
	base, err := filepath.Abs(repoPath("config", "namespaced"))
	if err != nil {
		t.Fatal(err)
	}
	rel, err := filepath.Rel(dir, base)
	if err != nil {
		t.Fatal(err)
	}
	overlay := "namespace: team-a\nresources:\n- " + filepath.ToSlash(rel) + "\n"
	if err := os.WriteFile(filepath.Join(dir, "kustomization.yaml"), []byte(overlay), 0o644); err != nil {
		t.Fatal(err)
	}
	objs := kustomize(t, dir)
	for _, o := range objs {
		if o.GetNamespace() != "team-a" {
			t.Errorf("%s %s is in %q, want team-a", o.GetKind(), o.GetName(), o.GetNamespace())
		}
	}
	for _, name := range []string{"cafe-controller", "cafe-controller-leader-election"} {
		b := typed[rbacv1.RoleBinding](t, find(t, objs, "RoleBinding", name))
		checkBinding(t, b.RoleRef, b.Subjects, "Role", name, "team-a")
	}
}

func checkBinding(t *testing.T, ref rbacv1.RoleRef, subjects []rbacv1.Subject, kind, role, namespace string) {
	t.Helper()
	if ref.Kind != kind || ref.Name != role {
		t.Errorf("binding refers to %s %s, want %s %s", ref.Kind, ref.Name, kind, role)
	}
	want := []rbacv1.Subject{{Kind: "ServiceAccount", Name: "cafe-controller", Namespace: namespace}}
	if !equality.Semantic.DeepEqual(subjects, want) {
		t.Errorf("binding subjects = %+v, want %+v", subjects, want)
	}
}

// checkLeaderElection asserts the Role that lets replicas elect a leader
// with a Lease, and its binding, in the controller's namespace.
func checkLeaderElection(t *testing.T, objs []*unstructured.Unstructured, name, namespace string) {
	t.Helper()
	role := typed[rbacv1.Role](t, find(t, objs, "Role", name))
	if role.Namespace != namespace {
		t.Errorf("Role %s is in %q, want %q", name, role.Namespace, namespace)
	}
	if !grants(role.Rules, "coordination.k8s.io", "leases", "get", "create", "update") {
		t.Errorf("Role %s cannot get, create and update Leases: %+v", name, role.Rules)
	}
	if !grants(role.Rules, "", "events", "create", "patch") {
		t.Errorf("Role %s cannot record Events: %+v", name, role.Rules)
	}
	b := typed[rbacv1.RoleBinding](t, find(t, objs, "RoleBinding", name))
	if b.RoleRef.Kind != "Role" || b.RoleRef.Name != name {
		t.Errorf("RoleBinding %s refers to %s %s", name, b.RoleRef.Kind, b.RoleRef.Name)
	}
}

// grants reports whether one of rules allows every verb on group/resource.
func grants(rules []rbacv1.PolicyRule, group, resource string, verbs ...string) bool {
	return slices.ContainsFunc(rules, func(r rbacv1.PolicyRule) bool {
		if !slices.Contains(r.APIGroups, group) || !(slices.Contains(r.Resources, resource) || slices.Contains(r.Resources, "*")) {
			return false
		}
		for _, v := range verbs {
			if !slices.Contains(r.Verbs, v) && !slices.Contains(r.Verbs, "*") {
				return false
			}
		}
		return true
	})
}

func checkMetricsService(t *testing.T, objs []*unstructured.Unstructured, name string, d *appsv1.Deployment) {
	t.Helper()
	svc := typed[corev1.Service](t, find(t, objs, "Service", name))
	if len(svc.Spec.Ports) != 1 || svc.Spec.Ports[0].Port != 8080 || svc.Spec.Ports[0].TargetPort.String() != "metrics" {
		t.Errorf("service %s ports = %+v, want 8080 to the metrics port", name, svc.Spec.Ports)
	}
	for k, v := range svc.Spec.Selector {
		if d.Spec.Template.Labels[k] != v {
			t.Errorf("service %s selects %s=%s, which the controller's pods lack", name, k, v)
		}
	}
	if svc.Namespace != d.Namespace {
		t.Errorf("service %s is in %q, the controller in %q", name, svc.Namespace, d.Namespace)
	}
}
