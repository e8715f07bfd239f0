//go:build integration

package install

import (
	"context"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	appsv1alpha1 "github.com/cafe-dev/cafe/api/apps/v1alpha1"
	"github.com/cafe-dev/cafe/internal/manager"
	"github.com/cafe-dev/cafe/internal/testenv"
)

// unusedOnPurpose are granted verbs the release in
// TestControllerRoleGrantsOnlyVerbsItUses may not reach (the events patch
// depends on timing), each with the path that needs it. Keys are
// "verb group/resource" (core group "").
var unusedOnPurpose = map[string]string{
	"get /pods":     "InPlaceSet: a pod create the cache has not shown for a while is read from the API server (expectationsMet)",
	"list /nodes":   "CafeDeployment auto-reschedule: a unit's free capacity, read while one of its pods is unschedulable (observeCapacity)",
	"patch /events": "the event recorder patches the count of an event repeated within ten minutes",
}

// TestControllerRoleGrantsOnlyVerbsItUses runs CAFE's controllers as the
// installed service account with config/rbac and leader election, records
// every API request they make through a release (create, a batched
// upgrade, a rollback, a scale-in, a scale-out that drops a unit and widens
// the budgets), the creation of a workload with per-slot volume claims, and
// the hand-over of the Lease on stop, and fails on a
// refused request and on a verb the ClusterRole (config/rbac/role.yaml) or
// the leader-election Role grants that nothing used and unusedOnPurpose
// does not list.
func TestControllerRoleGrantsOnlyVerbsItUses(t *testing.T) {
	kubectl(t, nil, "apply", "--server-side", "-f", "config/default/namespace.yaml")
	applyCRDs(t)
	kubectl(t, nil, "apply", "--server-side", "-k", "config/rbac")

	requests := &requestLog{used: map[string]bool{}}
	cfg := serviceAccountConfig(t, "cafe-system", "cafe-controller")
	cfg.Wrap(requests.wrap)
	stop := runControllersInProcess(t, cfg, manager.Options{LeaderElection: true, LeaderElectionNamespace: "cafe-system"})

	ctx := context.Background()
	ns := env.Namespace(t)
	if err := env.Client.Create(ctx, payWorkload(ns, 6, "pay:v1")); err != nil {
		t.Fatal(err)
	}
	waitReleased(t, ns, "pay")
	updateWorkload(t, ns, func(cd *appsv1alpha1.CafeDeployment) {
		cd.Spec.Template.Spec.Containers[0].Image = "pay:v2"
	})
	waitReleased(t, ns, "pay")
	updateWorkload(t, ns, func(cd *appsv1alpha1.CafeDeployment) { // rollback
		cd.Spec.Template.Spec.Containers[0].Image = "pay:v1"
	})
	waitReleased(t, ns, "pay")
	updateWorkload(t, ns, func(cd *appsv1alpha1.CafeDeployment) { cd.Spec.Replicas = ptr.To[int32](4) })
	waitReleased(t, ns, "pay")
	updateWorkload(t, ns, func(cd *appsv1alpha1.CafeDeployment) {
		cd.Spec.Replicas = ptr.To[int32](6)
		cd.Spec.Topology.Units = cd.Spec.Topology.Units[:2]
		cd.Spec.Strategy.MaxUnavailablePerUnit = ptr.To(intstr.FromInt32(2))
	})
	waitReleased(t, ns, "pay")
	waitNoneLeft(t, ns, "inplacesets.apps.cafe.dev,poddisruptionbudgets,pods", "apps.cafe.dev/unit=unit-c")
	// Per-slot volume claims: no volume is offered, so the claims stay
	// unbound and their pods Pending; the claims are what this needs.
	withClaims := payWorkload(env.Namespace(t), 3, "pay:v1")
	withClaims.Spec.VolumeClaimTemplates = []appsv1alpha1.VolumeClaimTemplate{{Name: "data", Spec: corev1.PersistentVolumeClaimSpec{
		AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
		Resources:   corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")}},
	}}}
	if err := env.Client.Create(ctx, withClaims); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, time.Minute, "a claim for every slot", func() (bool, string) {
		var claims corev1.PersistentVolumeClaimList
		if err := env.Client.List(ctx, &claims, client.InNamespace(withClaims.Namespace)); err != nil {
			return false, err.Error()
		}
		return len(claims.Items) == 3, fmt.Sprintf("%d claims", len(claims.Items))
	})
	stop()

	used, refused := requests.results()
	t.Logf("verbs used: %s", strings.Join(used, ", "))
	for _, r := range refused {
		t.Errorf("refused by RBAC: %s", r)
	}
	usedSet := map[string]bool{}
	for _, u := range used {
		usedSet[u] = true
	}
	var leaderElection rbacv1.Role
	readYAML(t, repoPath("config", "rbac", "leader_election_role.yaml"), &leaderElection)
	granted := map[string]bool{}
	for file, rules := range map[string][]rbacv1.PolicyRule{
		"config/rbac/role.yaml":                 generatedRules(t),
		"config/rbac/leader_election_role.yaml": leaderElection.Rules,
	} {
		for _, rule := range rules {
			for _, group := range rule.APIGroups {
				for _, resource := range rule.Resources {
					for _, verb := range rule.Verbs {
						key := verb + " " + group + "/" + resource
						granted[key] = true
						if !usedSet[key] && unusedOnPurpose[key] == "" {
							t.Errorf("%s grants %q, which the controller never used: drop it or say why in unusedOnPurpose", file, key)
						}
					}
				}
			}
		}
	}
	for key := range unusedOnPurpose {
		if !granted[key] {
			t.Errorf("unusedOnPurpose lists %q, which the role no longer grants: remove it", key)
		}
	}
}

func updateWorkload(t *testing.T, namespace string, change func(*appsv1alpha1.CafeDeployment)) {
	t.Helper()
	var cd appsv1alpha1.CafeDeployment
	if err := env.Client.Get(context.Background(), client.ObjectKey{Namespace: namespace, Name: "pay"}, &cd); err != nil {
		t.Fatal(err)
	}
	change(&cd)
	if err := env.Client.Update(context.Background(), &cd); err != nil {
		t.Fatal(err)
	}
}

// requestLog records the RBAC verb and resource of each API request a
// client makes, as the API server's authorizer sees them.
type requestLog struct {
	mu      sync.Mutex
	used    map[string]bool
	refused []string
}

func (l *requestLog) wrap(rt http.RoundTripper) http.RoundTripper {
	return roundTripperFunc(func(req *http.Request) (*http.Response, error) {
		resp, err := rt.RoundTrip(req)
		if key, ok := authorizationKey(req); ok {
			l.mu.Lock()
			l.used[key] = true
			if err == nil && resp.StatusCode == http.StatusForbidden {
				l.refused = append(l.refused, key+" "+req.URL.Path)
			}
			l.mu.Unlock()
		}
		return resp, err
	})
}

// results are the verbs used, sorted, and the refused requests.
func (l *requestLog) results() (used, refused []string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for k := range l.used {
		used = append(used, k)
	}
	sort.Strings(used)
	return used, append([]string(nil), l.refused...)
}

type roundTripperFunc func(*http.Request) (*http.Response, error)

func (f roundTripperFunc) RoundTrip(req *http.Request) (*http.Response, error) { return f(req) }

// authorizationKey is "verb group/resource[/subresource]" of a resource
// request, as RBAC names it; discovery and other non-resource requests have
// none.
func authorizationKey(req *http.Request) (string, bool) {
	parts := strings.Split(strings.Trim(req.URL.Path, "/"), "/")
	var group string
	switch {
	case len(parts) >= 3 && parts[0] == "api":
		parts = parts[2:] // api, v1
	case len(parts) >= 4 && parts[0] == "apis":
		group, parts = parts[1], parts[3:] // apis, group, version
	default:
		return "", false
	}
	if len(parts) >= 3 && parts[0] == "namespaces" {
		parts = parts[2:] // a namespaced resource, not the namespace itself
	}
	resource, named := parts[0], len(parts) >= 2
	if len(parts) >= 3 {
		resource += "/" + parts[2]
	}
	var verb string
	switch req.Method {
	case http.MethodGet:
		switch {
		case req.URL.Query().Get("watch") == "true" || req.URL.Query().Get("watch") == "1":
			verb = "watch"
		case named:
			verb = "get"
		default:
			verb = "list"
		}
	case http.MethodPost:
		verb = "create"
	case http.MethodPut:
		verb = "update"
	case http.MethodPatch:
		verb = "patch"
	case http.MethodDelete:
		verb = "delete"
		if !named {
			verb = "deletecollection"
		}
	default:
		return "", false
	}
	return verb + " " + group + "/" + resource, true
}
