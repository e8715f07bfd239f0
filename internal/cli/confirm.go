package cli

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/spf13/cobra"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	appsv1alpha1 "github.com/cafe-dev/cafe/api/apps/v1alpha1"
)

// confirmAttempts bounds the retries of a confirmation whose write lost a
// race with a status update that did not change what it approves.
const confirmAttempts = 5

func newConfirmCommand(root *rootOptions) *cobra.Command {
	var batch int32
	cmd := &cobra.Command{
		Use:   "confirm NAME",
		Short: "Approve the batch the release waits for",
		Long: `Approve the batch a CafeDeployment's release waits for: set
spec.release.confirm to the release's revision and that batch, and record
you in the apps.cafe.dev/confirmed-by annotation.

With --batch N it refuses unless batch N is the one waiting, so a screen read
a while ago cannot approve another batch. The write carries the
resourceVersion it decided on: if the release moved on meanwhile, nothing is
confirmed.`,
		Example: `  kubectl cafe confirm pay --batch 2`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := root.connect()
			if err != nil {
				return err
			}
			var want *int32
			if cmd.Flags().Changed("batch") {
				want = &batch
			}
			return s.confirm(cmd.Context(), args[0], want)
		},
	}
	cmd.Flags().Int32Var(&batch, "batch", 0, "the batch to confirm; refuse unless it is the one waiting")
	return cmd
}

func (s *session) confirm(ctx context.Context, name string, batch *int32) error {
	user := s.user(ctx)
	var decided *appsv1alpha1.ReleaseConfirmation
	for attempt := 1; ; attempt++ {
		cd, err := s.getWorkload(ctx, name)
		if err != nil {
			return err
		}
		pinned := batch
		if decided != nil {
			pinned = &decided.Batch
		}
		c, err := decideConfirm(cd, pinned)
		if decided != nil && (err != nil || c.Revision != decided.Revision) {
			return movedOn(name, err)
		}
		if err != nil {
			return err
		}
		decided = &c
		patch, err := confirmPatch(c, user, cd.ResourceVersion)
		if err != nil {
			return err
		}
		err = s.client.Patch(ctx, cd, client.RawPatch(types.MergePatchType, patch))
		if err == nil {
			fmt.Fprintf(s.opts.streams.Out, "confirmed batch %d of %d of %s's release to revision %s%s\n",
				c.Batch, cd.Status.Release.TotalBatches, name, c.Revision, asUser(user))
			return nil
		}
		if !apierrors.IsConflict(err) {
			return explain(err, cafeDeploymentRequest("patch", name, s.namespace))
		}
		if attempt == confirmAttempts {
			return movedOn(name, err)
		}
	}
}

// decideConfirm says what `confirm` approves: the batch the release waits
// for, at the release's revision. With batch set it refuses unless that
// batch is the one waiting. It refuses too while the status does not yet
// describe the latest spec, since it could then approve a release that is
// no longer the one in the spec.
func decideConfirm(cd *appsv1alpha1.CafeDeployment, batch *int32) (appsv1alpha1.ReleaseConfirmation, error) {
	r := cd.Status.Release
	if cd.Status.ObservedGeneration < cd.Generation {
		return appsv1alpha1.ReleaseConfirmation{}, fmt.Errorf("the controller has not yet acted on the latest change to %s (generation %d, status of generation %d): run kubectl cafe get %s again in a moment",
			cd.Name, cd.Generation, cd.Status.ObservedGeneration, cd.Name)
	}
	if !waitsForConfirmation(cd) {
		return appsv1alpha1.ReleaseConfirmation{}, fmt.Errorf("nothing to confirm: the release is %s (batch %d/%d)%s",
			phaseOrNone(r.Phase), r.Batch, r.TotalBatches, notWaitingHint(cd))
	}
	if batch != nil && *batch != r.Batch {
		return appsv1alpha1.ReleaseConfirmation{}, fmt.Errorf("batch %d is not the one waiting: the release to revision %s waits for batch %d of %d; check with kubectl cafe get %s, then kubectl cafe confirm %s --batch %d",
			*batch, r.Revision, r.Batch, r.TotalBatches, cd.Name, cd.Name, r.Batch)
	}
	return appsv1alpha1.ReleaseConfirmation{Revision: r.Revision, Batch: r.Batch}, nil
}

// waitsForConfirmation: between batches, or paused by failing pods (which a
// new confirmation resumes).
func waitsForConfirmation(cd *appsv1alpha1.CafeDeployment) bool {
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

func phaseOrNone(p appsv1alpha1.ReleasePhase) string {
	if p == "" {
		return "not yet planned"
	}
	return string(p)
}

// confirmPatch is a JSON merge patch that writes the confirmation and who
// gave it, and fails with a conflict unless the object still has
// resourceVersion. An unknown user removes the annotation rather than leave
// an earlier confirmer's name on this confirmation.
func confirmPatch(c appsv1alpha1.ReleaseConfirmation, user, resourceVersion string) ([]byte, error) {
	return json.Marshal(map[string]any{
		"metadata": map[string]any{
			"resourceVersion": resourceVersion,
			"annotations":     confirmedBy(user),
		},
		"spec": map[string]any{"release": map[string]any{"confirm": c}},
	})
}

// confirmedBy is the annotation part of a patch that changes spec.release.
func confirmedBy(user string) map[string]any {
	if user == "" {
		return map[string]any{appsv1alpha1.ConfirmedByAnnotation: nil}
	}
	return map[string]any{appsv1alpha1.ConfirmedByAnnotation: user}
}

func movedOn(name string, cause error) error {
	return fmt.Errorf("the release moved on since it was read, so nothing was confirmed (%v): run kubectl cafe get %s again", cause, name)
}

func asUser(user string) string {
	if user == "" {
		return ""
	}
	return " as " + user
}
