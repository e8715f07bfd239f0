//go:build integration

package cli

import (
	"context"
	"fmt"
	"strings"
	"testing"

	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	appsv1alpha1 "github.com/cafe-dev/cafe/api/apps/v1alpha1"
)

// grant lets user do verbs on resources in ns.
func grant(t *testing.T, ns, user string, rules ...rbacv1.PolicyRule) {
	t.Helper()
	role := &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Name: user, Namespace: ns}, Rules: rules}
	binding := &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: user, Namespace: ns},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: user},
		Subjects:   []rbacv1.Subject{{APIGroup: rbacv1.GroupName, Kind: "User", Name: user}},
	}
	if err := env.Client.Create(context.Background(), role); err != nil {
		t.Fatal(err)
	}
	if err := env.Client.Create(context.Background(), binding); err != nil {
		t.Fatal(err)
	}
}

var readCafe = rbacv1.PolicyRule{
	APIGroups: []string{appsv1alpha1.GroupVersion.Group, "", "apps"},
	Resources: []string{"cafedeployments", "inplacesets", "pods", "controllerrevisions"},
	Verbs:     []string{"get", "list", "watch"},
}

func TestErrorsSayWhatToDoNext(t *testing.T) {
	ns := env.Namespace(t)
	createCompleted(t, ns, workloadSpec(ns, 3, "pay:v1", betaStrategy))

	cases := []struct {
		args []string
		want string
	}{
		{[]string{"get", "pya"}, fmt.Sprintf(`no CafeDeployment named "pya" in namespace %q (kubectl cafe get -n %s lists them)`, ns, ns)},
		{[]string{"confirm", "pya"}, fmt.Sprintf(`no CafeDeployment named "pya" in namespace %q`, ns)},
		// Three pods over three units: the Beta batch is the whole release.
		{[]string{"confirm", "pay"}, "nothing to confirm: the release is Completed (batch 0/0)"},
		{[]string{"confirm", "pay", "--batch", "1"}, "nothing to confirm: the release is Completed (batch 0/0)"},
		{[]string{"abort", "pay"}, "nothing to abort: the release to revision pay-"},
		{[]string{"get", "pay", "-o", "wide"}, `unknown output format "wide": use -o yaml or -o json, or leave -o out for the table`},
		{[]string{"restart", "deployment/pay"}, "restart works on pods of CAFE workloads: kubectl cafe restart pod/NAME"},
		{[]string{"get", "pay", "--as", "mallory"}, "permission denied: you cannot get cafedeployments in namespace " + ns + "; ask for the cafe-viewer role (or view)"},
	}
	for _, c := range cases {
		out, err := cafe(t, ns, c.args...)
		if err == nil || !strings.HasPrefix(err.Error(), c.want) {
			t.Errorf("kubectl cafe %s: error %v, want %q\n%s", strings.Join(c.args, " "), err, c.want, out)
		}
	}
}

// A reader may look but not confirm or restart; an approver's confirmation
// carries their own name, as the API server authenticated them.
func TestPermissionsAndWhoConfirmed(t *testing.T) {
	ns := env.Namespace(t)
	createCompleted(t, ns, workloadSpec(ns, 6, "pay:v1", betaStrategy))
	setImage(t, ns, "pay:v2")
	waitSettled(t, ns)
	grant(t, ns, "reader", readCafe)
	grant(t, ns, "approver", readCafe, rbacv1.PolicyRule{APIGroups: []string{appsv1alpha1.GroupVersion.Group}, Resources: []string{"cafedeployments"}, Verbs: []string{"patch"}})

	if out := mustCafe(t, ns, "get", "pay", "--as", "reader"); !strings.Contains(out, "WaitingForConfirmation, batch 1 of 2") {
		t.Errorf("a reader's get:\n%s", out)
	}
	for args, want := range map[string]string{
		"confirm pay --as reader":              "permission denied: you cannot patch cafedeployments in namespace " + ns + "; ask for the cafe-approver role to confirm, or the cafe-operator role",
		"restart pod/pay-unit-a-0 --as reader": "permission denied: you cannot patch pods in namespace " + ns + "; ask for the edit role",
		"stop pod/pay-unit-a-0 --as approver":  "permission denied: you cannot patch inplacesets in namespace " + ns + "; ask for the cafe-operator role",
	} {
		if _, err := cafe(t, ns, strings.Fields(args)...); err == nil || err.Error() != want {
			t.Errorf("kubectl cafe %s: %v, want %q", args, err, want)
		}
	}

	mustCafe(t, ns, "confirm", "pay", "--batch", "1", "--as", "approver")
	cd := waitSettled(t, ns)
	if who := cd.Annotations[appsv1alpha1.ConfirmedByAnnotation]; who != "approver" {
		t.Errorf("confirmed-by %q, want approver", who)
	}
	if b := cd.Status.Release.Batches; len(b) < 2 || b[1].ConfirmedBy != "approver" {
		t.Errorf("batch records %+v, want batch 1 confirmed by approver", b)
	}
}
