//go:build integration

package cafedeployment_test

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	appsv1alpha1 "github.com/cafe-dev/cafe/api/apps/v1alpha1"
	"github.com/cafe-dev/cafe/internal/testenv"
)

// Each batch is marked by one BatchStarted and one BatchCompleted event. The
// batch records on the revision say what was announced: a controller stopped
// after storing the status and before recording (here: the record taken
// away) sends the events again under the same names, so a lost event comes
// back and one that was sent is not doubled.
func TestEveryBatchIsAnnouncedOnceEvenWhenTheRecordIsLost(t *testing.T) {
	ns := env.Namespace(t)
	createReleased(t, ns, 6)
	setImage(t, ns, "pay:v2")
	revision := waitPhase(t, ns, appsv1alpha1.ReleaseWaitingForConfirmation, 1).Status.Release.Revision
	beta := []string{"BatchStarted: batch 0 started", "BatchCompleted: batch 0 completed"}
	sent := waitBatchEvents(t, ns, revision, beta)

	// Stopped after sending the events, before recording them.
	dropRecord(t, ns, revision)
	if again := waitBatchEvents(t, ns, revision, beta); !maps.Equal(again, sent) {
		t.Errorf("events sent again under other names:\nbefore %v\nafter  %v", sent, again)
	}

	// Stopped before sending them.
	for name := range sent {
		ev := &corev1.Event{}
		ev.Namespace, ev.Name = ns, name
		if err := env.Client.Delete(context.Background(), ev); err != nil {
			t.Fatal(err)
		}
	}
	dropRecord(t, ns, revision)
	if again := waitBatchEvents(t, ns, revision, beta); !maps.Equal(again, sent) {
		t.Errorf("lost events came back under other names:\nbefore %v\nafter  %v", sent, again)
	}

	// The rest of the release: every batch, once each, with who approved it.
	releaseAll(t, ns)
	cd := get(t, ns)
	var want []string
	for _, b := range cd.Status.Release.Batches {
		started := fmt.Sprintf("BatchStarted: batch %d started", b.Batch)
		if b.ConfirmedBy != "" {
			started = fmt.Sprintf("BatchStarted: batch %d started: %d pods at revision %s when complete, approved by %s", b.Batch, b.Target, revision, b.ConfirmedBy)
		}
		want = append(want, started, fmt.Sprintf("BatchCompleted: batch %d completed", b.Batch))
	}
	if len(cd.Status.Release.Batches) < 2 {
		t.Fatalf("batches %+v: want Beta and at least one more", cd.Status.Release.Batches)
	}
	waitBatchEvents(t, ns, revision, want)
}

// dropRecord removes the batch records from the revision and waits until
// the controller has put them back.
func dropRecord(t *testing.T, ns, revision string) {
	t.Helper()
	rev := &appsv1.ControllerRevision{}
	rev.Namespace, rev.Name = ns, revision
	patch := fmt.Sprintf(`{"metadata":{"annotations":{%q:null}}}`, appsv1alpha1.ReleaseBatchesAnnotation)
	if err := env.Client.Patch(context.Background(), rev, client.RawPatch(types.MergePatchType, []byte(patch))); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, time.Minute, "the batch records back on "+revision, func() (bool, string) {
		if err := env.Client.Get(context.Background(), client.ObjectKeyFromObject(rev), rev); err != nil {
			return false, err.Error()
		}
		return rev.Annotations[appsv1alpha1.ReleaseBatchesAnnotation] != "", "no record"
	})
}

// waitBatchEvents waits until the workload's batch events for revision are,
// one for one, those whose "reason: message" start with want, and returns
// them by name.
func waitBatchEvents(t *testing.T, ns, revision string, want []string) map[string]string {
	t.Helper()
	var byName map[string]string
	testenv.Eventually(t, time.Minute, fmt.Sprintf("batch events %q", want), func() (bool, string) {
		var list corev1.EventList
		if err := env.Client.List(context.Background(), &list, client.InNamespace(ns)); err != nil {
			return false, err.Error()
		}
		byName = map[string]string{}
		for _, ev := range list.Items {
			if ev.InvolvedObject.Kind == "CafeDeployment" && strings.HasPrefix(ev.Reason, "Batch") &&
				strings.Contains(ev.Message, "revision "+revision) {
				byName[ev.Name] = ev.Reason + ": " + ev.Message
			}
		}
		got := slices.Sorted(maps.Values(byName))
		if len(got) != len(want) {
			return false, fmt.Sprintf("%d events: %q", len(got), got)
		}
		for _, w := range want {
			if !slices.ContainsFunc(got, func(g string) bool { return strings.HasPrefix(g, w) }) {
				return false, fmt.Sprintf("none is %q: %q", w, got)
			}
		}
		return true, ""
	})
	return byName
}
