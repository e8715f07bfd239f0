package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"

	appsv1alpha1 "github.com/cafe-dev/cafe/api/apps/v1alpha1"
	"github.com/cafe-dev/cafe/internal/releaseops"
)

func TestDecideConfirmApprovesOnlyTheBatchThatWaits(t *testing.T) {
	failing := func(cd *appsv1alpha1.CafeDeployment) {
		cd.Status.Conditions = []metav1.Condition{{Type: appsv1alpha1.CafeDeploymentWaitingForConfirmation, Status: metav1.ConditionTrue, Reason: "FailureThresholdReached"}}
	}
	cases := []struct {
		name    string
		phase   appsv1alpha1.ReleasePhase
		edit    func(*appsv1alpha1.CafeDeployment)
		batch   *int32
		wantErr string
	}{
		{name: "the waiting batch by default", phase: appsv1alpha1.ReleaseWaitingForConfirmation},
		{name: "the waiting batch by number", phase: appsv1alpha1.ReleaseWaitingForConfirmation, batch: ptr.To[int32](2)},
		{name: "another batch", phase: appsv1alpha1.ReleaseWaitingForConfirmation, batch: ptr.To[int32](3),
			wantErr: "batch 3 is not the one waiting: the release to revision pay-v2 waits for batch 2 of 4; check with kubectl cafe get pay, then kubectl cafe confirm pay --batch 2"},
		{name: "a batch already approved", phase: appsv1alpha1.ReleaseWaitingForConfirmation, batch: ptr.To[int32](1),
			wantErr: "batch 1 is not the one waiting"},
		{name: "paused by failing pods", phase: appsv1alpha1.ReleasePaused, edit: failing, batch: ptr.To[int32](2)},
		{name: "paused by failing pods and by the user", phase: appsv1alpha1.ReleasePaused,
			edit:    func(cd *appsv1alpha1.CafeDeployment) { failing(cd); cd.Spec.Strategy.Paused = true },
			wantErr: "nothing to confirm: the release is Paused (batch 2/4); it is paused: kubectl cafe resume pay"},
		{name: "progressing", phase: appsv1alpha1.ReleaseProgressing,
			wantErr: "nothing to confirm: the release is Progressing (batch 2/4); batch 2 is in progress and starts without a confirmation"},
		{name: "completed", phase: appsv1alpha1.ReleaseCompleted, wantErr: "nothing to confirm: the release is Completed (batch 2/4)"},
		{name: "aborted", phase: appsv1alpha1.ReleaseAborted, wantErr: "it is aborted: kubectl cafe resume pay lifts the abort"},
		{name: "past its deadline", phase: appsv1alpha1.ReleaseFailed, wantErr: "batch 2 is past its progress deadline"},
		{name: "status behind the spec", phase: appsv1alpha1.ReleaseWaitingForConfirmation,
			edit:    func(cd *appsv1alpha1.CafeDeployment) { cd.Generation = 4 },
			wantErr: "the controller has not yet acted on the latest change to pay (generation 4, status of generation 3)"},
	}
	for _, c := range cases {
		cd := fixtureWorkload(2, c.phase, 2, 4, "unit-a")
		if c.edit != nil {
			c.edit(cd)
		}
		got, err := releaseops.DecideConfirm(cd, c.batch)
		switch {
		case c.wantErr == "" && err != nil:
			t.Errorf("%s: %v", c.name, err)
		case c.wantErr == "" && got != (appsv1alpha1.ReleaseConfirmation{Revision: "pay-v2", Batch: 2}):
			t.Errorf("%s: confirms %+v, want batch 2 of pay-v2", c.name, got)
		case c.wantErr != "" && (err == nil || !strings.Contains(err.Error(), c.wantErr)):
			t.Errorf("%s: error %v, want %q", c.name, err, c.wantErr)
		}
	}
}

func TestConfirmPatchCarriesTheResourceVersionAndTheUser(t *testing.T) {
	for _, user := range []string{"alice", ""} {
		data, err := releaseops.ConfirmPatch(appsv1alpha1.ReleaseConfirmation{Revision: "pay-v2", Batch: 2}, user, "42")
		if err != nil {
			t.Fatal(err)
		}
		var got struct {
			Metadata struct {
				ResourceVersion string             `json:"resourceVersion"`
				Annotations     map[string]*string `json:"annotations"`
			} `json:"metadata"`
			Spec appsv1alpha1.CafeDeploymentSpec `json:"spec"`
		}
		if err := json.Unmarshal(data, &got); err != nil {
			t.Fatal(err)
		}
		who, present := got.Metadata.Annotations[appsv1alpha1.ConfirmedByAnnotation]
		if got.Metadata.ResourceVersion != "42" || *got.Spec.Release.Confirm != (appsv1alpha1.ReleaseConfirmation{Revision: "pay-v2", Batch: 2}) || !present {
			t.Errorf("patch %s", data)
		}
		// An unknown user removes an earlier confirmer's name.
		if (user == "" && who != nil) || (user != "" && (who == nil || *who != user)) {
			t.Errorf("user %q: patch %s", user, data)
		}
	}
}

// fakeSession is a session on controller-runtime's fake client, as user
// "alice" (the fake serves no SelfSubjectReview, so the name comes from
// --as).
func fakeSession(t *testing.T, funcs interceptor.Funcs, objs ...client.Object) (*session, *bytes.Buffer) {
	t.Helper()
	var out bytes.Buffer
	flags := genericclioptions.NewConfigFlags(false)
	flags.Impersonate = ptr.To("alice")
	c := interceptor.NewClient(fake.NewClientBuilder().WithScheme(scheme).WithObjects(objs...).Build(), funcs)
	return &session{client: c, namespace: "demo", opts: &rootOptions{streams: genericiooptions.IOStreams{Out: &out, ErrOut: &out}, flags: flags}}, &out
}

// A status write between the read and the confirmation does not change
// what it approves: the confirmation is retried and lands.
func TestConfirmRetriesWhenOnlyTheStatusMoved(t *testing.T) {
	cd := fixtureWorkload(2, appsv1alpha1.ReleaseWaitingForConfirmation, 2, 4, "unit-a")
	patches := 0
	s, out := fakeSession(t, interceptor.Funcs{Patch: func(ctx context.Context, c client.WithWatch, obj client.Object, p client.Patch, opts ...client.PatchOption) error {
		if patches++; patches == 1 {
			moveStatus(t, c, func(cd *appsv1alpha1.CafeDeployment) { cd.Status.ReadyReplicas++ })
		}
		return c.Patch(ctx, obj, p, opts...)
	}}, cd)
	if err := s.confirm(context.Background(), "pay", ptr.To[int32](2)); err != nil {
		t.Fatal(err)
	}
	if patches != 2 {
		t.Errorf("%d patches, want a conflict and a retry", patches)
	}
	got, err := s.getWorkload(context.Background(), "pay")
	if err != nil {
		t.Fatal(err)
	}
	if c := got.Spec.Release.Confirm; c == nil || *c != (appsv1alpha1.ReleaseConfirmation{Revision: "pay-v2", Batch: 2}) || got.Annotations[appsv1alpha1.ConfirmedByAnnotation] != "alice" {
		t.Fatalf("confirm %+v by %q", c, got.Annotations[appsv1alpha1.ConfirmedByAnnotation])
	}
	if !strings.Contains(out.String(), "confirmed batch 2 of 4 of pay's release to revision pay-v2 as alice") {
		t.Errorf("output %q", out.String())
	}
}

// A release that moved on between the read and the confirmation is not
// approved in its new state.
func TestConfirmRefusesWhenTheReleaseMovedOn(t *testing.T) {
	cd := fixtureWorkload(2, appsv1alpha1.ReleaseWaitingForConfirmation, 2, 4, "unit-a")
	s, _ := fakeSession(t, interceptor.Funcs{Patch: func(ctx context.Context, c client.WithWatch, obj client.Object, p client.Patch, opts ...client.PatchOption) error {
		moveStatus(t, c, func(cd *appsv1alpha1.CafeDeployment) { cd.Status.Release.Batch = 3 })
		return c.Patch(ctx, obj, p, opts...)
	}}, cd)
	err := s.confirm(context.Background(), "pay", nil)
	if err == nil || !strings.Contains(err.Error(), "the release moved on since it was read, so nothing was confirmed") || !strings.Contains(err.Error(), "run kubectl cafe get pay again") {
		t.Fatalf("error %v", err)
	}
	got, _ := s.getWorkload(context.Background(), "pay")
	if got.Spec.Release.Confirm != nil {
		t.Fatalf("confirmed %+v although the release moved on", got.Spec.Release.Confirm)
	}
}

// moveStatus changes the stored workload as the controller would.
func moveStatus(t *testing.T, c client.Client, change func(*appsv1alpha1.CafeDeployment)) {
	t.Helper()
	var cd appsv1alpha1.CafeDeployment
	if err := c.Get(context.Background(), client.ObjectKey{Namespace: "demo", Name: "pay"}, &cd); err != nil {
		t.Fatal(err)
	}
	change(&cd)
	if err := c.Update(context.Background(), &cd); err != nil {
		t.Fatal(err)
	}
}
