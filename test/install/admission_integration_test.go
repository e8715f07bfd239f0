//go:build integration

package install

import (
	"context"
	"encoding/json"
	"maps"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"

	appsv1alpha1 "github.com/cafe-dev/cafe/api/apps/v1alpha1"
	"github.com/cafe-dev/cafe/internal/testenv"
)

// releaseDecisions set each field of spec.release, by JSON name, to a
// valid value: every one is a release decision.
var releaseDecisions = map[string]any{
	"confirm":           map[string]any{"revision": "pay-5d4f8b7c9", "batch": 1},
	"abort":             true,
	"immediateRevision": "pay-5d4f8b7c9",
}

// TestReleaseApproverGuardsEveryReleaseControl installs the admission
// policies as config/ has them and checks that setting any field of
// spec.release without naming oneself in apps.cafe.dev/confirmed-by is
// refused, and allowed when named. A field of ReleaseControls missing from
// releaseDecisions fails the test, so a new or renamed control cannot slip
// past the policy (immediateRevision once did).
func TestReleaseApproverGuardsEveryReleaseControl(t *testing.T) {
	fields := jsonFields(reflect.TypeFor[appsv1alpha1.ReleaseControls]())
	sort.Strings(fields)
	if keys := slices.Sorted(maps.Keys(releaseDecisions)); !slices.Equal(keys, fields) {
		t.Fatalf("spec.release has fields %v, releaseDecisions covers %v: add the new control here", fields, keys)
	}

	applyCRDs(t)
	kubectl(t, nil, "apply", "--server-side", "--force-conflicts", "-k", "config/admission")
	ns := env.Namespace(t)
	createUnmanaged(t, payWorkload(ns, 3, "pay:v1"))
	patchPay := workloadPatcher(t, env.Config, ns)
	decide := func(field string, by string) error {
		patch := map[string]any{"spec": map[string]any{"release": map[string]any{field: releaseDecisions[field]}}}
		if by != "" {
			patch["metadata"] = map[string]any{"annotations": map[string]any{appsv1alpha1.ConfirmedByAnnotation: by}}
		}
		return patchPay(patch)
	}
	for _, field := range fields {
		var err error
		// A policy just applied takes a moment to be enforced.
		testenv.Eventually(t, time.Minute, "an unnamed spec.release."+field+" to be refused", func() (bool, string) {
			err = decide(field, "")
			return err != nil, "accepted"
		})
		if !apierrors.IsForbidden(err) || !strings.Contains(err.Error(), appsv1alpha1.ConfirmedByAnnotation) {
			t.Errorf("an unnamed spec.release.%s: %v, want the release-approver policy's refusal", field, err)
		}
		if err := decide(field, "cafe-admin"); err != nil {
			t.Errorf("spec.release.%s in the user's own name was refused: %v", field, err)
		}
	}

	// The name alone, with spec.release left as it is: the next batch to
	// start would record it, so it too may name only the writer.
	annotate := func(by any) error {
		return patchPay(map[string]any{"metadata": map[string]any{"annotations": map[string]any{appsv1alpha1.ConfirmedByAnnotation: by}}})
	}
	if err := annotate("carol"); !apierrors.IsForbidden(err) || !strings.Contains(err.Error(), "may name only you (cafe-admin), not carol") {
		t.Errorf("naming someone else in %s alone: %v, want the release-approver policy's refusal", appsv1alpha1.ConfirmedByAnnotation, err)
	}
	for _, by := range []any{"cafe-admin", nil} {
		if err := annotate(by); err != nil {
			t.Errorf("setting %s to %v alone was refused: %v", appsv1alpha1.ConfirmedByAnnotation, by, err)
		}
	}
}

// workloadPatcher returns a function that sends a merge patch of the
// CafeDeployment "pay" in ns, dry-run (admission decides, nothing is
// stored), as cfg's user.
func workloadPatcher(t *testing.T, cfg *rest.Config, ns string) func(patch map[string]any) error {
	t.Helper()
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return func(patch map[string]any) error {
		data, err := json.Marshal(patch)
		if err != nil {
			t.Fatal(err)
		}
		_, err = dyn.Resource(cafeDeployments).Namespace(ns).Patch(context.Background(), "pay", types.MergePatchType, data,
			metav1.PatchOptions{DryRun: []string{metav1.DryRunAll}})
		return err
	}
}
