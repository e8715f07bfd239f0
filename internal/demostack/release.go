package demostack

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	authenticationv1 "k8s.io/api/authentication/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	appsv1alpha1 "github.com/cafe-dev/cafe/api/apps/v1alpha1"
	"github.com/cafe-dev/cafe/internal/releaseops"
)

// Health says whether the service is healthy enough to confirm the next
// batch; a non-nil error holds the release and says why.
type Health func() error

// Release moves the demo to image and confirms each batch itself, but only
// once the batch is fully ready and health passes, as an operator watching
// the dashboards would. It returns when every pod runs the new revision.
//
// With plain Deployments (the baseline) it changes every unit's Deployment
// at once and waits for Kubernetes' rolling updates to finish; health is not
// consulted, as nothing would stop a rolling update.
func (s *Stack) Release(ctx context.Context, image string, health Health) error {
	patch, _ := json.Marshal([]map[string]any{
		{"op": "replace", "path": "/spec/template/spec/containers/0/image", "value": image},
	})
	for _, obj := range s.workloads() {
		if err := s.client.Patch(ctx, obj, client.RawPatch(types.JSONPatchType, patch)); err != nil {
			return fmt.Errorf("start the release of %s: %w", image, err)
		}
	}
	if s.o.Workload == CafeDeploymentWorkload {
		cause, _ := json.Marshal(map[string]any{"metadata": map[string]any{"annotations": map[string]string{appsv1alpha1.ChangeCauseAnnotation: "release " + image}}})
		if err := s.client.Patch(ctx, s.workloads()[0], client.RawPatch(types.MergePatchType, cause)); err != nil {
			return err
		}
	}
	s.o.Log("release to %s started", image)
	return s.rollOut(ctx, "release to "+image, health)
}

// workloads are the objects the demo's pods belong to.
func (s *Stack) workloads() []client.Object {
	if s.o.Workload == PlainDeployments {
		var out []client.Object
		for _, unit := range s.o.Units {
			d := &appsv1.Deployment{}
			d.Namespace, d.Name = s.o.Namespace, App+"-"+unit
			out = append(out, d)
		}
		return out
	}
	cd := &appsv1alpha1.CafeDeployment{}
	cd.Namespace, cd.Name = s.o.Namespace, App
	return []client.Object{cd}
}

// rollOut waits for the workloads to run their template everywhere,
// confirming a CafeDeployment's batches on the way.
func (s *Stack) rollOut(ctx context.Context, what string, health Health) error {
	if s.o.Workload == PlainDeployments {
		return s.waitDeployments(ctx, what)
	}
	user, err := s.user(ctx)
	if err != nil {
		return err
	}
	return s.drive(ctx, what, user, health)
}

// waitDeployments waits until every unit's Deployment has rolled out.
func (s *Stack) waitDeployments(ctx context.Context, what string) error {
	last := ""
	for {
		done, line := true, ""
		for _, obj := range s.workloads() {
			d := obj.(*appsv1.Deployment)
			if err := s.client.Get(ctx, client.ObjectKeyFromObject(d), d); err != nil {
				return err
			}
			want := *d.Spec.Replicas
			st := d.Status
			line += fmt.Sprintf(" %s %d/%d updated, %d available;", d.Name, st.UpdatedReplicas, want, st.AvailableReplicas)
			if st.ObservedGeneration < d.Generation || st.UpdatedReplicas != want || st.AvailableReplicas != want || st.Replicas != want {
				done = false
			}
		}
		if line != last {
			s.o.Log("%s", line)
			last = line
		}
		if done {
			s.o.Log("%s completed", what)
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s: %w (last:%s)", what, ctx.Err(), last)
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// drive follows the CafeDeployment's release, confirming each batch once
// it is healthy, until every pod runs the release's revision. The first
// rollout is a release too: its batches wait for confirmations likewise.
func (s *Stack) drive(ctx context.Context, what, user string, health Health) error {
	key := client.ObjectKey{Namespace: s.o.Namespace, Name: App}
	cd := &appsv1alpha1.CafeDeployment{}
	lastLine, held := "", ""
	for {
		if err := s.client.Get(ctx, key, cd); err != nil {
			return err
		}
		r := cd.Status.Release
		if cd.Status.ObservedGeneration >= cd.Generation {
			line := fmt.Sprintf("batch %d/%d %s: %d/%d at the new revision, %d ready", r.Batch, r.TotalBatches, releaseops.PhaseOrNone(r.Phase), cd.Status.UpdatedReplicas, cd.Status.Replicas, cd.Status.ReadyReplicas)
			if line != lastLine {
				s.o.Log("%s", line)
				lastLine = line
			}
			switch {
			case r.Phase == appsv1alpha1.ReleaseCompleted && cd.Status.UpdatedReadyReplicas == *cd.Spec.Replicas:
				s.o.Log("%s completed", what)
				return nil
			case r.Phase == appsv1alpha1.ReleaseFailed || r.Phase == appsv1alpha1.ReleaseAborted:
				return fmt.Errorf("the release is %s: %s", r.Phase, r.WaitingFor)
			case releaseops.WaitsForConfirmation(cd):
				why := readyToConfirm(cd, health)
				if why != "" {
					if why != held {
						s.o.Log("holding batch %d: %s", r.Batch, why)
						held = why
					}
					break
				}
				if err := s.confirm(ctx, cd, user); err != nil {
					return err
				}
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s: %w (last: %s)", what, ctx.Err(), lastLine)
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// readyToConfirm says what holds the next batch, or "" when nothing does.
func readyToConfirm(cd *appsv1alpha1.CafeDeployment, health Health) string {
	st := cd.Status
	switch {
	case st.ReadyReplicas < st.Replicas:
		return fmt.Sprintf("%d of %d pods ready", st.ReadyReplicas, st.Replicas)
	case st.UpdatedReadyReplicas < st.UpdatedReplicas:
		return fmt.Sprintf("%d of %d released pods ready", st.UpdatedReadyReplicas, st.UpdatedReplicas)
	}
	if health != nil {
		if err := health(); err != nil {
			return err.Error()
		}
	}
	return ""
}

func (s *Stack) confirm(ctx context.Context, cd *appsv1alpha1.CafeDeployment, user string) error {
	c, err := releaseops.DecideConfirm(cd, nil)
	if err != nil {
		return nil // the release moved on meanwhile; look again
	}
	patch, err := releaseops.ConfirmPatch(c, user, cd.ResourceVersion)
	if err != nil {
		return err
	}
	err = s.client.Patch(ctx, cd, client.RawPatch(types.MergePatchType, patch))
	switch {
	case apierrors.IsConflict(err):
		return nil // read again and decide again
	case err != nil:
		return fmt.Errorf("confirm batch %d: %w", c.Batch, err)
	}
	s.o.Log("confirmed batch %d as %s", c.Batch, user)
	return nil
}

// user is who the demo acts as: a confirmation must name its real author.
func (s *Stack) user(ctx context.Context) (string, error) {
	review := &authenticationv1.SelfSubjectReview{}
	if err := s.client.Create(ctx, review); err != nil {
		return "", fmt.Errorf("who am I (a SelfSubjectReview): %w", err)
	}
	return review.Status.UserInfo.Username, nil
}
