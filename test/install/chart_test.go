package install

import (
	"path"
	"slices"
	"sort"
	"strings"
	"testing"

	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/chartutil"
	"helm.sh/helm/v3/pkg/engine"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"sigs.k8s.io/yaml"
)

func loadChart(t testing.TB) *chart.Chart {
	t.Helper()
	ch, err := loader.Load(repoPath("charts", "cafe"))
	if err != nil {
		t.Fatalf("load charts/cafe: %v", err)
	}
	return ch
}

// renderChart renders the chart as `helm install <release> -n <namespace>
// --set ...` would, values given as YAML. It returns the schema or template
// error unchanged.
func renderChart(t testing.TB, release, namespace, values string) ([]*unstructured.Unstructured, error) {
	t.Helper()
	ch := loadChart(t)
	vals := map[string]any{}
	if err := yaml.Unmarshal([]byte(values), &vals); err != nil {
		t.Fatalf("test values are not YAML: %v", err)
	}
	caps := chartutil.DefaultCapabilities.Copy()
	renderVals, err := chartutil.ToRenderValues(ch, vals, chartutil.ReleaseOptions{
		Name: release, Namespace: namespace, Revision: 1, IsInstall: true,
	}, caps)
	if err != nil {
		return nil, err
	}
	files, err := engine.Render(ch, renderVals)
	if err != nil {
		return nil, err
	}
	names := make([]string, 0, len(files))
	for name := range files {
		names = append(names, name)
	}
	sort.Strings(names)
	var stream strings.Builder
	for _, name := range names {
		if path.Ext(name) != ".yaml" {
			continue // NOTES.txt, helpers
		}
		stream.WriteString("\n---\n")
		stream.WriteString(files[name])
	}
	return parseManifests(t, []byte(stream.String())), nil
}

// namespaceAdminValues install the controller for one namespace with no
// cluster-scoped object, as a namespace administrator can (with
// --skip-crds), after a cluster administrator installed those.
func namespaceAdminValues(namespace string) string {
	return "watchNamespace: " + namespace + "\nrbac: {userRoles: false, clusterReads: false}\nadmissionPolicies: {enabled: false}"
}

func mustRender(t *testing.T, release, namespace, values string) []*unstructured.Unstructured {
	t.Helper()
	objs, err := renderChart(t, release, namespace, values)
	if err != nil {
		t.Fatalf("render with values %q: %v", values, err)
	}
	for _, o := range objs {
		if !clusterScopedKinds[o.GetKind()] && o.GetNamespace() == "" {
			t.Errorf("%s %s has no namespace: kubectl would put it in the current context's", o.GetKind(), o.GetName())
		}
	}
	return objs
}

func TestChartDefaultsInstallTheControllerClusterWide(t *testing.T) {
	objs := mustRender(t, "cafe", "cafe-system", "")

	find(t, objs, "ServiceAccount", "cafe-controller")
	role := typed[rbacv1.ClusterRole](t, find(t, objs, "ClusterRole", "cafe-controller"))
	if !equality.Semantic.DeepEqual(role.Rules, generatedRules(t)) {
		t.Errorf("the chart's ClusterRole rules differ from config/rbac/role.yaml (run hack/generate.sh)")
	}
	b := typed[rbacv1.ClusterRoleBinding](t, find(t, objs, "ClusterRoleBinding", "cafe-controller"))
	checkBinding(t, b.RoleRef, b.Subjects, "ClusterRole", "cafe-controller", "cafe-system")
	checkLeaderElection(t, objs, "cafe-controller-leader-election", "cafe-system")

	d := typed[appsv1.Deployment](t, find(t, objs, "Deployment", "cafe-controller"))
	checkControllerPod(t, d, "cafe-controller")
	if *d.Spec.Replicas != 2 {
		t.Errorf("replicas = %d, want 2", *d.Spec.Replicas)
	}
	c := container(t, d, "controller")
	if c.Image != "ghcr.io/cafe-dev/cafe-controller:v0.1.0" {
		t.Errorf("image = %q, want the appVersion tag ghcr.io/cafe-dev/cafe-controller:v0.1.0", c.Image)
	}
	if c.ImagePullPolicy != corev1.PullIfNotPresent {
		t.Errorf("imagePullPolicy = %q", c.ImagePullPolicy)
	}
	if a, ok := argWithPrefix(c.Args, "--namespace"); ok {
		t.Errorf("a cluster-wide install must not restrict the controller: %s", a)
	}
	for _, a := range []string{"--kube-api-qps=100", "--kube-api-burst=200"} {
		if !slices.Contains(c.Args, a) {
			t.Errorf("args %v lack %s", c.Args, a)
		}
	}
	checkMetricsService(t, objs, "cafe-controller-metrics", d)
	pdb := typed[policyv1.PodDisruptionBudget](t, find(t, objs, "PodDisruptionBudget", "cafe-controller"))
	if pdb.Spec.MaxUnavailable == nil || pdb.Spec.MaxUnavailable.IntValue() != 1 {
		t.Errorf("PodDisruptionBudget maxUnavailable = %v, want 1", pdb.Spec.MaxUnavailable)
	}
	if !equality.Semantic.DeepEqual(pdb.Spec.Selector, d.Spec.Selector) {
		t.Errorf("PodDisruptionBudget selects %v, the Deployment %v", pdb.Spec.Selector, d.Spec.Selector)
	}
	for _, name := range []string{"cafe-viewer", "cafe-operator", "cafe-approver"} {
		find(t, objs, "ClusterRole", name)
	}
	for _, name := range admissionPolicies {
		find(t, objs, "ValidatingAdmissionPolicy", name)
		find(t, objs, "ValidatingAdmissionPolicyBinding", name)
	}
	if has(objs, "ClusterRole", "cafe-controller-cluster-reads-cafe-system") {
		t.Error("a cluster-wide install renders the namespace-scoped controller's cluster reads")
	}
	for _, o := range objs {
		if o.GetLabels()["app.kubernetes.io/component"] == "router" {
			t.Errorf("the router is off by default, yet %s %s is rendered", o.GetKind(), o.GetName())
		}
	}
}

// TestChartAndKustomizeInstallTheSameController keeps the two installs from
// drifting: the controller's pod and the roles for people must be the same.
func TestChartAndKustomizeInstallTheSameController(t *testing.T) {
	fromChart := mustRender(t, "cafe", "cafe-system", "")
	fromKustomize := kustomize(t, repoPath("config", "default"))

	chartPod := typed[appsv1.Deployment](t, find(t, fromChart, "Deployment", "cafe-controller")).Spec.Template.Spec
	kustomizePod := typed[appsv1.Deployment](t, find(t, fromKustomize, "Deployment", "cafe-controller")).Spec.Template.Spec
	if !equality.Semantic.DeepEqual(chartPod.SecurityContext, kustomizePod.SecurityContext) {
		t.Errorf("pod securityContext: chart %+v, kustomize %+v", chartPod.SecurityContext, kustomizePod.SecurityContext)
	}
	if chartPod.TerminationGracePeriodSeconds == nil || kustomizePod.TerminationGracePeriodSeconds == nil ||
		*chartPod.TerminationGracePeriodSeconds != *kustomizePod.TerminationGracePeriodSeconds {
		t.Errorf("terminationGracePeriodSeconds differ")
	}
	cc, kc := chartPod.Containers[0], kustomizePod.Containers[0]
	for what, pair := range map[string][2]any{
		"securityContext": {cc.SecurityContext, kc.SecurityContext},
		"resources":       {cc.Resources, kc.Resources},
		"ports":           {cc.Ports, kc.Ports},
		"livenessProbe":   {cc.LivenessProbe, kc.LivenessProbe},
		"readinessProbe":  {cc.ReadinessProbe, kc.ReadinessProbe},
	} {
		if !equality.Semantic.DeepEqual(pair[0], pair[1]) {
			t.Errorf("container %s: chart %+v, kustomize %+v", what, pair[0], pair[1])
		}
	}
	for _, kind := range []string{"ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding"} {
		if got, want := namesOfKind(fromChart, kind), namesOfKind(fromKustomize, kind); !slices.Equal(got, want) {
			t.Errorf("%ss: chart %v, kustomize %v", kind, got, want)
		}
		for _, name := range namesOfKind(fromKustomize, kind) {
			if !equality.Semantic.DeepEqual(find(t, fromChart, kind, name).Object, find(t, fromKustomize, kind, name).Object) {
				t.Errorf("%s %s differs between the chart and kustomize", kind, name)
			}
		}
	}
	chartElection := typed[rbacv1.Role](t, find(t, fromChart, "Role", "cafe-controller-leader-election"))
	kustomizeElection := typed[rbacv1.Role](t, find(t, fromKustomize, "Role", "cafe-controller-leader-election"))
	if !equality.Semantic.DeepEqual(chartElection.Rules, kustomizeElection.Rules) {
		t.Errorf("leader-election Role rules: chart %+v, kustomize %+v", chartElection.Rules, kustomizeElection.Rules)
	}
	for _, name := range []string{"cafe-viewer", "cafe-operator", "cafe-approver"} {
		chartRole := typed[rbacv1.ClusterRole](t, find(t, fromChart, "ClusterRole", name))
		kustomizeRole := typed[rbacv1.ClusterRole](t, find(t, fromKustomize, "ClusterRole", name))
		if !equality.Semantic.DeepEqual(chartRole.Rules, kustomizeRole.Rules) {
			t.Errorf("ClusterRole %s rules: chart %+v, kustomize %+v", name, chartRole.Rules, kustomizeRole.Rules)
		}
		for k, v := range kustomizeRole.Labels {
			if strings.HasPrefix(k, "rbac.authorization.k8s.io/") && chartRole.Labels[k] != v {
				t.Errorf("ClusterRole %s: the chart lacks the aggregation label %s=%s", name, k, v)
			}
		}
	}
}

func TestChartVariants(t *testing.T) {
	tests := []struct {
		name, namespace, values string
		check                   func(t *testing.T, objs []*unstructured.Unstructured)
	}{{
		name: "three replicas", namespace: "cafe-system", values: "replicas: 3",
		check: func(t *testing.T, objs []*unstructured.Unstructured) {
			d := typed[appsv1.Deployment](t, find(t, objs, "Deployment", "cafe-controller"))
			if *d.Spec.Replicas != 3 {
				t.Errorf("replicas = %d, want 3", *d.Spec.Replicas)
			}
			find(t, objs, "PodDisruptionBudget", "cafe-controller")
		},
	}, {
		name: "one replica has no disruption budget", namespace: "cafe-system", values: "replicas: 1",
		check: func(t *testing.T, objs []*unstructured.Unstructured) {
			if has(objs, "PodDisruptionBudget", "cafe-controller") {
				t.Error("a PodDisruptionBudget for one replica would block every node drain")
			}
		},
	}, {
		name: "no leader election", namespace: "cafe-system", values: "replicas: 1\nleaderElection: {enabled: false}",
		check: func(t *testing.T, objs []*unstructured.Unstructured) {
			c := container(t, typed[appsv1.Deployment](t, find(t, objs, "Deployment", "cafe-controller")), "controller")
			if !slices.Contains(c.Args, "--leader-elect=false") {
				t.Errorf("args %v do not disable leader election", c.Args)
			}
			if has(objs, "Role", "cafe-controller-leader-election") {
				t.Error("leader-election Role rendered without leader election")
			}
		},
	}, {
		name: "namespaced by a namespace administrator", namespace: "team-a",
		values: namespaceAdminValues("team-a"),
		check: func(t *testing.T, objs []*unstructured.Unstructured) {
			for _, o := range objs {
				if clusterScopedKinds[o.GetKind()] {
					t.Errorf("namespaced install renders cluster-scoped %s %s", o.GetKind(), o.GetName())
				}
			}
			role := typed[rbacv1.Role](t, find(t, objs, "Role", "cafe-controller"))
			if role.Namespace != "team-a" || !equality.Semantic.DeepEqual(role.Rules, generatedRules(t)) {
				t.Errorf("Role cafe-controller in %q does not carry the generated rules", role.Namespace)
			}
			b := typed[rbacv1.RoleBinding](t, find(t, objs, "RoleBinding", "cafe-controller"))
			checkBinding(t, b.RoleRef, b.Subjects, "Role", "cafe-controller", "team-a")
			c := container(t, typed[appsv1.Deployment](t, find(t, objs, "Deployment", "cafe-controller")), "controller")
			if !slices.Contains(c.Args, "--namespace=team-a") {
				t.Errorf("args %v do not restrict the controller to team-a", c.Args)
			}
		},
	}, {
		name: "namespaced by a cluster administrator", namespace: "team-a", values: "watchNamespace: team-a",
		check: func(t *testing.T, objs []*unstructured.Unstructured) {
			find(t, objs, "Role", "cafe-controller")
			reads := typed[rbacv1.ClusterRole](t, find(t, objs, "ClusterRole", "cafe-controller-cluster-reads-team-a"))
			// Auto-reschedule lists nodes and the pods on them, nothing more.
			for _, resource := range []string{"nodes", "pods"} {
				if !grants(reads.Rules, "", resource, "list") {
					t.Errorf("cluster reads lack list %s: %+v", resource, reads.Rules)
				}
			}
			for _, r := range reads.Rules {
				for _, v := range r.Verbs {
					if v != "list" {
						t.Errorf("cluster reads may %s %v", v, r.Resources)
					}
				}
			}
			b := typed[rbacv1.ClusterRoleBinding](t, find(t, objs, "ClusterRoleBinding", "cafe-controller-cluster-reads-team-a"))
			checkBinding(t, b.RoleRef, b.Subjects, "ClusterRole", "cafe-controller-cluster-reads-team-a", "team-a")
			if has(objs, "ClusterRoleBinding", "cafe-controller") {
				t.Error("a namespace-scoped controller must not be bound to its rules cluster-wide")
			}
			find(t, objs, "ValidatingAdmissionPolicy", "cafe-pod-protection")
		},
	}, {
		name: "watching another namespace", namespace: "cafe-system", values: "watchNamespace: team-b",
		check: func(t *testing.T, objs []*unstructured.Unstructured) {
			role := find(t, objs, "Role", "cafe-controller")
			if role.GetNamespace() != "team-b" {
				t.Errorf("the controller's Role is in %q, want the watched namespace team-b", role.GetNamespace())
			}
			b := typed[rbacv1.RoleBinding](t, find(t, objs, "RoleBinding", "cafe-controller"))
			checkBinding(t, b.RoleRef, b.Subjects, "Role", "cafe-controller", "cafe-system")
			if has(objs, "ClusterRoleBinding", "cafe-controller") {
				t.Error("a namespace-scoped controller must not be bound cluster-wide")
			}
		},
	}, {
		name: "router enabled", namespace: "cafe-system",
		values: `router:
  enabled: true
  units: [unit-a, unit-b]
  replicas: 3
  image: {repository: registry.example/cafe-router, tag: v0.2.0}
  args: ["--access-log-sample=0.5"]
`,
		check: func(t *testing.T, objs []*unstructured.Unstructured) {
			var selectors []map[string]string
			for _, unit := range []string{"unit-a", "unit-b"} {
				d := typed[appsv1.Deployment](t, find(t, objs, "Deployment", "cafe-router-"+unit))
				selectors = append(selectors, d.Spec.Selector.MatchLabels)
				if *d.Spec.Replicas != 3 {
					t.Errorf("%s replicas = %d, want 3", d.Name, *d.Spec.Replicas)
				}
				pod := d.Spec.Template.Spec
				if pod.NodeSelector["topology.kubernetes.io/zone"] != unit {
					t.Errorf("%s is not pinned to %s's nodes: nodeSelector %v", d.Name, unit, pod.NodeSelector)
				}
				c := container(t, d, "router")
				if c.Image != "registry.example/cafe-router:v0.2.0" {
					t.Errorf("router image = %q", c.Image)
				}
				want := []string{"--unit=" + unit, "--namespace=cafe-system", "--listen=:8080", "--metrics-listen=:9090", "--access-log-sample=0.5"}
				if !slices.Equal(c.Args, want) {
					t.Errorf("%s args = %v, want %v", d.Name, c.Args, want)
				}
				if c.ReadinessProbe == nil || c.ReadinessProbe.HTTPGet == nil || c.ReadinessProbe.HTTPGet.Path != "/readyz" || c.ReadinessProbe.HTTPGet.Port.String() != "metrics" {
					t.Errorf("%s readiness probe = %+v, want GET /readyz on the metrics port", d.Name, c.ReadinessProbe)
				}
				if pod.SecurityContext == nil || c.SecurityContext == nil || !*c.SecurityContext.ReadOnlyRootFilesystem {
					t.Errorf("%s must run with the restricted security contexts of the controller", d.Name)
				}
				svc := typed[corev1.Service](t, find(t, objs, "Service", "cafe-router-"+unit))
				if !labels.SelectorFromSet(svc.Spec.Selector).Matches(labels.Set(d.Spec.Template.Labels)) {
					t.Errorf("service %s does not select %s's pods", svc.Name, d.Name)
				}
				if len(svc.Spec.Ports) != 2 || svc.Spec.Ports[0].Port != 80 || svc.Spec.Ports[0].TargetPort.String() != "http" {
					t.Errorf("service %s ports = %+v, want 80 to http and metrics", svc.Name, svc.Spec.Ports)
				}
			}
			if labels.SelectorFromSet(selectors[0]).Matches(labels.Set(selectors[1])) {
				t.Errorf("the units' router Deployments select each other's pods: %v, %v", selectors[0], selectors[1])
			}
			role := typed[rbacv1.Role](t, find(t, objs, "Role", "cafe-router"))
			for _, r := range role.Rules {
				for _, v := range r.Verbs {
					if !slices.Contains(readVerbs, v) {
						t.Errorf("without failover the router only reads, yet may %s %v", v, r.Resources)
					}
				}
			}
			for _, res := range []struct{ group, resource string }{{"traffic.cafe.dev", "shardmaps"}, {"traffic.cafe.dev", "routes"}, {"", "services"}, {"", "pods"}, {"discovery.k8s.io", "endpointslices"}} {
				if !grants(role.Rules, res.group, res.resource, readVerbs...) {
					t.Errorf("the router cannot watch %s.%s", res.resource, res.group)
				}
			}
			b := typed[rbacv1.RoleBinding](t, find(t, objs, "RoleBinding", "cafe-router"))
			if b.Subjects[0].Name != "cafe-router" || b.RoleRef.Name != "cafe-router" {
				t.Errorf("router binding = %+v %+v", b.RoleRef, b.Subjects)
			}
			find(t, objs, "ServiceAccount", "cafe-router")
			if has(objs, "Role", "cafe-router-failover-election") {
				t.Error("failover election Role rendered without failover")
			}
		},
	}, {
		name: "router with failover across namespaces", namespace: "cafe-system",
		values: "router: {enabled: true, units: [unit-a], failover: true, namespaces: [shop, bank]}",
		check: func(t *testing.T, objs []*unstructured.Unstructured) {
			c := container(t, typed[appsv1.Deployment](t, find(t, objs, "Deployment", "cafe-router-unit-a")), "router")
			for _, a := range []string{"--namespace=shop,bank", "--failover", "--lease-namespace=cafe-system"} {
				if !slices.Contains(c.Args, a) {
					t.Errorf("router args %v lack %s", c.Args, a)
				}
			}
			var roleNamespaces []string
			for _, o := range objs {
				if o.GetKind() == "Role" && o.GetName() == "cafe-router" {
					role := typed[rbacv1.Role](t, o)
					roleNamespaces = append(roleNamespaces, role.Namespace)
					for _, status := range []string{"shardmaps/status", "routes/status"} {
						if !grants(role.Rules, "traffic.cafe.dev", status, "update") {
							t.Errorf("the failover controller cannot update %s in %s", status, role.Namespace)
						}
					}
				}
			}
			sort.Strings(roleNamespaces)
			if !slices.Equal(roleNamespaces, []string{"bank", "shop"}) {
				t.Errorf("router Roles in %v, want one in each served namespace", roleNamespaces)
			}
			election := typed[rbacv1.Role](t, find(t, objs, "Role", "cafe-router-failover-election"))
			if election.Namespace != "cafe-system" || !grants(election.Rules, "coordination.k8s.io", "leases", "get", "create", "update") {
				t.Errorf("failover election Role in %q: %+v", election.Namespace, election.Rules)
			}
		},
	}, {
		name: "image, pull secrets, extra args and scheduling", namespace: "cafe-system",
		values: `image: {repository: registry.example/cafe-controller, tag: v9.9.9, pullPolicy: Always}
imagePullSecrets: [{name: regcred}]
extraArgs: ["--zap-log-level=debug"]
nodeSelector: {node-role.example/infra: "true"}
tolerations: [{key: infra, operator: Exists, effect: NoSchedule}]
affinity: {nodeAffinity: {requiredDuringSchedulingIgnoredDuringExecution: {nodeSelectorTerms: [{matchExpressions: [{key: zone, operator: In, values: [a]}]}]}}}
resources: {requests: {cpu: 500m, memory: 1Gi}, limits: {memory: 2Gi}}
`,
		check: func(t *testing.T, objs []*unstructured.Unstructured) {
			d := typed[appsv1.Deployment](t, find(t, objs, "Deployment", "cafe-controller"))
			pod := d.Spec.Template.Spec
			c := container(t, d, "controller")
			if c.Image != "registry.example/cafe-controller:v9.9.9" || c.ImagePullPolicy != corev1.PullAlways {
				t.Errorf("image = %q %q", c.Image, c.ImagePullPolicy)
			}
			if len(pod.ImagePullSecrets) != 1 || pod.ImagePullSecrets[0].Name != "regcred" {
				t.Errorf("imagePullSecrets = %v", pod.ImagePullSecrets)
			}
			if !slices.Contains(c.Args, "--zap-log-level=debug") {
				t.Errorf("args %v lack the extra argument", c.Args)
			}
			if pod.NodeSelector["node-role.example/infra"] != "true" || len(pod.Tolerations) != 1 || pod.Affinity == nil || pod.Affinity.NodeAffinity == nil {
				t.Errorf("scheduling values did not land: nodeSelector %v tolerations %v affinity %v", pod.NodeSelector, pod.Tolerations, pod.Affinity)
			}
			if c.Resources.Limits.Memory().String() != "2Gi" || c.Resources.Requests.Cpu().String() != "500m" {
				t.Errorf("resources = %+v", c.Resources)
			}
		},
	}, {
		name: "another release name", namespace: "payments", values: "",
		check: func(t *testing.T, objs []*unstructured.Unstructured) {
			d := typed[appsv1.Deployment](t, find(t, objs, "Deployment", "payments-cafe-controller"))
			if d.Spec.Template.Spec.ServiceAccountName != "payments-cafe-controller" {
				t.Errorf("serviceAccountName = %q", d.Spec.Template.Spec.ServiceAccountName)
			}
			find(t, objs, "ClusterRole", "payments-cafe-viewer")
			b := typed[rbacv1.ClusterRoleBinding](t, find(t, objs, "ClusterRoleBinding", "payments-cafe-controller"))
			if b.RoleRef.Name != "payments-cafe-controller" || b.Subjects[0].Name != "payments-cafe-controller" || b.Subjects[0].Namespace != "payments" {
				t.Errorf("binding = %+v %+v", b.RoleRef, b.Subjects)
			}
		},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			release := "cafe"
			if tt.name == "another release name" {
				release = "payments"
			}
			tt.check(t, mustRender(t, release, tt.namespace, tt.values))
		})
	}
}

// TestChartSchemaRejectsBadValues: a mistake in values fails `helm install`
// with a message naming the field, before anything reaches the cluster.
func TestChartSchemaRejectsBadValues(t *testing.T) {
	tests := []struct {
		values string
		want   []string // all must appear in the error
	}{
		{"replicas: 0", []string{"/replicas", "minimum"}},
		{"replicas: two", []string{"/replicas", "want integer"}},
		{"replicas: 1.5", []string{"/replicas", "want integer"}},
		{"image: {tag: 5}", []string{"/image/tag", "want string"}},
		{"image: {repository: ''}", []string{"/image/repository"}},
		{"image: {pullPolicy: Sometimes}", []string{"/image/pullPolicy"}},
		{"replica: 2", []string{"at ''", "additional properties 'replica' not allowed"}},
		{"resources: lots", []string{"/resources", "want object"}},
		{"resources: {request: {cpu: 1}}", []string{"/resources", "'request'"}},
		{"leaderElection: {enabled: false}", []string{"/replicas", "maximum"}},
		{"watchNamespace: Team_A", []string{"/watchNamespace"}},
		{"extraArgs: --debug", []string{"/extraArgs", "want array"}},
		{"nodeSelector: {zone: 1}", []string{"/nodeSelector/zone", "want string"}},
		{"router: {replicas: 0}", []string{"/router/replicas", "minimum"}},
		{"router: {enable: true}", []string{"/router", "'enable'"}},
		{"router: {enabled: true}", []string{"/router/units", "minItems"}},
		{"router: {units: [Unit_A]}", []string{"/router/units/0", "does not match pattern"}},
		{"router: {image: {tag: 2}}", []string{"/router/image/tag", "want string"}},
		{"router: {service: {port: 70000}}", []string{"/router/service/port", "maximum"}},
	}
	for _, tt := range tests {
		t.Run(tt.values, func(t *testing.T) {
			_, err := renderChart(t, "cafe", "cafe-system", tt.values)
			if err == nil {
				t.Fatalf("values %q were accepted", tt.values)
			}
			t.Logf("rejected with: %v", err)
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error does not mention %q:\n%v", w, err)
				}
			}
		})
	}
}

// TestChartDeclaresTheMinimumKubernetes: `helm install` refuses clusters
// older than 1.34, the version the tests run on (docs/install.md says why).
func TestChartDeclaresTheMinimumKubernetes(t *testing.T) {
	ch := loadChart(t)
	for version, want := range map[string]bool{"v1.30.0": false, "v1.33.5": false, "v1.34.0": true, "v1.34.2": true, "v1.34.1-eks-1234": true, "v1.35.0": true} {
		if got := chartutil.IsCompatibleRange(ch.Metadata.KubeVersion, version); got != want {
			t.Errorf("kubeVersion %q accepts %s = %v, want %v", ch.Metadata.KubeVersion, version, got, want)
		}
	}
	if ch.Metadata.APIVersion != chart.APIVersionV2 || ch.Metadata.Version != "0.1.0" || ch.Metadata.AppVersion != "v0.1.0" {
		t.Errorf("Chart.yaml: apiVersion %q version %q appVersion %q", ch.Metadata.APIVersion, ch.Metadata.Version, ch.Metadata.AppVersion)
	}
}

// TestChartCRDsAreTheGeneratedOnes: the chart installs exactly the CRDs of
// config/crd/bases (copied by hack/generate.sh).
func TestChartCRDsAreTheGeneratedOnes(t *testing.T) {
	var names []string
	for _, f := range loadChart(t).CRDObjects() {
		objs := parseManifests(t, f.File.Data)
		if len(objs) != 1 || objs[0].GetKind() != "CustomResourceDefinition" {
			t.Fatalf("%s is not one CRD", f.Filename)
		}
		names = append(names, objs[0].GetName())
	}
	sort.Strings(names)
	if want := crdNames(t); !slices.Equal(names, want) {
		t.Errorf("chart CRDs = %v, want %v (run hack/generate.sh)", names, want)
	}
}
