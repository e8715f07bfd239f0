package cafedeployment

import (
	"github.com/prometheus/client_golang/prometheus"
	"sigs.k8s.io/controller-runtime/pkg/metrics"

	appsv1alpha1 "github.com/cafe-dev/cafe/api/apps/v1alpha1"
	"github.com/cafe-dev/cafe/internal/release"
)

// Release gauges per workload, served with controller-runtime's metrics.
var (
	batchGauge = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "cafe_release_batch",
		Help: "Current batch of the workload's release (0 = Beta batch).",
	}, []string{"namespace", "cafedeployment"})
	totalBatchesGauge = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "cafe_release_total_batches",
		Help: "Number of the release's last batch.",
	}, []string{"namespace", "cafedeployment"})
	phaseGauge = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "cafe_release_phase",
		Help: "1 for the release's current phase, 0 for the others.",
	}, []string{"namespace", "cafedeployment", "phase"})
	unitPodsGauge = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "cafe_unit_pods",
		Help: "Pods of the workload in each unit, by state: replicas, ready (serving), updated, updated_available.",
	}, []string{"namespace", "cafedeployment", "unit", "state"})
)

func init() {
	metrics.Registry.MustRegister(batchGauge, totalBatchesGauge, phaseGauge, unitPodsGauge)
}

var phases = []release.Phase{release.PhaseProgressing, release.PhaseWaitingForConfirmation, release.PhasePaused,
	release.PhaseCompleted, release.PhaseAborted, release.PhaseFailed}

func recordMetrics(cd *appsv1alpha1.CafeDeployment, out release.Output, observed []release.UnitObservation) {
	ns, name := cd.Namespace, cd.Name
	batchGauge.WithLabelValues(ns, name).Set(float64(out.Status.Release.Batch))
	totalBatchesGauge.WithLabelValues(ns, name).Set(float64(out.Status.Release.TotalBatches))
	for _, p := range phases {
		v := 0.0
		if out.Status.Release.Phase == p {
			v = 1
		}
		phaseGauge.WithLabelValues(ns, name, string(p)).Set(v)
	}
	for _, o := range observed {
		unitPodsGauge.WithLabelValues(ns, name, o.Name, "replicas").Set(float64(o.Replicas))
		unitPodsGauge.WithLabelValues(ns, name, o.Name, "ready").Set(float64(o.Ready))
		unitPodsGauge.WithLabelValues(ns, name, o.Name, "updated").Set(float64(o.Updated))
		unitPodsGauge.WithLabelValues(ns, name, o.Name, "updated_available").Set(float64(o.UpdatedAvailable))
	}
}

// forgetMetrics drops a deleted workload's series.
func forgetMetrics(namespace, name string) {
	l := prometheus.Labels{"namespace": namespace, "cafedeployment": name}
	for _, g := range []*prometheus.GaugeVec{batchGauge, totalBatchesGauge, phaseGauge, unitPodsGauge} {
		g.DeletePartialMatch(l)
	}
}
