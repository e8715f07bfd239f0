//go:build integration

package cafedeployment_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	appsv1alpha1 "github.com/cafe-dev/cafe/api/apps/v1alpha1"
	"github.com/cafe-dev/cafe/internal/testenv"
)

// revisionHistoryLimit counts the revisions kept besides those pods run: a
// finished release keeps its own and the limit's newest others; a release
// in progress keeps the revision its unchanged pods still run even when that
// goes beyond the limit.
func TestRevisionHistoryKeepsTheLimitAndWhatPodsRun(t *testing.T) {
	ns := env.Namespace(t)
	createReleased(t, ns, 6, func(cd *appsv1alpha1.CafeDeployment) { cd.Spec.RevisionHistoryLimit = ptr.To[int32](1) })
	released := map[string]string{"pay:v1": get(t, ns).Status.UpdateRevision}
	for _, image := range []string{"pay:v2", "pay:v3"} {
		setImage(t, ns, image)
		releaseAll(t, ns)
		waitAll(t, ns, 6, image)
		released[image] = get(t, ns).Status.UpdateRevision
	}
	waitRevisions(t, ns, released["pay:v2"], released["pay:v3"])

	// Halfway through the next release, v3 still runs on the pods the Beta
	// batch left alone: it is kept as well as the limit's one other.
	setImage(t, ns, "pay:v4")
	cd := waitPhase(t, ns, appsv1alpha1.ReleaseWaitingForConfirmation, 1)
	released["pay:v4"] = cd.Status.UpdateRevision
	waitRevisions(t, ns, released["pay:v2"], released["pay:v3"], released["pay:v4"])

	releaseAll(t, ns)
	waitAll(t, ns, 6, "pay:v4")
	waitRevisions(t, ns, released["pay:v3"], released["pay:v4"])
}

// waitRevisions waits until the workload's own ControllerRevisions (not its
// InPlaceSets') are exactly want.
func waitRevisions(t *testing.T, ns string, want ...string) {
	t.Helper()
	slices.Sort(want)
	testenv.Eventually(t, time.Minute, fmt.Sprintf("revisions %v", want), func() (bool, string) {
		var list appsv1.ControllerRevisionList
		if err := env.Client.List(context.Background(), &list, client.InNamespace(ns)); err != nil {
			return false, err.Error()
		}
		var got []string
		for _, r := range list.Items {
			if owner := metav1.GetControllerOf(&r); owner != nil && owner.Kind == "CafeDeployment" {
				got = append(got, r.Name)
			}
		}
		slices.Sort(got)
		return slices.Equal(got, want), fmt.Sprintf("revisions %v", got)
	})
}
