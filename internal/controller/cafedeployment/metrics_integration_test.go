//go:build integration

package cafedeployment_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	ctrlmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"

	appsv1alpha1 "github.com/cafe-dev/cafe/api/apps/v1alpha1"
	"github.com/cafe-dev/cafe/internal/testenv"
)

// The per-workload release gauges follow a release: the batch it waits on,
// its phase, and per unit the replicas, serving and updated pods; a deleted
// workload's series go away.
func TestReleaseGaugesFollowTheRelease(t *testing.T) {
	ns := env.Namespace(t)
	createReleased(t, ns, 6)
	setImage(t, ns, "pay:v2")
	waitPhase(t, ns, appsv1alpha1.ReleaseWaitingForConfirmation, 1)
	want := map[string]float64{
		`cafe_release_batch`:                                      1,
		`cafe_release_total_batches`:                              1,
		`cafe_release_phase{phase="WaitingForConfirmation"}`:      1,
		`cafe_release_phase{phase="Progressing"}`:                 0,
		`cafe_unit_pods{state="replicas",unit="unit-a"}`:          2,
		`cafe_unit_pods{state="ready",unit="unit-b"}`:             2,
		`cafe_unit_pods{state="updated",unit="unit-c"}`:           1,
		`cafe_unit_pods{state="updated_available",unit="unit-a"}`: 1,
	}
	waitGauges(t, ns, want)

	releaseAll(t, ns)
	waitAll(t, ns, 6, "pay:v2")
	want[`cafe_release_phase{phase="WaitingForConfirmation"}`] = 0
	want[`cafe_release_phase{phase="Completed"}`] = 1
	want[`cafe_unit_pods{state="updated",unit="unit-c"}`] = 2
	want[`cafe_unit_pods{state="updated_available",unit="unit-a"}`] = 2
	waitGauges(t, ns, want)

	if err := env.Client.Delete(context.Background(), get(t, ns)); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, time.Minute, "the deleted workload's series to go", func() (bool, string) {
		n := len(workloadGauges(t, ns))
		return n == 0, fmt.Sprintf("%d series left", n)
	})
}

// waitGauges waits until every series in want has its value.
func waitGauges(t *testing.T, ns string, want map[string]float64) {
	t.Helper()
	testenv.Eventually(t, 30*time.Second, "the release gauges", func() (bool, string) {
		got := workloadGauges(t, ns)
		for series, v := range want {
			if g, ok := got[series]; !ok || g != v {
				return false, fmt.Sprintf("%s = %v (present %v), want %v", series, g, ok, v)
			}
		}
		return true, ""
	})
}

// workloadGauges reads the cafe_ gauges of the namespace's workload "pay"
// from the controllers' metrics registry, keyed by name and the labels
// besides namespace and cafedeployment.
func workloadGauges(t *testing.T, ns string) map[string]float64 {
	t.Helper()
	families, err := ctrlmetrics.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, f := range families {
		for _, m := range f.GetMetric() {
			if label(m, "namespace") != ns || label(m, "cafedeployment") != "pay" || m.GetGauge() == nil {
				continue
			}
			key := f.GetName()
			extra := ""
			for _, l := range m.GetLabel() { // sorted by name
				if n := l.GetName(); n != "namespace" && n != "cafedeployment" {
					if extra != "" {
						extra += ","
					}
					extra += fmt.Sprintf("%s=%q", n, l.GetValue())
				}
			}
			if extra != "" {
				key += "{" + extra + "}"
			}
			got[key] = m.GetGauge().GetValue()
		}
	}
	return got
}

func label(m *dto.Metric, name string) string {
	for _, l := range m.GetLabel() {
		if l.GetName() == name {
			return l.GetValue()
		}
	}
	return ""
}
