//go:build integration

package install

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	appsv1alpha1 "github.com/cafe-dev/cafe/api/apps/v1alpha1"
	"github.com/cafe-dev/cafe/internal/testenv"
)

// outOfApproverScope changes each field of spec and spec.strategy that an
// approver must not change, by path, to a value the schema accepts (but for
// the immutable selector, which the schema itself refuses to anyone).
var outOfApproverScope = map[string]struct {
	patch     map[string]any
	immutable bool
}{
	"spec.replicas":                         {patch: spec(map[string]any{"replicas": 6})},
	"spec.selector":                         {patch: spec(map[string]any{"selector": map[string]any{"matchLabels": map[string]any{"app": "pay", "tier": "x"}}}), immutable: true},
	"spec.template":                         {patch: spec(map[string]any{"template": map[string]any{"spec": map[string]any{"containers": []any{map[string]any{"name": "app", "image": "pay:evil"}}}}})},
	"spec.volumeClaimTemplates":             {patch: spec(map[string]any{"volumeClaimTemplates": []any{map[string]any{"name": "data", "spec": map[string]any{"accessModes": []any{"ReadWriteOnce"}, "resources": map[string]any{"requests": map[string]any{"storage": "1Gi"}}}}}})},
	"spec.revisionHistoryLimit":             {patch: spec(map[string]any{"revisionHistoryLimit": 1})},
	"spec.topology":                         {patch: spec(map[string]any{"topology": map[string]any{"units": []any{map[string]any{"name": "unit-a"}, map[string]any{"name": "unit-b"}}}})},
	"spec.strategy.type":                    {patch: strategy("type", "Beta")},
	"spec.strategy.batchSize":               {patch: strategy("batchSize", 1)},
	"spec.strategy.needConfirm":             {patch: strategy("needConfirm", true)},
	"spec.strategy.minReadySeconds":         {patch: strategy("minReadySeconds", 5)},
	"spec.strategy.maxUnavailablePerUnit":   {patch: strategy("maxUnavailablePerUnit", "50%")},
	"spec.strategy.allowUnitOutage":         {patch: strategy("allowUnitOutage", true)},
	"spec.strategy.progressDeadlineSeconds": {patch: strategy("progressDeadlineSeconds", 60)},
	"spec.strategy.failureThreshold":        {patch: strategy("failureThreshold", 3)},
	"spec.strategy.upgradePolicy":           {patch: strategy("upgradePolicy", "Recreate")},
	"spec.strategy.trafficHandoff":          {patch: strategy("trafficHandoff", map[string]any{"drainSeconds": 0})},
	"metadata.labels":                       {patch: map[string]any{"metadata": map[string]any{"labels": map[string]any{"team": "x"}}}},
	"metadata.annotations[note]":            {patch: map[string]any{"metadata": map[string]any{"annotations": map[string]any{"note": "x"}}}},
}

func spec(fields map[string]any) map[string]any { return map[string]any{"spec": fields} }

func strategy(field string, value any) map[string]any {
	return spec(map[string]any{"strategy": map[string]any{field: value}})
}

// TestApproverChangesOnlyTheRelease installs the roles and admission
// policies as config/ has them. A user bound to cafe-approver alone may
// confirm, pause, resume and abort, and is refused every other change with
// the field named; a user who is also an operator may make them. A field of
// the spec or its strategy missing from outOfApproverScope fails the test,
// so a new field cannot slip past the policy.
func TestApproverChangesOnlyTheRelease(t *testing.T) {
	var want []string
	for _, f := range jsonFields(reflect.TypeFor[appsv1alpha1.CafeDeploymentSpec]()) {
		if f != "release" && f != "strategy" {
			want = append(want, "spec."+f)
		}
	}
	for _, f := range jsonFields(reflect.TypeFor[appsv1alpha1.CafeDeploymentStrategy]()) {
		if f != "paused" {
			want = append(want, "spec.strategy."+f)
		}
	}
	var covered []string
	for k := range maps.Keys(outOfApproverScope) {
		if strings.HasPrefix(k, "spec.") {
			covered = append(covered, k)
		}
	}
	slices.Sort(want)
	if slices.Sort(covered); !slices.Equal(want, covered) {
		t.Fatalf("the spec has fields %v, outOfApproverScope covers %v: add the new field here and to config/admission/approver-scope.yaml", want, covered)
	}

	applyCRDs(t)
	kubectl(t, nil, "apply", "--server-side", "--force-conflicts", "-k", "config/admission")
	// The chart installs these roles in later tests; Helm adopts none it did
	// not create.
	t.Cleanup(func() { kubectl(t, nil, "delete", "--ignore-not-found", "-k", "config/rbac/users") })
	kubectl(t, nil, "apply", "--server-side", "--force-conflicts", "-k", "config/rbac/users")
	ctx := context.Background()
	ns := env.Namespace(t)
	createUnmanaged(t, payWorkload(ns, 3, "pay:v1"))
	bind := func(user, role string) {
		rb := &rbacv1.RoleBinding{
			ObjectMeta: metav1.ObjectMeta{Name: user + "-" + role, Namespace: ns},
			Subjects:   []rbacv1.Subject{{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: user}},
			RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: role},
		}
		if err := env.Client.Create(ctx, rb); err != nil {
			t.Fatal(err)
		}
	}
	bind("alice", "cafe-approver")
	bind("bob", "cafe-approver")
	bind("bob", "cafe-operator")
	as := func(user string) func(patch map[string]any) error {
		cfg := rest.CopyConfig(env.Config)
		cfg.Impersonate = rest.ImpersonationConfig{UserName: user}
		return workloadPatcher(t, cfg, ns)
	}
	alice, bob := as("alice"), as("bob")

	// A policy and bindings just applied take a moment to be enforced: wait
	// for the policy's refusal, not RBAC's, and for the operator's binding.
	template := outOfApproverScope["spec.template"].patch
	testenv.Eventually(t, time.Minute, "the policy to refuse the approver's template change", func() (bool, string) {
		err := alice(template)
		return apierrors.IsForbidden(err) && strings.Contains(err.Error(), "cafe-approver-scope"), fmt.Sprint(err)
	})
	testenv.Eventually(t, time.Minute, "the operator's template change to be accepted", func() (bool, string) {
		err := bob(template)
		return err == nil, fmt.Sprint(err)
	})
	for _, field := range slices.Sorted(maps.Keys(outOfApproverScope)) {
		change := outOfApproverScope[field]
		err := alice(change.patch)
		switch {
		case err == nil:
			t.Errorf("the approver changed %s", field)
		case change.immutable:
			if !apierrors.IsInvalid(err) {
				t.Errorf("the approver's change of immutable %s: %v, want the schema's refusal", field, err)
			}
		case !apierrors.IsForbidden(err) || !strings.Contains(err.Error(), "not "+field):
			t.Errorf("the approver's change of %s: %v, want cafe-approver-scope's refusal naming the field", field, err)
		}
		if change.immutable {
			continue
		}
		if err := bob(change.patch); err != nil {
			t.Errorf("an approver who is also an operator could not change %s: %v", field, err)
		}
	}

	named := func(fields map[string]any) map[string]any {
		return map[string]any{
			"metadata": map[string]any{"annotations": map[string]any{appsv1alpha1.ConfirmedByAnnotation: "alice"}},
			"spec":     fields,
		}
	}
	for what, patch := range map[string]map[string]any{
		"confirm":           named(map[string]any{"release": map[string]any{"confirm": map[string]any{"revision": "pay-5d4f8b7c9", "batch": 1}}}),
		"abort":             named(map[string]any{"release": map[string]any{"abort": true}}),
		"immediateRevision": named(map[string]any{"release": map[string]any{"immediateRevision": "pay-5d4f8b7c9"}}),
		"pause":             strategy("paused", true),
	} {
		if err := alice(patch); err != nil {
			t.Errorf("the approver may %s, was refused: %v", what, err)
		}
	}
	// Resume, as kubectl cafe resume writes it, of a paused and aborted
	// release (set by the admin, who is cafe-admin).
	pausedAndAborted, err := json.Marshal(map[string]any{
		"metadata": map[string]any{"annotations": map[string]any{appsv1alpha1.ConfirmedByAnnotation: "cafe-admin"}},
		"spec":     map[string]any{"strategy": map[string]any{"paused": true}, "release": map[string]any{"abort": true}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := env.Client.Patch(ctx, &appsv1alpha1.CafeDeployment{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "pay"}},
		client.RawPatch(types.MergePatchType, pausedAndAborted)); err != nil {
		t.Fatal(err)
	}
	if err := alice(named(map[string]any{"strategy": map[string]any{"paused": false}, "release": map[string]any{"abort": false}})); err != nil {
		t.Errorf("the approver may resume, was refused: %v", err)
	}
}

// jsonFields are the JSON names of a struct type's fields.
func jsonFields(typ reflect.Type) []string {
	var names []string
	for i := range typ.NumField() {
		names = append(names, strings.Split(typ.Field(i).Tag.Get("json"), ",")[0])
	}
	return names
}
