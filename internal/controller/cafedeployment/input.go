package cafedeployment

import (
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	appsv1alpha1 "github.com/cafe-dev/cafe/api/apps/v1alpha1"
	"github.com/cafe-dev/cafe/internal/release"
)

// plannerInput translates the workload into the release planner's terms.
func plannerInput(cd *appsv1alpha1.CafeDeployment, target string, observed []release.UnitObservation, now time.Time) (release.Input, error) {
	s := cd.Spec.Strategy
	in := release.Input{
		Now:            now,
		Replicas:       deref(cd.Spec.Replicas, 1),
		TargetRevision: target,
		Observed:       observed,
		Previous:       previousStatus(&cd.Status),
	}
	for _, u := range cd.Spec.Topology.Units {
		q := release.UnitQuota{Name: u.Name}
		if u.Replicas != nil {
			a, err := release.ParseAmount(u.Replicas, release.Amount{})
			if err != nil {
				return in, err
			}
			q.Quota = &a
		}
		in.Units = append(in.Units, q)
	}
	var err error
	st := release.Strategy{
		Beta:             s.Type == appsv1alpha1.ReleaseBeta,
		NeedConfirm:      s.NeedConfirm,
		Paused:           s.Paused,
		AllowUnitOutage:  s.AllowUnitOutage,
		ProgressDeadline: time.Duration(deref(s.ProgressDeadlineSeconds, 600)) * time.Second,
	}
	if st.BatchSize, err = release.ParseAmount(s.BatchSize, release.Percent(25)); err != nil {
		return in, err
	}
	if st.MaxUnavailablePerUnit, err = release.ParseAmount(s.MaxUnavailablePerUnit, release.Percent(25)); err != nil {
		return in, err
	}
	if st.FailureThreshold, err = release.ParseAmount(s.FailureThreshold, release.Pods(1)); err != nil {
		return in, err
	}
	in.Strategy = st
	if ar := cd.Spec.Topology.AutoReschedule; ar != nil {
		in.AutoReschedule = release.AutoReschedule{Enabled: ar.Enabled, PendingFor: time.Duration(deref(ar.PendingSeconds, 60)) * time.Second}
	}
	c := cd.Spec.Release
	in.Controls = release.Controls{Abort: c.Abort, Immediate: c.ImmediateRevision != "" && c.ImmediateRevision == target, ConfirmedBy: confirmedBy(cd)}
	if c.Confirm != nil {
		in.Controls.Confirm = release.Confirmation{Revision: c.Confirm.Revision, Batch: c.Confirm.Batch}
	}
	return in, nil
}

// confirmedBy names who last wrote spec.release: the annotation that the
// admission policy ties to the requesting user, or else the field manager
// that owns spec.release (a client name, not a person: better than nothing).
func confirmedBy(cd *appsv1alpha1.CafeDeployment) string {
	if who := cd.Annotations[appsv1alpha1.ConfirmedByAnnotation]; who != "" {
		return who
	}
	var who string
	var at time.Time
	for _, mf := range cd.ManagedFields {
		if mf.FieldsV1 == nil || !strings.Contains(string(mf.FieldsV1.Raw), `"f:release"`) {
			continue
		}
		if mf.Time != nil && !mf.Time.Time.Before(at) {
			who, at = "manager:"+mf.Manager, mf.Time.Time
		}
	}
	return who
}

// previousStatus reads back what the planner stored last time.
func previousStatus(s *appsv1alpha1.CafeDeploymentStatus) release.Status {
	p := release.Status{
		StableRevision: s.CurrentRevision,
		Release: release.Release{
			Revision:          s.Release.Revision,
			Phase:             release.Phase(s.Release.Phase),
			Batch:             s.Release.Batch,
			TotalBatches:      s.Release.TotalBatches,
			WaitingFor:        s.Release.WaitingFor,
			BatchStartTime:    timeOf(s.Release.BatchStartTime),
			StaleConfirmBatch: s.Release.StaleConfirmBatch,
			RequestedBy:       s.Release.RequestedBy,
			AbortedBy:         s.Release.AbortedBy,
		},
	}
	p.Release.Batches = batchRecordsOf(s.Release.Batches)
	for _, u := range s.Units {
		p.Units = append(p.Units, release.UnitState{Name: u.Name, Quota: u.Quota, Target: u.Target, Partition: u.Partition})
	}
	for _, m := range s.Rescheduled {
		p.Moves = append(p.Moves, release.QuotaMove{From: m.From, To: m.To, Count: m.Count, Time: m.Time.Time, Reason: m.Reason})
	}
	return p
}

func batchRecordsOf(batches []appsv1alpha1.BatchRecord) []release.BatchRecord {
	var records []release.BatchRecord
	for _, b := range batches {
		records = append(records, release.BatchRecord{
			Batch: b.Batch, Target: b.Target, StartedAt: timeOf(b.StartedAt),
			ConfirmedBy: b.ConfirmedBy, ConfirmedAt: timeOf(b.ConfirmedAt), CompletedAt: timeOf(b.CompletedAt),
			FailureThresholdReachedAt: timeOf(b.FailureThresholdReachedAt),
		})
	}
	return records
}

func timeOf(t *metav1.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return t.Time
}

func metaTime(t time.Time) *metav1.Time {
	if t.IsZero() {
		return nil
	}
	mt := metav1.NewTime(t)
	return &mt
}

func deref[T any](p *T, def T) T {
	if p == nil {
		return def
	}
	return *p
}
