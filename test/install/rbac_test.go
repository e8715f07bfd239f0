package install

import (
	"maps"
	"slices"
	"strings"
	"testing"

	rbacv1 "k8s.io/api/rbac/v1"
)

// userRoles reads the ClusterRoles for people from config/rbac/users.
func userRoles(t *testing.T) map[string]*rbacv1.ClusterRole {
	t.Helper()
	roles := map[string]*rbacv1.ClusterRole{}
	for _, o := range kustomize(t, repoPath("config", "rbac", "users")) {
		roles[o.GetName()] = typed[rbacv1.ClusterRole](t, o)
	}
	return roles
}

// crdGroups are the API groups of every CRD in config/crd/bases.
func crdGroups(t *testing.T) []string {
	groups := map[string]bool{}
	for _, crd := range generatedCRDs(t) {
		groups[crd.Spec.Group] = true
	}
	return slices.Sorted(maps.Keys(groups))
}

var readVerbs = []string{"get", "list", "watch"}

func TestViewerReadsEveryCafeKindAndWritesNothing(t *testing.T) {
	viewer := userRoles(t)["cafe-viewer"]
	if viewer == nil {
		t.Fatal("no cafe-viewer ClusterRole")
	}
	if viewer.Labels["rbac.authorization.k8s.io/aggregate-to-view"] != "true" {
		t.Error("cafe-viewer does not aggregate into the built-in view role")
	}
	for _, group := range crdGroups(t) {
		if !grants(viewer.Rules, group, "*", readVerbs...) {
			t.Errorf("cafe-viewer cannot read every kind of group %s (a new API group must be added to config/rbac/users)", group)
		}
	}
	for _, r := range viewer.Rules {
		for _, v := range r.Verbs {
			if !slices.Contains(readVerbs, v) {
				t.Errorf("cafe-viewer may %s %v", v, r.Resources)
			}
		}
	}
}

func TestOperatorChangesEveryCafeKind(t *testing.T) {
	operator := userRoles(t)["cafe-operator"]
	if operator == nil {
		t.Fatal("no cafe-operator ClusterRole")
	}
	if operator.Labels["rbac.authorization.k8s.io/aggregate-to-edit"] != "true" {
		t.Error("cafe-operator does not aggregate into the built-in edit role")
	}
	for _, group := range crdGroups(t) {
		if !grants(operator.Rules, group, "*", append(readVerbs, "create", "update", "patch", "delete")...) {
			t.Errorf("cafe-operator cannot manage every kind of group %s (a new API group must be added to config/rbac/users)", group)
		}
	}
}

// TestApproverOnlyConfirms: an approver reads and patches CafeDeployments
// (the confirmation) but can neither create nor delete anything, and is not
// granted through a built-in role.
func TestApproverOnlyConfirms(t *testing.T) {
	approver := userRoles(t)["cafe-approver"]
	if approver == nil {
		t.Fatal("no cafe-approver ClusterRole")
	}
	for k := range approver.Labels {
		if strings.HasPrefix(k, "rbac.authorization.k8s.io/aggregate-to-") {
			t.Errorf("cafe-approver aggregates into a built-in role (%s): approval must be granted explicitly", k)
		}
	}
	if !grants(approver.Rules, "apps.cafe.dev", "cafedeployments", readVerbs...) || !grants(approver.Rules, "apps.cafe.dev", "cafedeployments", "patch") {
		t.Errorf("cafe-approver cannot read and patch CafeDeployments: %+v", approver.Rules)
	}
	// The marker the admission policy cafe-approver-scope restricts by.
	if !grants(approver.Rules, "apps.cafe.dev", "cafedeployments", "approve") {
		t.Errorf("cafe-approver lacks the verb approve on CafeDeployments, so cafe-approver-scope would not restrict it: %+v", approver.Rules)
	}
	for _, r := range approver.Rules {
		for _, v := range r.Verbs {
			if v == "create" || v == "delete" || v == "deletecollection" || v == "update" || v == "*" {
				t.Errorf("cafe-approver may %s %v", v, r.Resources)
			}
			if v == "patch" && !slices.Equal(r.Resources, []string{"cafedeployments"}) {
				t.Errorf("cafe-approver may patch %v, want only cafedeployments", r.Resources)
			}
		}
	}
	// The rule must name a real resource: the CafeDeployment CRD's plural.
	found := false
	for _, crd := range generatedCRDs(t) {
		found = found || (crd.Spec.Group == "apps.cafe.dev" && crd.Spec.Names.Plural == "cafedeployments")
	}
	if !found {
		t.Error("no CRD in config/crd/bases serves apps.cafe.dev/cafedeployments, which cafe-approver names")
	}
}
