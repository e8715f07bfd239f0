//go:build integration

package cli

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	appsv1alpha1 "github.com/cafe-dev/cafe/api/apps/v1alpha1"
	"github.com/cafe-dev/cafe/internal/testenv"
)

// waitImages waits until every pod of the workload runs image and serves.
func waitImages(t *testing.T, ns string, n int, image string) {
	t.Helper()
	testenv.Eventually(t, 3*time.Minute, fmt.Sprintf("%d pods serving %s", n, image), func() (bool, string) {
		pods := listPods(t, ns)
		ok := 0
		for _, p := range pods {
			if p.DeletionTimestamp == nil && p.Spec.Containers[0].Image == image && conditionTrue(&p, appsv1alpha1.ServingCondition) {
				ok++
			}
		}
		return ok == n && len(pods) == n, fmt.Sprintf("%d of %d pods serve %s", ok, len(pods), image)
	})
}

func TestAbortReturnsThePodsAndResumeStartsAgain(t *testing.T) {
	ns := env.Namespace(t)
	createCompleted(t, ns, workloadSpec(ns, 6, "pay:v1", betaStrategy))
	setImage(t, ns, "pay:v2")
	waitSettled(t, ns)

	out := mustCafe(t, ns, "abort", "pay")
	if !strings.Contains(out, "aborted pay's release to revision pay-") || !strings.Contains(out, "kubectl cafe resume pay starts it again") {
		t.Errorf("abort said %q", out)
	}
	waitImages(t, ns, 6, "pay:v1")
	cd := waitSettled(t, ns)
	if cd.Status.Release.Phase != appsv1alpha1.ReleaseAborted || cd.Annotations[appsv1alpha1.ConfirmedByAnnotation] != "cafe-admin" || cd.Status.Release.AbortedBy != "cafe-admin" {
		t.Fatalf("phase %s, confirmed-by %q, aborted by %q", cd.Status.Release.Phase, cd.Annotations[appsv1alpha1.ConfirmedByAnnotation], cd.Status.Release.AbortedBy)
	}
	if get := mustCafe(t, ns, "get", "pay"); !strings.Contains(get, "Waiting for:     the abort to be lifted (kubectl cafe resume pay); meanwhile the changed pods return to revision 1") {
		t.Errorf("get while aborted:\n%s", get)
	}
	if _, err := cafe(t, ns, "confirm", "pay"); err == nil || !strings.Contains(err.Error(), "nothing to confirm: the release is Aborted (batch 1/2); it is aborted: kubectl cafe resume pay lifts the abort") {
		t.Errorf("confirm while aborted: %v", err)
	}
	if out := mustCafe(t, ns, "abort", "pay"); !strings.Contains(out, "already aborted") {
		t.Errorf("second abort said %q", out)
	}

	if out := mustCafe(t, ns, "resume", "pay"); !strings.Contains(out, "lifted the abort of pay") {
		t.Errorf("resume said %q", out)
	}
	// The release starts again from the pods' real state: the Beta batch.
	cd = waitSettled(t, ns)
	if cd.Spec.Release.Abort || cd.Status.Release.Phase != appsv1alpha1.ReleaseWaitingForConfirmation || cd.Status.UpdatedReplicas != 3 {
		t.Errorf("after resume: abort %v, phase %s, %d updated", cd.Spec.Release.Abort, cd.Status.Release.Phase, cd.Status.UpdatedReplicas)
	}
}

func TestRollbackToThePreviousRevisionAndForward(t *testing.T) {
	ns := env.Namespace(t)
	createCompleted(t, ns, workloadSpec(ns, 6, "pay:v1", autoStrategy))
	setImage(t, ns, "pay:v2")
	waitSettled(t, ns)
	waitImages(t, ns, 6, "pay:v2")

	if _, err := cafe(t, ns, "rollback", "pay", "--to-revision", "7"); err == nil || err.Error() != "pay has no revision 7; the kept revisions are 1, 2 (kubectl cafe history pay)" {
		t.Errorf("rollback to an unknown revision: %v", err)
	}
	out := mustCafe(t, ns, "rollback", "pay", "--immediate")
	if !strings.Contains(out, "rolling pay back to revision 1 (pay-") || !strings.Contains(out, "app=pay:v1) at once (--immediate)") {
		t.Errorf("rollback said %q", out)
	}
	waitImages(t, ns, 6, "pay:v1")
	cd := waitSettled(t, ns)
	if cd.Spec.Release.ImmediateRevision != cd.Status.UpdateRevision || cd.Annotations[appsv1alpha1.ChangeCauseAnnotation] != "rollback to revision 1" || cd.Status.Release.TotalBatches != 1 {
		t.Errorf("after rollback --immediate: immediateRevision %q (update revision %s), cause %q, %d batches", cd.Spec.Release.ImmediateRevision, cd.Status.UpdateRevision, cd.Annotations[appsv1alpha1.ChangeCauseAnnotation], cd.Status.Release.TotalBatches)
	}
	// The status names who rolled back, and who approved the batch at once.
	if r := cd.Status.Release; r.RequestedBy != "cafe-admin" || len(r.Batches) != 1 || r.Batches[0].ConfirmedBy != "cafe-admin" {
		t.Errorf("after rollback --immediate: requestedBy %q, batches %+v; want both by cafe-admin", r.RequestedBy, r.Batches)
	}
	// The revision rolled back to is renumbered as the newest, like a
	// Deployment's, and keeps the rollback's change cause.
	hist := mustCafe(t, ns, "history", "pay")
	if !strings.Contains(hist, "3         pay-") || !historyRow(hist, "3 ", "current", "rollback to revision 1") {
		t.Errorf("history after the rollback:\n%s", hist)
	}

	// Without --to-revision it goes to the one before: v2, now revision 2,
	// in batches.
	out = mustCafe(t, ns, "rollback", "pay")
	if !strings.Contains(out, "rolling pay back to revision 2 (pay-") || !strings.Contains(out, "in batches, with its confirmations") {
		t.Errorf("rollback said %q", out)
	}
	waitImages(t, ns, 6, "pay:v2")
	if cd := waitSettled(t, ns); cd.Spec.Release.ImmediateRevision != "" || cd.Status.Release.TotalBatches != 3 || cd.Status.Release.RequestedBy != "cafe-admin" {
		t.Errorf("a rollback without --immediate: immediateRevision %q, %d batches, requested by %q", cd.Spec.Release.ImmediateRevision, cd.Status.Release.TotalBatches, cd.Status.Release.RequestedBy)
	}
	if hist := mustCafe(t, ns, "history", "pay"); !strings.Contains(hist, "Completed, requested by cafe-admin") {
		t.Errorf("history does not say who rolled back:\n%s", hist)
	}

	// An immediate rollback's mark applies to its own release only: the
	// next template change, with the mark left in the spec, goes in batches.
	mustCafe(t, ns, "rollback", "pay", "--immediate")
	waitImages(t, ns, 6, "pay:v1")
	cd = waitSettled(t, ns)
	patch := []byte(`{"spec":{"template":{"spec":{"containers":[{"name":"app","image":"pay:v3"}]}}}}`)
	if err := env.Client.Patch(context.Background(), cd, client.RawPatch(types.MergePatchType, patch)); err != nil {
		t.Fatal(err)
	}
	waitImages(t, ns, 6, "pay:v3")
	if cd := waitSettled(t, ns); cd.Spec.Release.ImmediateRevision == "" || cd.Spec.Release.ImmediateRevision == cd.Status.UpdateRevision || cd.Status.Release.TotalBatches != 3 {
		t.Errorf("a template change after an immediate rollback: immediateRevision %q, update revision %s, %d batches (want the strategy's 3)", cd.Spec.Release.ImmediateRevision, cd.Status.UpdateRevision, cd.Status.Release.TotalBatches)
	} else if cd.Status.Release.RequestedBy != "" {
		t.Errorf("a plain template change is recorded as requested by %q, who named another revision", cd.Status.Release.RequestedBy)
	}
}

// historyRow reports whether a line of the history table starts with prefix
// and holds every one of fields, whatever the columns between them.
func historyRow(hist, prefix string, fields ...string) bool {
	for _, line := range strings.Split(hist, "\n") {
		if !strings.HasPrefix(line, prefix) {
			continue
		}
		all := true
		for _, f := range fields {
			all = all && strings.Contains(line, f)
		}
		if all {
			return true
		}
	}
	return false
}
