package cli

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	appsv1alpha1 "github.com/cafe-dev/cafe/api/apps/v1alpha1"
	"github.com/cafe-dev/cafe/internal/releaseops"
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
		c, err := releaseops.DecideConfirm(cd, pinned)
		if decided != nil && (err != nil || c.Revision != decided.Revision) {
			return movedOn(name, err)
		}
		if err != nil {
			return err
		}
		decided = &c
		patch, err := releaseops.ConfirmPatch(c, user, cd.ResourceVersion)
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

func movedOn(name string, cause error) error {
	return fmt.Errorf("the release moved on since it was read, so nothing was confirmed (%v): run kubectl cafe get %s again", cause, name)
}

func asUser(user string) string {
	if user == "" {
		return ""
	}
	return " as " + user
}
