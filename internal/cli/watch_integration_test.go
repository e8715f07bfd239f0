//go:build integration

package cli

import (
	"context"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	appsv1alpha1 "github.com/cafe-dev/cafe/api/apps/v1alpha1"
	"github.com/cafe-dev/cafe/internal/testenv"
)

var releaseHeader = regexp.MustCompile(`Release: +(\w+), batch (\d+) of (\d+)`)

// startWatch runs `kubectl cafe get pay --watch` until it returns, which
// the returned channel reports.
func startWatch(t *testing.T, ns string, out *testenv.SyncBuffer) <-chan error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	done := make(chan error, 1)
	go func() {
		defer cancel()
		done <- kubectlCafe(ctx, out, ns, "get", "pay", "--watch")
	}()
	return done
}

func waitWatchEnd(t *testing.T, done <-chan error, out *testenv.SyncBuffer) []string {
	t.Helper()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("watch: %v\n%s", err, out.String())
		}
	case <-time.After(3 * time.Minute):
		t.Fatalf("the watch did not end; it drew:\n%s", out.String())
	}
	return strings.Split(out.String(), frameMarker)
}

// Batches that start by themselves: one watch draws each batch, the pods
// draining, and ends when the release completes.
func TestWatchDrawsEveryBatchUntilTheReleaseCompletes(t *testing.T) {
	ns := env.Namespace(t)
	createCompleted(t, ns, workloadSpec(ns, 6, "pay:v1", autoStrategy))
	var out testenv.SyncBuffer
	setImage(t, ns, "pay:v2")
	frames := waitWatchEnd(t, startWatch(t, ns, &out), &out)

	last := frames[len(frames)-1]
	if !strings.Contains(last, "Completed, batch 3 of 3") || !strings.Contains(last, "6 of 6, 6 ready, 6 serving, 6 at revision 2") {
		t.Fatalf("last frame should show the completed release:\n%s", last)
	}
	seen := map[int]bool{}
	highest, drained := 0, false
	for _, f := range frames {
		m := releaseHeader.FindStringSubmatch(f)
		if m == nil {
			t.Fatalf("a frame without a release line:\n%s", f)
		}
		if strings.Contains(f, "the controller to act on the latest change") || m[1] != "Progressing" {
			continue // the previous release, before the controller saw the change
		}
		batch, _ := strconv.Atoi(m[2])
		if batch < highest {
			t.Errorf("batch went back from %d to %d:\n%s", highest, batch, f)
		}
		highest = max(highest, batch)
		seen[batch] = true
		drained = drained || strings.Contains(f, "drain: ")
	}
	if !seen[1] || !seen[2] || !seen[3] {
		t.Errorf("frames showed batches %v in progress, want 1, 2 and 3; frames:\n%s", seen, out.String())
	}
	if !drained {
		t.Errorf("no frame showed pods draining")
	}
}

// A pause ends the watch once the pods already changing are done.
func TestWatchEndsWhenTheReleasePauses(t *testing.T) {
	ns := env.Namespace(t)
	createCompleted(t, ns, workloadSpec(ns, 6, "pay:v1", autoStrategy))
	var out testenv.SyncBuffer
	setImage(t, ns, "pay:v2")
	done := startWatch(t, ns, &out)
	testenv.Eventually(t, time.Minute, "the watch to draw batch 1", func() (bool, string) {
		return strings.Contains(out.String(), "Progressing, batch 1 of 3"), out.String()
	})
	if p := mustCafe(t, ns, "pause", "pay"); !strings.Contains(p, "paused pay: batch 1 of 3 freezes where it is: pods already changing finish, no other starts") {
		t.Errorf("pause said %q", p)
	}
	frames := waitWatchEnd(t, done, &out)
	last := frames[len(frames)-1]
	m := releaseHeader.FindStringSubmatch(last)
	if m == nil || m[1] != "Paused" || !strings.Contains(last, "(kubectl cafe resume pay)") {
		t.Fatalf("the last frame should show the pause and how to resume:\n%s", last)
	}
	paused := getWorkload(t, ns)
	time.Sleep(2 * time.Second)
	if now := getWorkload(t, ns); now.Status.UpdatedReplicas != paused.Status.UpdatedReplicas {
		t.Errorf("pods kept changing while paused: %d then %d updated", paused.Status.UpdatedReplicas, now.Status.UpdatedReplicas)
	}

	if r := mustCafe(t, ns, "resume", "pay"); !strings.Contains(r, "resumed pay") {
		t.Errorf("resume said %q", r)
	}
	if cd := waitSettled(t, ns); cd.Status.Release.Phase != appsv1alpha1.ReleaseCompleted || cd.Spec.Strategy.Paused {
		t.Errorf("after resume: phase %s, paused %v", cd.Status.Release.Phase, cd.Spec.Strategy.Paused)
	}
	if _, err := cafe(t, ns, "resume", "pay"); err == nil || !strings.Contains(err.Error(), "nothing to resume: pay is neither paused nor aborted (the release is Completed") {
		t.Errorf("resume with nothing paused: %v", err)
	}
}
