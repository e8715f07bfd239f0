//go:build integration

// Package validation checks, against a real API server, that bad
// CafeDeployment and InPlaceSet specs are refused at apply with a message
// naming the field.
package validation

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	autoscalingv1 "k8s.io/api/autoscaling/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	appsv1alpha1 "github.com/cafe-dev/cafe/api/apps/v1alpha1"
	"github.com/cafe-dev/cafe/internal/testenv"
)

var env *testenv.Env

func TestMain(m *testing.M) {
	testenv.Main(m, testenv.Options{InstallCRDs: true, NodesPerUnit: 1}, &env)
}

func valid(ns string) *appsv1alpha1.CafeDeployment {
	labels := map[string]string{"app": "pay"}
	return &appsv1alpha1.CafeDeployment{
		ObjectMeta: metav1.ObjectMeta{GenerateName: "pay-", Namespace: ns},
		Spec: appsv1alpha1.CafeDeploymentSpec{
			Replicas: ptr.To[int32](6),
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Topology: appsv1alpha1.Topology{Units: []appsv1alpha1.UnitSpec{{Name: "unit-a"}, {Name: "unit-b"}}},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "pay:v1"}}},
			},
		},
	}
}

func amount(v intstr.IntOrString) *intstr.IntOrString { return &v }

func TestBadCafeDeploymentSpecsAreRefusedNamingTheField(t *testing.T) {
	ns := env.Namespace(t)
	waitForSelectorPolicy(t, ns)
	cases := []struct {
		name   string
		mutate func(*appsv1alpha1.CafeDeployment)
		// field must appear in the refusal, and so must every hint.
		field string
		hints []string
	}{
		{"batch size 0", func(c *appsv1alpha1.CafeDeployment) { c.Spec.Strategy.BatchSize = amount(intstr.FromInt32(0)) }, "spec.strategy.batchSize", nil},
		{"batch size over 100%", func(c *appsv1alpha1.CafeDeployment) { c.Spec.Strategy.BatchSize = amount(intstr.FromString("150%")) }, "spec.strategy.batchSize", nil},
		{"batch size 0%", func(c *appsv1alpha1.CafeDeployment) { c.Spec.Strategy.BatchSize = amount(intstr.FromString("0%")) }, "spec.strategy.batchSize", nil},
		{"unit percentage over 100", func(c *appsv1alpha1.CafeDeployment) {
			c.Spec.Topology.Units[0].Replicas = amount(intstr.FromString("120%"))
		}, "spec.topology.units", nil},
		{"unit percentages add up to more than 100", func(c *appsv1alpha1.CafeDeployment) {
			c.Spec.Topology.Units[0].Replicas = amount(intstr.FromString("60%"))
			c.Spec.Topology.Units[1].Replicas = amount(intstr.FromString("60%"))
		}, "spec.topology", []string{"100"}},
		{"unit quotas add up to more than replicas", func(c *appsv1alpha1.CafeDeployment) {
			c.Spec.Topology.Units[0].Replicas = amount(intstr.FromInt32(5))
			c.Spec.Topology.Units[1].Replicas = amount(intstr.FromInt32(5))
		}, "spec", []string{"replicas"}},
		{"no units", func(c *appsv1alpha1.CafeDeployment) { c.Spec.Topology.Units = nil }, "spec.topology.units", nil},
		{"duplicate unit", func(c *appsv1alpha1.CafeDeployment) { c.Spec.Topology.Units[1].Name = "unit-a" }, "spec.topology.units", nil},
		{"bad unit name", func(c *appsv1alpha1.CafeDeployment) { c.Spec.Topology.Units[1].Name = "Unit B" }, "spec.topology.units[1].name", nil},
		{"negative replicas", func(c *appsv1alpha1.CafeDeployment) { c.Spec.Replicas = ptr.To[int32](-1) }, "spec.replicas", nil},
		{"negative unit count", func(c *appsv1alpha1.CafeDeployment) { c.Spec.Topology.Units[0].Replicas = amount(intstr.FromInt32(-2)) }, "spec.topology.units", nil},
		{"negative minReadySeconds", func(c *appsv1alpha1.CafeDeployment) { c.Spec.Strategy.MinReadySeconds = -5 }, "spec.strategy.minReadySeconds", nil},
		{"negative drain", func(c *appsv1alpha1.CafeDeployment) { c.Spec.Strategy.TrafficHandoff.DrainSeconds = ptr.To[int32](-1) }, "spec.strategy.trafficHandoff.drainSeconds", nil},
		{"zero progress deadline", func(c *appsv1alpha1.CafeDeployment) { c.Spec.Strategy.ProgressDeadlineSeconds = ptr.To[int32](0) }, "spec.strategy.progressDeadlineSeconds", nil},
		{"maxUnavailablePerUnit 0%", func(c *appsv1alpha1.CafeDeployment) {
			c.Spec.Strategy.MaxUnavailablePerUnit = amount(intstr.FromString("0%"))
		}, "spec.strategy.maxUnavailablePerUnit", nil},
		{"failure threshold 0", func(c *appsv1alpha1.CafeDeployment) { c.Spec.Strategy.FailureThreshold = amount(intstr.FromInt32(0)) }, "spec.strategy.failureThreshold", nil},
		{"unknown strategy type", func(c *appsv1alpha1.CafeDeployment) { c.Spec.Strategy.Type = "Canary" }, "spec.strategy.type", nil},
		{"unknown upgrade policy", func(c *appsv1alpha1.CafeDeployment) { c.Spec.Strategy.UpgradePolicy = "Sometimes" }, "spec.strategy.upgradePolicy", nil},
		{"selector does not match the template", func(c *appsv1alpha1.CafeDeployment) {
			c.Spec.Selector = &metav1.LabelSelector{MatchLabels: map[string]string{"tier": "db"}}
		}, "spec.selector", nil},
		{"selector value differs from the template's", func(c *appsv1alpha1.CafeDeployment) {
			c.Spec.Selector = &metav1.LabelSelector{MatchLabels: map[string]string{"app": "other"}}
		}, "spec.selector.matchLabels", []string{"app=other"}},
		{"selector expression the template does not satisfy", func(c *appsv1alpha1.CafeDeployment) {
			c.Spec.Selector.MatchExpressions = []metav1.LabelSelectorRequirement{{Key: "tier", Operator: metav1.LabelSelectorOpIn, Values: []string{"web"}}}
		}, "spec.selector.matchExpressions", []string{"tier In"}},
		{"selector expression excluding a template label", func(c *appsv1alpha1.CafeDeployment) {
			c.Spec.Selector.MatchExpressions = []metav1.LabelSelectorRequirement{{Key: "app", Operator: metav1.LabelSelectorOpDoesNotExist}}
		}, "spec.selector.matchExpressions", []string{"app DoesNotExist"}},
		{"empty selector", func(c *appsv1alpha1.CafeDeployment) { c.Spec.Selector = &metav1.LabelSelector{} }, "spec.selector", nil},
		{"restart policy Never", func(c *appsv1alpha1.CafeDeployment) { c.Spec.Template.Spec.RestartPolicy = corev1.RestartPolicyNever }, "spec.template.spec.restartPolicy", nil},
		{"negative history limit", func(c *appsv1alpha1.CafeDeployment) { c.Spec.RevisionHistoryLimit = ptr.To[int32](-1) }, "spec.revisionHistoryLimit", nil},
		{"negative pending seconds", func(c *appsv1alpha1.CafeDeployment) {
			c.Spec.Topology.AutoReschedule = &appsv1alpha1.AutoReschedule{Enabled: true, PendingSeconds: ptr.To[int32](-3)}
		}, "spec.topology.autoReschedule.pendingSeconds", nil},
		{"a volume claim template with a bad name", func(c *appsv1alpha1.CafeDeployment) {
			c.Spec.VolumeClaimTemplates = []appsv1alpha1.VolumeClaimTemplate{{Name: "Data", Spec: claimSpec("1Gi")}}
		}, "spec.volumeClaimTemplates[0].name", nil},
		{"confirmation of a negative batch", func(c *appsv1alpha1.CafeDeployment) {
			c.Spec.Release.Confirm = &appsv1alpha1.ReleaseConfirmation{Revision: "pay-abc", Batch: -1}
		}, "spec.release.confirm.batch", nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cd := valid(ns)
			tc.mutate(cd)
			err := env.Client.Create(context.Background(), cd, client.DryRunAll)
			if err == nil {
				t.Fatalf("accepted a bad spec (%s)", tc.name)
			}
			msg := err.Error()
			if !strings.Contains(msg, tc.field) {
				t.Errorf("refusal does not name %s:\n%s", tc.field, msg)
			}
			for _, h := range tc.hints {
				if !strings.Contains(msg, h) {
					t.Errorf("refusal does not mention %q:\n%s", h, msg)
				}
			}
		})
	}
	// The good spec itself is accepted, so the refusals above are about
	// the one field each case broke; so is a selector whose every kind of
	// expression the template satisfies.
	if err := env.Client.Create(context.Background(), valid(ns), client.DryRunAll); err != nil {
		t.Fatalf("the valid spec was refused: %v", err)
	}
	expressions := valid(ns)
	expressions.Spec.Selector.MatchExpressions = []metav1.LabelSelectorRequirement{
		{Key: "app", Operator: metav1.LabelSelectorOpIn, Values: []string{"web", "pay"}},
		{Key: "app", Operator: metav1.LabelSelectorOpNotIn, Values: []string{"db"}},
		{Key: "app", Operator: metav1.LabelSelectorOpExists},
		{Key: "tier", Operator: metav1.LabelSelectorOpNotIn, Values: []string{"db"}},
		{Key: "tier", Operator: metav1.LabelSelectorOpDoesNotExist},
	}
	if err := env.Client.Create(context.Background(), expressions, client.DryRunAll); err != nil {
		t.Fatalf("a selector the template satisfies was refused: %v", err)
	}
}

// waitForSelectorPolicy waits until the cafe-selector-matches-template
// policy is in force: a policy just installed takes a moment to be enforced.
func waitForSelectorPolicy(t *testing.T, ns string) {
	t.Helper()
	testenv.Eventually(t, time.Minute, "the cafe-selector-matches-template policy to be enforced", func() (bool, string) {
		cd := valid(ns)
		cd.Spec.Selector = &metav1.LabelSelector{MatchLabels: map[string]string{"app": "other"}}
		err := env.Client.Create(context.Background(), cd, client.DryRunAll)
		return err != nil, fmt.Sprintf("a selector of app=other: %v", err)
	})
}

// An HPA (or kubectl scale) may take replicas below the fixed quotas: the
// scale subresource is not refused, the quotas shrink in proportion.
func TestScaleBelowFixedQuotasIsAccepted(t *testing.T) {
	ns := env.Namespace(t)
	cd := valid(ns)
	cd.GenerateName, cd.Name = "", "pay-scale"
	cd.Spec.Topology.Units[0].Replicas = amount(intstr.FromInt32(4))
	cd.Spec.Topology.Units[1].Replicas = amount(intstr.FromInt32(2))
	if err := env.Client.Create(context.Background(), cd); err != nil {
		t.Fatal(err)
	}
	patch := []byte(`{"spec":{"replicas":2}}`)
	scale := &autoscalingv1.Scale{ObjectMeta: metav1.ObjectMeta{Name: cd.Name, Namespace: ns}}
	if err := env.Client.SubResource("scale").Patch(context.Background(), cd, client.RawPatch("application/merge-patch+json", patch), client.WithSubResourceBody(scale)); err != nil {
		t.Fatalf("scaling below the fixed quotas was refused: %v", err)
	}
	var got appsv1alpha1.CafeDeployment
	if err := env.Client.Get(context.Background(), client.ObjectKeyFromObject(cd), &got); err != nil {
		t.Fatal(err)
	}
	if *got.Spec.Replicas != 2 {
		t.Fatalf("replicas = %d after scaling to 2", *got.Spec.Replicas)
	}
}

func TestBadInPlaceSetSpecsAreRefused(t *testing.T) {
	ns := env.Namespace(t)
	waitForSelectorPolicy(t, ns)
	labels := map[string]string{"app": "x"}
	base := func() *appsv1alpha1.InPlaceSet {
		return &appsv1alpha1.InPlaceSet{
			ObjectMeta: metav1.ObjectMeta{GenerateName: "x-", Namespace: ns},
			Spec: appsv1alpha1.InPlaceSetSpec{
				Selector: &metav1.LabelSelector{MatchLabels: labels},
				Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels},
					Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "a", Image: "a"}}}},
			},
		}
	}
	for name, c := range map[string]struct {
		mutate func(*appsv1alpha1.InPlaceSet)
		field  string
	}{
		"negative partition":       {func(s *appsv1alpha1.InPlaceSet) { s.Spec.Partition = ptr.To[int32](-1) }, "spec.partition"},
		"maxUnavailable 0":         {func(s *appsv1alpha1.InPlaceSet) { s.Spec.MaxUnavailable = amount(intstr.FromInt32(0)) }, "spec.maxUnavailable"},
		"selector not in template": {func(s *appsv1alpha1.InPlaceSet) { s.Spec.Selector.MatchLabels = map[string]string{"y": "z"} }, "spec.selector"},
		"selector value differs":   {func(s *appsv1alpha1.InPlaceSet) { s.Spec.Selector.MatchLabels = map[string]string{"app": "y"} }, "spec.selector.matchLabels: app=y"},
	} {
		t.Run(name, func(t *testing.T) {
			s := base()
			c.mutate(s)
			err := env.Client.Create(context.Background(), s, client.DryRunAll)
			if err == nil || !strings.Contains(err.Error(), c.field) {
				t.Fatalf("want a refusal naming %s, got %v", c.field, err)
			}
		})
	}
}

func claimSpec(size string) corev1.PersistentVolumeClaimSpec {
	return corev1.PersistentVolumeClaimSpec{
		AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
		Resources:   corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse(size)}},
	}
}

// Volume claim templates cannot be edited: the claims already made keep the
// templates they were made from.
func TestVolumeClaimTemplatesCannotBeEdited(t *testing.T) {
	ns := env.Namespace(t)
	cd := valid(ns)
	cd.Spec.VolumeClaimTemplates = []appsv1alpha1.VolumeClaimTemplate{{Name: "data", Spec: claimSpec("1Gi")}}
	if err := env.Client.Create(context.Background(), cd); err != nil {
		t.Fatalf("a workload with a volume claim template was refused: %v", err)
	}
	cd.Spec.VolumeClaimTemplates[0].Spec = claimSpec("2Gi")
	err := env.Client.Update(context.Background(), cd)
	if err == nil || !strings.Contains(err.Error(), "spec.volumeClaimTemplates cannot change") {
		t.Fatalf("editing a volume claim template: got %v, want a refusal naming spec.volumeClaimTemplates", err)
	}
}
