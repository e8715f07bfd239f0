package release_test

import (
	"testing"

	appsv1alpha1 "github.com/cafe-dev/cafe/api/apps/v1alpha1"
	"github.com/cafe-dev/cafe/internal/release"
)

// The planner has its own copies of the API's phase and condition names, so
// that it does not depend on the API package; the shell converts them by
// string. They must not drift apart.
func TestNamesMatchTheAPI(t *testing.T) {
	same := [][2]string{
		{string(release.PhaseProgressing), string(appsv1alpha1.ReleaseProgressing)},
		{string(release.PhaseWaitingForConfirmation), string(appsv1alpha1.ReleaseWaitingForConfirmation)},
		{string(release.PhasePaused), string(appsv1alpha1.ReleasePaused)},
		{string(release.PhaseCompleted), string(appsv1alpha1.ReleaseCompleted)},
		{string(release.PhaseAborted), string(appsv1alpha1.ReleaseAborted)},
		{string(release.PhaseFailed), string(appsv1alpha1.ReleaseFailed)},
		{release.ConditionAvailable, appsv1alpha1.CafeDeploymentAvailable},
		{release.ConditionProgressing, appsv1alpha1.CafeDeploymentProgressing},
		{release.ConditionReleasePaused, appsv1alpha1.CafeDeploymentReleasePaused},
		{release.ConditionWaitingForConfirmation, appsv1alpha1.CafeDeploymentWaitingForConfirmation},
		{release.ConditionProgressDeadlineExceeded, appsv1alpha1.CafeDeploymentProgressDeadlineExceeded},
	}
	for _, pair := range same {
		if pair[0] != pair[1] {
			t.Errorf("planner says %q, the API %q", pair[0], pair[1])
		}
	}
}
