// Package releaseops holds the release operations that more than one
// client performs on a CafeDeployment (the kubectl plugin, the demo's
// release driver): deciding what a confirmation approves and writing it.
package releaseops

import (
	"encoding/json"
	"fmt"

	"k8s.io/apimachinery/pkg/api/meta"

	appsv1alpha1 "github.com/cafe-dev/cafe/api/apps/v1alpha1"
)

// DecideConfirm says what `confirm` approves: the batch the release waits
// for, at the release's revision. With batch set it refuses unless that
// batch is the one waiting. It refuses too while the status does not yet
// describe the latest spec, since it could then approve a release that is
// no longer the one in the spec.
func DecideConfirm(cd *appsv1alpha1.CafeDeployment, batch *int32) (appsv1alpha1.ReleaseConfirmation, error) {
	r := cd.Status.Release
	if cd.Status.ObservedGeneration < cd.Generation {
		return appsv1alpha1.ReleaseConfirmation{}, fmt.Errorf("the controller has not yet acted on the latest change to %s (generation %d, status of generation %d): run kubectl cafe get %s again in a moment",
			cd.Name, cd.Generation, cd.Status.ObservedGeneration, cd.Name)
	}
	if !WaitsForConfirmation(cd) {
		return appsv1alpha1.ReleaseConfirmation{}, fmt.Errorf("nothing to confirm: the release is %s (batch %d/%d)%s",
			PhaseOrNone(r.Phase), r.Batch, r.TotalBatches, notWaitingHint(cd))
	}
	if batch != nil && *batch != r.Batch {
		return appsv1alpha1.ReleaseConfirmation{}, fmt.Errorf("batch %d is not the one waiting: the release to revision %s waits for batch %d of %d; check with kubectl cafe get %s, then kubectl cafe confirm %s --batch %d",
			*batch, r.Revision, r.Batch, r.TotalBatches, cd.Name, cd.Name, r.Batch)
	}
	return appsv1alpha1.ReleaseConfirmation{Revision: r.Revision, Batch: r.Batch}, nil
}

// WaitsForConfirmation: between batches, or paused by failing pods (which a
// new confirmation resumes).
func WaitsForConfirmation(cd *appsv1alpha1.CafeDeployment) bool {
	switch cd.Status.Release.Phase {
	case appsv1alpha1.ReleaseWaitingForConfirmation:
		return true
	case appsv1alpha1.ReleasePaused:
		return !cd.Spec.Strategy.Paused && meta.IsStatusConditionTrue(cd.Status.Conditions, appsv1alpha1.CafeDeploymentWaitingForConfirmation)
	}
	return false
}

func notWaitingHint(cd *appsv1alpha1.CafeDeployment) string {
	r := cd.Status.Release
	switch r.Phase {
	case appsv1alpha1.ReleaseProgressing:
		return fmt.Sprintf("; batch %d is in progress and starts without a confirmation", r.Batch)
	case appsv1alpha1.ReleasePaused:
		if cd.Spec.Strategy.Paused {
			return fmt.Sprintf("; it is paused: kubectl cafe resume %s", cd.Name)
		}
		return "; it waits for " + r.WaitingFor
	case appsv1alpha1.ReleaseAborted:
		return fmt.Sprintf("; it is aborted: kubectl cafe resume %s lifts the abort", cd.Name)
	case appsv1alpha1.ReleaseFailed:
		return fmt.Sprintf("; batch %d is past its progress deadline: kubectl cafe get %s says what it waits for", r.Batch, cd.Name)
	}
	return ""
}

func PhaseOrNone(p appsv1alpha1.ReleasePhase) string {
	if p == "" {
		return "not yet planned"
	}
	return string(p)
}

// ConfirmPatch is a JSON merge patch that writes the confirmation and who
// gave it, and fails with a conflict unless the object still has
// resourceVersion. An unknown user removes the annotation rather than leave
// an earlier confirmer's name on this confirmation.
func ConfirmPatch(c appsv1alpha1.ReleaseConfirmation, user, resourceVersion string) ([]byte, error) {
	return json.Marshal(map[string]any{
		"metadata": map[string]any{
			"resourceVersion": resourceVersion,
			"annotations":     ConfirmedBy(user),
		},
		"spec": map[string]any{"release": map[string]any{"confirm": c}},
	})
}

// ConfirmedBy is the annotation part of a patch that changes spec.release.
func ConfirmedBy(user string) map[string]any {
	if user == "" {
		return map[string]any{appsv1alpha1.ConfirmedByAnnotation: nil}
	}
	return map[string]any{appsv1alpha1.ConfirmedByAnnotation: user}
}
