//go:build integration

package cafedeployment_test

import (
	"context"
	"testing"
	"time"

	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	appsv1alpha1 "github.com/cafe-dev/cafe/api/apps/v1alpha1"
)

// An explicit zero drain or wait must reach the InPlaceSets as zero: the
// controller writes them with a Go client, where a zero that omitempty
// dropped would come back as the API server's default.
func TestZeroDrainAndWaitReachTheInPlaceSets(t *testing.T) {
	ns := env.Namespace(t)
	ctx := context.Background()
	cd := newWorkload(ns, 3, "pay:v1")
	cd.Spec.Strategy.TrafficHandoff = appsv1alpha1.TrafficHandoff{DrainSeconds: ptr.To[int32](0), MaxWaitSeconds: ptr.To[int32](0)}
	if err := env.Client.Create(ctx, cd); err != nil {
		t.Fatal(err)
	}
	if got := get(t, ns).Spec.Strategy.TrafficHandoff; ptr.Deref(got.DrainSeconds, -1) != 0 || ptr.Deref(got.MaxWaitSeconds, -1) != 0 {
		t.Fatalf("stored CafeDeployment has drainSeconds %v, maxWaitSeconds %v; want 0 and 0", got.DrainSeconds, got.MaxWaitSeconds)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		var sets appsv1alpha1.InPlaceSetList
		if err := env.Client.List(ctx, &sets, client.InNamespace(ns)); err != nil {
			t.Fatal(err)
		}
		if len(sets.Items) == len(units) {
			for _, s := range sets.Items {
				h := s.Spec.TrafficHandoff
				if ptr.Deref(h.DrainSeconds, -1) != 0 || ptr.Deref(h.MaxWaitSeconds, -1) != 0 {
					t.Fatalf("InPlaceSet %s has drainSeconds %v, maxWaitSeconds %v; want 0 and 0", s.Name, h.DrainSeconds, h.MaxWaitSeconds)
				}
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d InPlaceSets after 30s, want %d", len(sets.Items), len(units))
		}
		time.Sleep(100 * time.Millisecond)
	}
}
