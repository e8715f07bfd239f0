package cli

import (
	"bytes"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	appsv1alpha1 "github.com/cafe-dev/cafe/api/apps/v1alpha1"
)

func historySnapshot(t *testing.T) *snapshot {
	cd := fixtureWorkload(2, appsv1alpha1.ReleaseWaitingForConfirmation, 2, 3, "unit-a", "unit-b")
	at := func(min int64) *metav1.Time { tm := metav1.Unix(1_700_100_000+min*60, 0); return &tm }
	cd.Status.Release.Batches = []appsv1alpha1.BatchRecord{
		{Batch: 0, Target: 2, StartedAt: at(0), CompletedAt: at(1)},
		{Batch: 1, Target: 3, StartedAt: at(5), ConfirmedBy: "alice", ConfirmedAt: at(5), CompletedAt: at(6)},
	}
	v1 := fixtureRevision(t, "pay-v1", 2, "pay:v1", "image pay:v1")
	// The controller kept the release to v1's batch records on its revision.
	v1.Annotations[appsv1alpha1.ReleaseBatchesAnnotation] = `[{"batch":0,"target":2},{"batch":1,"target":3,"confirmedBy":"bob"}]`
	return &snapshot{workload: cd, revisions: []appsv1.ControllerRevision{
		fixtureRevision(t, "pay-v0", 1, "pay:v0", ""),
		v1,
		fixtureRevision(t, "pay-v2", 3, "pay:v2", "image pay:v2"),
	}}
}

func TestBuildHistoryMarksTheRevisionsRoles(t *testing.T) {
	v, err := buildHistory(historySnapshot(t))
	if err != nil {
		t.Fatal(err)
	}
	roles := [3]string{v.Revisions[0].Role, v.Revisions[1].Role, v.Revisions[2].Role}
	if roles != [3]string{"", "stable", "target"} {
		t.Errorf("roles %v, want -, stable, target", roles)
	}
	if len(v.Revisions[1].Batches) != 2 || v.Revisions[1].Batches[1].ConfirmedBy != "bob" {
		t.Errorf("revision 2 should carry its release's batch records, got %+v", v.Revisions[1].Batches)
	}
	if v.Revisions[2].Images[0] != "app=pay:v2" || v.Release.Revision != (RevisionRef{3, "pay-v2"}) || v.Release.Batches[1].ConfirmedBy != "alice" {
		t.Errorf("%+v", v)
	}
}

func TestHistoryGolden(t *testing.T) {
	v, err := buildHistory(historySnapshot(t))
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := renderHistory(&buf, v); err != nil {
		t.Fatal(err)
	}
	golden(t, "history", buf.String())
}
