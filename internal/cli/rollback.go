package cli

import (
	"context"
	"fmt"
	"strings"

	"github.com/spf13/cobra"
	appsv1 "k8s.io/api/apps/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"

	appsv1alpha1 "github.com/cafe-dev/cafe/api/apps/v1alpha1"
	"github.com/cafe-dev/cafe/internal/revision"
)

// rollbackAttempts bounds retries of a rollback whose write lost a race
// with a status update.
const rollbackAttempts = 5

func newRollbackCommand(root *rootOptions) *cobra.Command {
	var to int64
	var immediate bool
	cmd := &cobra.Command{
		Use:   "rollback NAME",
		Short: "Put a kept revision's template back, released in batches or at once",
		Long: `Roll a CafeDeployment back: copy the pod template of a kept revision (by
default the one before the current template) into the spec, with the change
cause "rollback to revision N". The rollback is a release like any other:
in batches, with confirmations, unless --immediate releases every remaining
pod in one batch. Pods already at that revision are not touched. It lifts an
abort; a paused workload stays paused until kubectl cafe resume.

--immediate sets spec.release.immediateRevision to the revision rolled back
to: it applies to that release only, and the next template change is
released by the strategy again.`,
		Example: `  kubectl cafe rollback pay
  kubectl cafe rollback pay --to-revision 1 --immediate`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return withSession(root, func(s *session) error { return s.rollback(cmd.Context(), args[0], to, immediate) })
		},
	}
	cmd.Flags().Int64Var(&to, "to-revision", 0, "the revision to go back to (kubectl cafe history lists them); default the one before the current template")
	cmd.Flags().BoolVar(&immediate, "immediate", false, "release every remaining pod in one batch, with no Beta batch and no confirmation")
	return cmd
}

func (s *session) rollback(ctx context.Context, name string, to int64, immediate bool) error {
	user := s.user(ctx)
	for attempt := 1; ; attempt++ {
		cd, err := s.getWorkload(ctx, name)
		if err != nil {
			return err
		}
		revs, err := s.revisions(ctx, cd)
		if err != nil {
			return err
		}
		target, err := chooseRollback(name, revs, revision.Name(cd.Name, &cd.Spec.Template), to)
		if err != nil {
			return err
		}
		template, err := revision.Template(target)
		if err != nil {
			return err
		}
		to = target.Revision // a retry goes to the same revision
		cd.Spec.Template = *template
		cd.Spec.Release.ImmediateRevision = ""
		if immediate {
			cd.Spec.Release.ImmediateRevision = target.Name
		}
		cd.Spec.Release.Abort = false
		if cd.Annotations == nil {
			cd.Annotations = map[string]string{}
		}
		cd.Annotations[appsv1alpha1.ChangeCauseAnnotation] = fmt.Sprintf("rollback to revision %d", target.Revision)
		if user != "" {
			// Naming the rollback's revision in spec.release (batch 0
			// approves no batch) records the user as the release's
			// requester; the admission policy checks the name.
			cd.Spec.Release.Confirm = &appsv1alpha1.ReleaseConfirmation{Revision: target.Name, Batch: 0}
			cd.Annotations[appsv1alpha1.ConfirmedByAnnotation] = user
		} else {
			delete(cd.Annotations, appsv1alpha1.ConfirmedByAnnotation)
		}
		err = s.client.Update(ctx, cd)
		if apierrors.IsConflict(err) && attempt < rollbackAttempts {
			continue
		}
		if err != nil {
			return explain(err, cafeDeploymentRequest("update", name, s.namespace))
		}
		how := "in batches, with its confirmations"
		if immediate {
			how = "at once (--immediate)"
		}
		fmt.Fprintf(s.opts.streams.Out, "rolling %s back to revision %d (%s, %s) %s; kubectl cafe get %s --watch follows it\n",
			name, target.Revision, target.Name, strings.Join(images(template.Spec.Containers), " "), how, name)
		if cd.Spec.Strategy.Paused {
			fmt.Fprintf(s.opts.streams.Out, "%s is paused: kubectl cafe resume %s lets the rollback start\n", name, name)
		}
		return nil
	}
}

// chooseRollback picks the revision to roll back to among revs (oldest
// number first): number to, or with to 0 the highest number below the
// revision of the current template. A current template with no revision
// yet counts as the newest.
func chooseRollback(name string, revs []appsv1.ControllerRevision, current string, to int64) (*appsv1.ControllerRevision, error) {
	var newest, currentNumber int64
	var kept []string
	for _, r := range revs {
		newest = max(newest, r.Revision)
		kept = append(kept, fmt.Sprint(r.Revision))
		if r.Name == current {
			currentNumber = r.Revision
		}
	}
	if currentNumber == 0 {
		currentNumber = newest + 1
	}
	if to == currentNumber {
		return nil, fmt.Errorf("revision %d is %s's current template already (kubectl cafe history %s lists the others)", to, name, name)
	}
	var found *appsv1.ControllerRevision
	for i := range revs {
		r := &revs[i]
		if (to == 0 && r.Revision < currentNumber) || (to != 0 && r.Revision == to) {
			found = r
		}
	}
	switch {
	case found != nil:
		return found, nil
	case to == 0:
		return nil, fmt.Errorf("%s has no revision before %d to roll back to (kubectl cafe history %s lists the kept revisions)", name, currentNumber, name)
	}
	return nil, fmt.Errorf("%s has no revision %d; the kept revisions are %s (kubectl cafe history %s)", name, to, strings.Join(kept, ", "), name)
}
