package cli

import (
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/api/meta"

	appsv1alpha1 "github.com/cafe-dev/cafe/api/apps/v1alpha1"
)

// waitingFor says in words what the release waits for: first what moves it
// on (a confirmation, a resume, the batch becoming available), phrased as
// the command to run, then what its pods wait for (readiness, drain,
// capacity) and a missed deadline.
func waitingFor(cd *appsv1alpha1.CafeDeployment, v WorkloadView) []string {
	var out []string
	if v.ObservedGeneration < v.Generation {
		out = append(out, fmt.Sprintf("the controller to act on the latest change (generation %d; what follows describes generation %d)",
			v.Generation, v.ObservedGeneration))
	}
	r := v.Release
	switch appsv1alpha1.ReleasePhase(r.Phase) {
	case appsv1alpha1.ReleaseCompleted:
	case appsv1alpha1.ReleaseWaitingForConfirmation:
		out = append(out, fmt.Sprintf("confirmation of batch %d of %d: kubectl cafe confirm %s --batch %d", r.Batch, r.TotalBatches, v.Name, r.Batch))
	case appsv1alpha1.ReleasePaused:
		switch {
		case meta.IsStatusConditionTrue(cd.Status.Conditions, appsv1alpha1.CafeDeploymentWaitingForConfirmation):
			out = append(out, fmt.Sprintf("confirmation after failing pods reached the failure threshold: kubectl cafe confirm %s --batch %d goes on, kubectl cafe rollback %s goes back",
				v.Name, r.Batch, v.Name))
		case r.Paused && !lastBatchEnded(cd.Status.Release.Batches):
			out = append(out, fmt.Sprintf("resume: the release is paused midway through batch %d of %d; pods already changing finish, no other starts (kubectl cafe resume %s)", r.Batch, r.TotalBatches, v.Name))
		case r.Paused:
			out = append(out, fmt.Sprintf("resume: the release is paused before batch %d of %d (kubectl cafe resume %s)", r.Batch, r.TotalBatches, v.Name))
		default:
			out = append(out, cd.Status.Release.WaitingFor)
		}
	case appsv1alpha1.ReleaseAborted:
		out = append(out, fmt.Sprintf("the abort to be lifted (kubectl cafe resume %s); meanwhile the changed pods return to revision %s",
			v.Name, v.Stable.short()))
	default:
		if w := cd.Status.Release.WaitingFor; w != "" {
			out = append(out, w)
		}
	}
	out = append(out, podWaits(v)...)
	if c := meta.FindStatusCondition(cd.Status.Conditions, appsv1alpha1.CafeDeploymentProgressDeadlineExceeded); c != nil && c.Status == "True" {
		out = append(out, "deadline: "+c.Message)
	}
	if c := meta.FindStatusCondition(cd.Status.Conditions, appsv1alpha1.CafeDeploymentReplicaFailure); c != nil && c.Status == "True" {
		out = append(out, "pod creation: "+c.Message)
	}
	return out
}

// podWaits groups the pods that are not simply serving by what they wait
// for.
func podWaits(v WorkloadView) []string {
	var readiness, drain, failing []string
	var out []string
	for _, u := range v.Units {
		var pending []string
		for _, p := range u.Slots {
			switch p.Status {
			case statusServing, statusStopped, statusTerminating:
			case statusStarting, statusJoining:
				readiness = append(readiness, p.Name)
			case statusDraining, statusStopping:
				drain = append(drain, p.Name)
			case statusPending, statusUnschedulable:
				pending = append(pending, p.Name)
			default:
				failing = append(failing, p.Name+" "+p.Status)
			}
		}
		if len(pending) > 0 {
			out = append(out, fmt.Sprintf("capacity: %s has %s no node has taken: %s", u.Name, pods(len(pending)), names(pending)))
		}
	}
	var head []string
	if len(readiness) > 0 {
		head = append(head, fmt.Sprintf("readiness: %s not ready or not yet back in traffic: %s", pods(len(readiness)), names(readiness)))
	}
	if len(drain) > 0 {
		head = append(head, fmt.Sprintf("drain: %s leaving traffic: %s", pods(len(drain)), names(drain)))
	}
	if len(failing) > 0 {
		head = append(head, fmt.Sprintf("failing: %s", names(failing)))
	}
	return append(head, out...)
}

func pods(n int) string {
	if n == 1 {
		return "1 pod"
	}
	return fmt.Sprintf("%d pods", n)
}

// names lists up to three names and counts the rest, so a line stays
// readable at a hundred pods.
func names(all []string) string {
	const shown = 3
	if len(all) <= shown {
		return strings.Join(all, ", ")
	}
	return fmt.Sprintf("%s and %d more", strings.Join(all[:shown], ", "), len(all)-shown)
}
