//go:build integration

package cafedeployment_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	autoscalingv1 "k8s.io/api/autoscaling/v1"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	appsv1alpha1 "github.com/cafe-dev/cafe/api/apps/v1alpha1"
	"github.com/cafe-dev/cafe/internal/platform"
	"github.com/cafe-dev/cafe/internal/testenv"
)

// The scale subresource is what kubectl scale and an HPA use: it reports
// replicas and the selector, and raising replicas through it goes out in the
// strategy's batches, each later one waiting for its confirmation.
func TestScaleSubresourceScalesOutInBatches(t *testing.T) {
	ns := env.Namespace(t)
	createReleased(t, ns, 6) // Beta, batches of 10, each confirmed
	cd := get(t, ns)
	var scale autoscalingv1.Scale
	testenv.Eventually(t, time.Minute, "the scale subresource to report the pods", func() (bool, string) {
		if err := env.Client.SubResource("scale").Get(context.Background(), cd, &scale); err != nil {
			return false, err.Error()
		}
		return scale.Spec.Replicas == 6 && scale.Status.Replicas == 6 && strings.Contains(scale.Status.Selector, "app=pay"),
			fmt.Sprintf("%+v", scale)
	})

	scale.Spec.Replicas = 18
	if err := env.Client.SubResource("scale").Update(context.Background(), cd, client.WithSubResourceBody(&scale)); err != nil {
		t.Fatalf("scale to 18: %v", err)
	}
	// One batch of 10 new pods goes out; the rest waits for a confirmation.
	waiting := waitPhaseAnyBatch(t, ns, appsv1alpha1.ReleaseWaitingForConfirmation)
	if got := len(podsByName(t, ns)); got != 16 {
		t.Errorf("%d pods while the scale-out waits for its second batch, want 6 + 10", got)
	}
	confirm(t, ns, waiting.Status.Release.Batch)
	waitAll(t, ns, 18, "pay:v1")
}

// A unit label other than CAFE's: the zone label, which the platform's nodes
// carry with the unit's name.
func TestUnitsByZoneLabel(t *testing.T) {
	ns := env.Namespace(t)
	cd := newWorkload(ns, 6, "pay:v1")
	cd.Spec.Topology.UnitLabel = platform.ZoneLabel
	if err := env.Client.Create(context.Background(), cd); err != nil {
		t.Fatal(err)
	}
	releaseAll(t, ns)
	waitAll(t, ns, 6, "pay:v1")
	var pods corev1.PodList
	if err := env.Client.List(context.Background(), &pods, client.InNamespace(ns)); err != nil {
		t.Fatal(err)
	}
	for _, p := range pods.Items {
		var node corev1.Node
		if err := env.Client.Get(context.Background(), client.ObjectKey{Name: p.Spec.NodeName}, &node); err != nil {
			t.Fatal(err)
		}
		if unit := p.Labels[appsv1alpha1.UnitLabel]; node.Labels[platform.ZoneLabel] != unit {
			t.Errorf("pod %s of unit %s runs on %s in zone %q", p.Name, unit, node.Name, node.Labels[platform.ZoneLabel])
		}
		if terms := p.Spec.Affinity.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms; len(terms) == 0 ||
			terms[0].MatchExpressions[len(terms[0].MatchExpressions)-1].Key != platform.ZoneLabel {
			t.Errorf("pod %s is not pinned by the zone label: %+v", p.Name, terms)
		}
	}
}

// waitPhaseAnyBatch waits for the release to reach phase, at whatever batch.
func waitPhaseAnyBatch(t *testing.T, ns string, phase appsv1alpha1.ReleasePhase) *appsv1alpha1.CafeDeployment {
	t.Helper()
	var cd *appsv1alpha1.CafeDeployment
	testenv.Eventually(t, 3*time.Minute, fmt.Sprintf("release %s", phase), func() (bool, string) {
		cd = get(t, ns)
		r := cd.Status.Release
		return cd.Status.ObservedGeneration == cd.Generation && r.Phase == phase,
			fmt.Sprintf("phase %s batch %d/%d waiting for %q", r.Phase, r.Batch, r.TotalBatches, r.WaitingFor)
	})
	return cd
}
