package failover

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	trafficv1alpha1 "github.com/cafe-dev/cafe/api/traffic/v1alpha1"
	"github.com/cafe-dev/cafe/internal/router/kube"
)

// TestDecideRereadsOnConflict hands the controller a stale copy of a
// ShardMap: its write must fail on the resourceVersion, and the decision
// must be made again on what the API server holds, so no epoch is reused.
func TestDecideRereadsOnConflict(t *testing.T) {
	ctx := context.Background()
	sm := &trafficv1alpha1.ShardMap{Spec: threeUnits()}
	sm.Namespace, sm.Name, sm.Generation = "bank", "users", 1
	api := fake.NewClientBuilder().WithScheme(kube.Scheme()).WithObjects(sm).WithStatusSubresource(sm).Build()
	c := &Controller{o: ControllerOptions{Client: api, APIReader: api}, log: slog.New(slog.DiscardHandler)}

	var stale trafficv1alpha1.ShardMap
	if err := api.Get(ctx, client.ObjectKeyFromObject(sm), &stale); err != nil {
		t.Fatal(err)
	}
	// Another writer (an old leader) stamps epoch 1 meanwhile.
	fresh := stale.DeepCopy()
	fresh.Status = stamped(t, threeUnits())
	if err := api.Status().Update(ctx, fresh); err != nil {
		t.Fatal(err)
	}

	health := map[string]Health{"a": healthy(time.Hour), "b": unhealthy(time.Minute), "c": healthy(time.Hour)}
	if _, err := c.decide(ctx, &stale, health, policy, t0); err != nil {
		t.Fatalf("decide: %v", err)
	}
	var got trafficv1alpha1.ShardMap
	if err := api.Get(ctx, client.ObjectKeyFromObject(sm), &got); err != nil {
		t.Fatal(err)
	}
	// A blind write of the stale copy would have stamped epoch 1 again.
	if got.Status.Epoch != 2 || servedByUnit(got.Status)["b"] != "a" {
		t.Fatalf("epoch %d, servedBy %v; want epoch 2 (the other writer's 1, plus b's failover) with b served by a", got.Status.Epoch, servedByUnit(got.Status))
	}
}
