//go:build integration

package cafedeployment_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	appsv1alpha1 "github.com/cafe-dev/cafe/api/apps/v1alpha1"
	"github.com/cafe-dev/cafe/internal/testenv"
)

// The CafeDeployment samples in config/samples do what their comments say,
// on the three units of the local platform.
func TestSamplesWorkAsDescribed(t *testing.T) {
	// pay: 30 replicas, Beta first (one pod per unit, then wait), then
	// batches of 10 that each wait for confirmation; 10 pods per unit.
	ns := env.Namespace(t)
	createSample(t, ns, "cafedeployment.yaml")
	waitPhase(t, ns, appsv1alpha1.ReleaseWaitingForConfirmation, 1)
	if got := countImage(podsByName(t, ns), "pay:v1"); got["unit-a"] != 1 || got["unit-b"] != 1 || got["unit-c"] != 1 {
		t.Errorf("the Beta batch should start one pod in every unit, got %v", got)
	}
	releaseAll(t, ns)
	if got := countImage(waitAll(t, ns, 30, "pay:v1"), "pay:v1"); got["unit-a"] != 10 || got["unit-b"] != 10 || got["unit-c"] != 10 {
		t.Errorf("pay should have 10 pods per unit, got %v", got)
	}

	// ledger: 12 replicas, unit-a half, unit-b 4, unit-c the rest, in
	// batches of 25% that start by themselves.
	ns = env.Namespace(t)
	createSample(t, ns, "cafedeployment-fixed-quotas.yaml")
	var ledger appsv1alpha1.CafeDeployment
	testenv.Eventually(t, 3*time.Minute, "ledger's scale-out to complete with no confirmation", func() (bool, string) {
		if err := env.Client.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: "ledger"}, &ledger); err != nil {
			return false, err.Error()
		}
		r := ledger.Status.Release
		return ledger.Status.ObservedGeneration == ledger.Generation && r.Phase == appsv1alpha1.ReleaseCompleted,
			fmt.Sprintf("phase %s batch %d/%d: %s", r.Phase, r.Batch, r.TotalBatches, r.WaitingFor)
	})
	var targets []int32
	for _, b := range ledger.Status.Release.Batches {
		targets = append(targets, b.Target)
		if b.ConfirmedBy != "" {
			t.Errorf("batch %d records an approval by %s; none was given", b.Batch, b.ConfirmedBy)
		}
	}
	if fmt.Sprint(targets) != "[3 6 9 12]" {
		t.Errorf("ledger's batches reached %v pods, want batches of 25%%: [3 6 9 12]", targets)
	}
	if got := countImage(waitAll(t, ns, 12, "ledger:v1"), "ledger:v1"); got["unit-a"] != 6 || got["unit-b"] != 4 || got["unit-c"] != 2 {
		t.Errorf("ledger should have 6, 4 and 2 pods in units a, b and c, got %v", got)
	}
}

// createSample creates every object of config/samples/file in ns.
func createSample(t *testing.T, ns, file string) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(testenv.RepoRoot(), "config", "samples", file))
	if err != nil {
		t.Fatal(err)
	}
	for _, doc := range bytes.Split(data, []byte("\n---\n")) {
		obj := &unstructured.Unstructured{}
		if err := yaml.Unmarshal(doc, &obj.Object); err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		obj.SetNamespace(ns)
		if err := env.Client.Create(context.Background(), obj); err != nil {
			t.Fatalf("%s: create %s %s: %v", file, obj.GetKind(), obj.GetName(), err)
		}
	}
}
