//go:build integration

package cli

import (
	"encoding/json"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	appsv1alpha1 "github.com/cafe-dev/cafe/api/apps/v1alpha1"
)

// A Beta release of six pods driven with kubectl cafe alone: get and its
// tree at each wait, a stale confirmation refused, confirmations recorded
// with the user's name, and the history afterwards.
func TestGetAndConfirmDriveABetaRelease(t *testing.T) {
	ns := env.Namespace(t)
	createCompleted(t, ns, workloadSpec(ns, 6, "pay:v1", betaStrategy))
	setImage(t, ns, "pay:v2")

	out := mustCafe(t, ns, "get", "pay", "--watch")
	frames := strings.Split(out, frameMarker)
	if last := frames[len(frames)-1]; !strings.Contains(last, "Release:         WaitingForConfirmation, batch 1 of 2 (Beta)") {
		t.Fatalf("the watch should end when the Beta batch waits for its confirmation; last frame:\n%s", last)
	}
	golden(t, "get-beta-waiting", masked(mustCafe(t, ns, "get", "pay"), ns))
	golden(t, "get-beta-waiting-pods", masked(mustCafe(t, ns, "get", "pay", "--pods"), ns))

	// A screen showing batch 2 cannot approve batch 1's wait, nor the reverse.
	if out, err := cafe(t, ns, "confirm", "pay", "--batch", "2"); err == nil || !strings.Contains(err.Error(), "batch 2 is not the one waiting: the release to revision pay-") {
		t.Fatalf("confirming a batch that does not wait: %v\n%s", err, out)
	}
	if c := getWorkload(t, ns).Spec.Release.Confirm; c != nil && c.Revision == getWorkload(t, ns).Status.Release.Revision {
		t.Fatalf("a refused confirmation was written: %+v", c)
	}
	out = mustCafe(t, ns, "confirm", "pay", "--batch", "1")
	if !strings.Contains(out, "confirmed batch 1 of 2 of pay's release to revision pay-") || !strings.HasSuffix(out, " as cafe-admin\n") {
		t.Errorf("confirm said %q", out)
	}
	if who := getWorkload(t, ns).Annotations[appsv1alpha1.ConfirmedByAnnotation]; who != "cafe-admin" {
		t.Errorf("%s is %q, want the user the API server authenticated", appsv1alpha1.ConfirmedByAnnotation, who)
	}

	out = mustCafe(t, ns, "get", "pay", "--watch")
	if !strings.Contains(lastFrame(out), "WaitingForConfirmation, batch 2 of 2") {
		t.Fatalf("the watch should end at the next confirmation; last frame:\n%s", lastFrame(out))
	}
	mustCafe(t, ns, "confirm", "pay")
	out = mustCafe(t, ns, "get", "pay", "--watch")
	if last := lastFrame(out); !strings.Contains(last, "Completed, batch 2 of 2") || !strings.Contains(last, "6 of 6, 6 ready, 6 serving, 6 at revision 2, 0 pending") {
		t.Fatalf("the watch should end when the release completes; last frame:\n%s", last)
	}

	golden(t, "history-beta", masked(mustCafe(t, ns, "history", "pay"), ns))
	var h HistoryView
	if err := yaml.Unmarshal([]byte(mustCafe(t, ns, "history", "pay", "-o", "yaml")), &h); err != nil {
		t.Fatal(err)
	}
	if len(h.Revisions) != 2 || h.Revisions[1].Images[0] != "app=pay:v2" || h.Revisions[1].ChangeCause != "image pay:v2" || h.Revisions[1].Role != "current" {
		t.Errorf("history data: %+v", h.Revisions)
	}
	for _, b := range h.Release.Batches {
		if want := map[bool]string{true: "cafe-admin", false: ""}[b.Batch > 0]; b.ConfirmedBy != want {
			t.Errorf("batch %d confirmed by %q, want %q", b.Batch, b.ConfirmedBy, want)
		}
	}

	var v WorkloadView
	if err := json.Unmarshal([]byte(mustCafe(t, ns, "get", "pay", "-o", "json")), &v); err != nil {
		t.Fatal(err)
	}
	if v.Release.Phase != "Completed" || v.Total.Updated != 6 || v.Total.Serving != 6 || len(v.Units) != 3 || len(v.Units[0].Slots) != 2 || v.Update.Number != 2 {
		t.Errorf("get -o json: %+v", v)
	}
	list := mustCafe(t, ns, "get")
	if !strings.Contains(list, "NAME  REPLICAS  READY  UPDATED  REVISION") || !strings.Contains(list, "Completed  2/2") {
		t.Errorf("get without a name:\n%s", list)
	}
}

func lastFrame(out string) string {
	frames := strings.Split(out, frameMarker)
	return frames[len(frames)-1]
}
