package cafedeployment

import (
	"context"

	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	appsv1alpha1 "github.com/cafe-dev/cafe/api/apps/v1alpha1"
	"github.com/cafe-dev/cafe/internal/release"
)

// writeStatus stores the planner's status, the observed counts and the
// conditions, if anything changed (see statuswrite.Writer for the errors).
func (r *Reconciler) writeStatus(ctx context.Context, cd *appsv1alpha1.CafeDeployment, out release.Output, target string, observed []release.UnitObservation) error {
	s := cd.Status.DeepCopy()
	s.ObservedGeneration = cd.Generation
	s.CurrentRevision = out.Status.StableRevision
	s.UpdateRevision = target
	if sel, err := metav1.LabelSelectorAsSelector(cd.Spec.Selector); err == nil {
		s.Selector = sel.String()
	}
	rel := out.Status.Release
	s.Release = appsv1alpha1.ReleaseStatus{
		Revision:          rel.Revision,
		Batch:             rel.Batch,
		TotalBatches:      rel.TotalBatches,
		Phase:             appsv1alpha1.ReleasePhase(rel.Phase),
		WaitingFor:        rel.WaitingFor,
		BatchStartTime:    metaTime(rel.BatchStartTime),
		StaleConfirmBatch: rel.StaleConfirmBatch,
		RequestedBy:       rel.RequestedBy,
		AbortedBy:         rel.AbortedBy,
	}
	for _, b := range rel.Batches {
		s.Release.Batches = append(s.Release.Batches, appsv1alpha1.BatchRecord{
			Batch: b.Batch, Target: b.Target, StartedAt: metaTime(b.StartedAt),
			ConfirmedBy: b.ConfirmedBy, ConfirmedAt: metaTime(b.ConfirmedAt), CompletedAt: metaTime(b.CompletedAt),
			FailureThresholdReachedAt: metaTime(b.FailureThresholdReachedAt),
		})
	}
	obs := map[string]release.UnitObservation{}
	var total release.UnitObservation
	for _, o := range observed {
		obs[o.Name] = o
		total.Replicas += o.Replicas
		total.Ready += o.Ready
		total.Available += o.Available
		total.Updated += o.Updated
		total.UpdatedAvailable += o.UpdatedAvailable
	}
	s.Replicas, s.ReadyReplicas, s.AvailableReplicas = total.Replicas, total.Ready, total.Available
	s.UpdatedReplicas, s.UpdatedReadyReplicas = total.Updated, total.UpdatedAvailable
	s.Units = nil
	for _, u := range out.Status.Units {
		o := obs[u.Name]
		s.Units = append(s.Units, appsv1alpha1.UnitStatus{
			Name: u.Name, Quota: u.Quota, Target: u.Target, Partition: u.Partition,
			Replicas: o.Replicas, ReadyReplicas: o.Ready, UpdatedReplicas: o.Updated, UpdatedReadyReplicas: o.UpdatedAvailable,
			Pending: int32(len(o.Unschedulable)),
		})
	}
	s.Rescheduled = nil
	for _, m := range out.Status.Moves {
		s.Rescheduled = append(s.Rescheduled, appsv1alpha1.QuotaMove{From: m.From, To: m.To, Count: m.Count, Time: metav1.NewTime(m.Time), Reason: m.Reason})
	}
	for _, c := range out.Conditions {
		c.ObservedGeneration = cd.Generation
		meta.SetStatusCondition(&s.Conditions, c)
	}
	if equality.Semantic.DeepEqual(&cd.Status, s) {
		return nil
	}
	countsOnly := onlyCountsChanged(&cd.Status, s)
	cd.Status = *s
	return r.status.Write(ctx, r.Client, cd, countsOnly, r.Now())
}

// onlyCountsChanged reports whether two statuses differ only in the observed
// pod counts, which change with every pod event, or in the words that quote
// them (what the release waits for, a condition's message while its status
// and reason stay). The planner's memory (release, units' targets, moves,
// revisions) and every condition's status and reason are always written at
// once; counts and their wording are only for people and autoscalers.
func onlyCountsChanged(old, updated *appsv1alpha1.CafeDeploymentStatus) bool {
	a, b := old.DeepCopy(), updated.DeepCopy()
	for _, s := range []*appsv1alpha1.CafeDeploymentStatus{a, b} {
		s.Replicas, s.ReadyReplicas, s.AvailableReplicas, s.UpdatedReplicas, s.UpdatedReadyReplicas = 0, 0, 0, 0, 0
		for i := range s.Units {
			u := &s.Units[i]
			u.Replicas, u.ReadyReplicas, u.UpdatedReplicas, u.UpdatedReadyReplicas, u.Pending = 0, 0, 0, 0, 0
		}
		s.Release.WaitingFor = ""
		for i := range s.Conditions {
			s.Conditions[i].Message = ""
		}
	}
	return equality.Semantic.DeepEqual(a, b)
}
