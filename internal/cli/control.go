package cli

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	appsv1alpha1 "github.com/cafe-dev/cafe/api/apps/v1alpha1"
	"github.com/cafe-dev/cafe/internal/releaseops"
)

func newPauseCommand(root *rootOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "pause NAME",
		Short: "Freeze the release where it is (spec.strategy.paused)",
		Long: `Pause a CafeDeployment's release: no new batch starts, and in the batch in
progress no further pod starts to change; pods already out of traffic for
their change finish it and serve again. kubectl cafe resume goes on.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return withSession(root, func(s *session) error { return s.pause(cmd.Context(), args[0]) })
		},
	}
}

func newResumeCommand(root *rootOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "resume NAME",
		Short: "Let a paused or aborted release go on",
		Long: `Resume a CafeDeployment's release: clear spec.strategy.paused and
spec.release.abort. After an abort the release starts again from the pods'
real state.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return withSession(root, func(s *session) error { return s.resume(cmd.Context(), args[0]) })
		},
	}
}

func newAbortCommand(root *rootOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "abort NAME",
		Short: "Stop the release and return the pods it changed to the stable revision",
		Long: `Abort a CafeDeployment's release (spec.release.abort): no batch starts, and
every pod the release changed returns to the stable revision at once, drained
first. The template stays as it is: kubectl cafe resume starts the release
again, kubectl cafe rollback replaces the template.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return withSession(root, func(s *session) error { return s.abort(cmd.Context(), args[0]) })
		},
	}
}

func withSession(root *rootOptions, run func(*session) error) error {
	s, err := root.connect()
	if err != nil {
		return err
	}
	return run(s)
}

func (s *session) pause(ctx context.Context, name string) error {
	cd, err := s.getWorkload(ctx, name)
	if err != nil {
		return err
	}
	if cd.Spec.Strategy.Paused {
		fmt.Fprintf(s.opts.streams.Out, "%s is already paused (kubectl cafe resume %s goes on)\n", name, name)
		return nil
	}
	if err := s.mergePatch(ctx, cd, map[string]any{"spec": map[string]any{"strategy": map[string]any{"paused": true}}}); err != nil {
		return err
	}
	fmt.Fprintf(s.opts.streams.Out, "paused %s: %s; kubectl cafe resume %s goes on\n", name, pauseEffect(cd), name)
	return nil
}

// pauseEffect says what a pause does to the release as it stands.
func pauseEffect(cd *appsv1alpha1.CafeDeployment) string {
	r := cd.Status.Release
	switch r.Phase {
	case appsv1alpha1.ReleaseProgressing, appsv1alpha1.ReleaseFailed:
		return fmt.Sprintf("batch %d of %d freezes where it is: pods already changing finish, no other starts", r.Batch, r.TotalBatches)
	case appsv1alpha1.ReleaseCompleted, "":
		return "no release is in progress; the next one will not start its first batch"
	}
	return fmt.Sprintf("batch %d of %d will not start", r.Batch, r.TotalBatches)
}

func (s *session) resume(ctx context.Context, name string) error {
	cd, err := s.getWorkload(ctx, name)
	if err != nil {
		return err
	}
	if !cd.Spec.Strategy.Paused && !cd.Spec.Release.Abort {
		r := cd.Status.Release
		return fmt.Errorf("nothing to resume: %s is neither paused nor aborted (the release is %s, batch %d/%d)%s",
			name, releaseops.PhaseOrNone(r.Phase), r.Batch, r.TotalBatches, confirmHint(cd))
	}
	aborted := cd.Spec.Release.Abort
	patch := map[string]any{"spec": map[string]any{"strategy": map[string]any{"paused": false}}}
	if aborted {
		patch["spec"].(map[string]any)["release"] = map[string]any{"abort": false}
		patch["metadata"] = map[string]any{"annotations": releaseops.ConfirmedBy(s.user(ctx))}
	}
	if err := s.mergePatch(ctx, cd, patch); err != nil {
		return err
	}
	what := "resumed"
	if aborted {
		what = "lifted the abort of"
	}
	fmt.Fprintf(s.opts.streams.Out, "%s %s: kubectl cafe get %s --watch follows the release\n", what, name, name)
	return nil
}

func confirmHint(cd *appsv1alpha1.CafeDeployment) string {
	if releaseops.WaitsForConfirmation(cd) {
		return fmt.Sprintf("; it waits for a confirmation: kubectl cafe confirm %s --batch %d", cd.Name, cd.Status.Release.Batch)
	}
	return ""
}

func (s *session) abort(ctx context.Context, name string) error {
	cd, err := s.getWorkload(ctx, name)
	if err != nil {
		return err
	}
	r := cd.Status.Release
	switch {
	case cd.Spec.Release.Abort:
		fmt.Fprintf(s.opts.streams.Out, "%s's release is already aborted (kubectl cafe resume %s lifts the abort)\n", name, name)
		return nil
	case r.Phase == appsv1alpha1.ReleaseCompleted && cd.Status.ObservedGeneration == cd.Generation:
		return fmt.Errorf("nothing to abort: the release to revision %s is complete; kubectl cafe rollback %s goes back to the previous revision", r.Revision, name)
	}
	patch := map[string]any{
		"metadata": map[string]any{"annotations": releaseops.ConfirmedBy(s.user(ctx))},
		"spec":     map[string]any{"release": map[string]any{"abort": true}},
	}
	if err := s.mergePatch(ctx, cd, patch); err != nil {
		return err
	}
	fmt.Fprintf(s.opts.streams.Out, "aborted %s's release to revision %s: the pods it changed return to revision %s; kubectl cafe resume %s starts it again\n",
		name, r.Revision, cd.Status.CurrentRevision, name)
	return nil
}

// mergePatch writes a JSON merge patch to a workload.
func (s *session) mergePatch(ctx context.Context, cd *appsv1alpha1.CafeDeployment, patch map[string]any) error {
	data, err := json.Marshal(patch)
	if err != nil {
		return err
	}
	err = s.client.Patch(ctx, cd, client.RawPatch(types.MergePatchType, data))
	return explain(err, cafeDeploymentRequest("patch", cd.Name, cd.Namespace))
}
