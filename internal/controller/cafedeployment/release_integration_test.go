//go:build integration

package cafedeployment_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	appsv1alpha1 "github.com/cafe-dev/cafe/api/apps/v1alpha1"
	"github.com/cafe-dev/cafe/internal/revision"
	"github.com/cafe-dev/cafe/internal/testenv"
)

var env *testenv.Env

func TestMain(m *testing.M) {
	testenv.Main(m, testenv.Options{RunControllers: true}, &env)
}

// 30 replicas over three units, Beta then batches of 10: Beta changes one pod
// per unit, then 10, 10 and 7; every pause names its batch; confirming
// advances; pods keep UID, name and IP; every change is handed off.
func TestBetaAndBatchReleaseInPlace(t *testing.T) {
	ns := env.Namespace(t)
	createReleased(t, ns, 30)
	before := podsByName(t, ns)
	obs := env.Observe(t, ns)

	setImage(t, ns, "pay:v2")
	cd := waitPhase(t, ns, appsv1alpha1.ReleaseWaitingForConfirmation, 1)
	if got := countImage(podsByName(t, ns), "pay:v2"); got["unit-a"] != 1 || got["unit-b"] != 1 || got["unit-c"] != 1 {
		t.Fatalf("Beta batch should change one pod in every unit, got %v", got)
	}
	if status, msg := conditionMessage(cd, appsv1alpha1.CafeDeploymentWaitingForConfirmation); status != metav1.ConditionTrue || !strings.Contains(msg, "batch 1") {
		t.Fatalf("WaitingForConfirmation should be True naming batch 1, got %s %q", status, msg)
	}
	wantTargets := []int32{3, 13, 23, 30}
	for batch := int32(1); batch <= 3; batch++ {
		confirm(t, ns, batch)
		phase := appsv1alpha1.ReleaseWaitingForConfirmation
		next := batch + 1
		if batch == 3 {
			phase, next = appsv1alpha1.ReleaseCompleted, 3
		}
		cd = waitPhase(t, ns, phase, next)
		if cd.Status.UpdatedReplicas != wantTargets[batch] {
			t.Fatalf("after batch %d: %d pods updated, want %d", batch, cd.Status.UpdatedReplicas, wantTargets[batch])
		}
		if phase == appsv1alpha1.ReleaseWaitingForConfirmation {
			if _, msg := conditionMessage(cd, appsv1alpha1.CafeDeploymentWaitingForConfirmation); !strings.Contains(msg, "batch") {
				t.Fatalf("waiting condition does not name the batch: %q", msg)
			}
		}
	}
	var targets []int32
	for _, b := range cd.Status.Release.Batches {
		targets = append(targets, b.Target)
		if b.Batch > 0 && b.ConfirmedBy == "" {
			t.Errorf("batch %d has no confirmedBy", b.Batch)
		}
	}
	if len(targets) != 4 || targets[0] != 3 || targets[1] != 13 || targets[2] != 23 || targets[3] != 30 {
		t.Fatalf("batch targets %v, want [3 13 23 30] (Beta 3, then 10, 10, 7)", targets)
	}
	after := waitAll(t, ns, 30, "pay:v2")
	for name, p := range after {
		b, ok := before[name]
		if !ok || b.uid != p.uid || b.ip != p.ip {
			t.Errorf("pod %s lost its identity: before %+v after %+v", name, b, p)
		}
	}
	obs.Stop()
	if n := obs.CheckHandoff(t, drain); n != 30 {
		t.Errorf("checked %d hand-offs, want 30", n)
	}
}

// A change that cannot be made in place recreates pods under the same names.
func TestReleaseThatNeedsRecreationKeepsNames(t *testing.T) {
	ns := env.Namespace(t)
	createReleased(t, ns, 6)
	before := podsByName(t, ns)
	obs := env.Observe(t, ns)
	setImage(t, ns, "pay:v2", func(cd *appsv1alpha1.CafeDeployment) {
		cd.Spec.Template.Spec.Containers[0].Env = []corev1.EnvVar{{Name: "MODE", Value: "strict"}}
	})
	releaseAll(t, ns)
	after := waitAll(t, ns, 6, "pay:v2")
	for name, p := range after {
		b, ok := before[name]
		if !ok {
			t.Errorf("pod %s is new: names must be kept", name)
		} else if b.uid == p.uid {
			t.Errorf("pod %s kept its UID although the change needs recreation", name)
		}
	}
	obs.Stop()
	if n := obs.CheckHandoff(t, drain); n != 6 {
		t.Errorf("checked %d hand-offs, want 6", n)
	}
}

// Pausing in the middle of a batch freezes it where it is: the pods that
// had started their change finish it and serve, no other pod starts. Rolling
// back from there brings every pod back.
func TestPauseFreezesABatchMidwayAndRollbackBringsEveryPodBack(t *testing.T) {
	ns := env.Namespace(t)
	createReleased(t, ns, 12)
	setImage(t, ns, "pay:v2")
	waitPhase(t, ns, appsv1alpha1.ReleaseWaitingForConfirmation, 1)
	// Batch 1 changes the other 9 pods, one per unit at a time; pause it as
	// soon as it has changed one.
	confirm(t, ns, 1)
	testenv.Eventually(t, time.Minute, "batch 1 to change a pod", func() (bool, string) {
		n := len(atImage(podsByName(t, ns), "pay:v2"))
		return n > 3, fmt.Sprintf("%d pods at pay:v2", n)
	})
	edit(t, ns, func(cd *appsv1alpha1.CafeDeployment) { cd.Spec.Strategy.Paused = true })
	waitPhase(t, ns, appsv1alpha1.ReleasePaused, 1)
	// The workload records the pause before it passes it down; the freeze
	// holds from when every unit's set has seen it.
	waitSetsPaused(t, ns, 3)

	// Frozen: every pod serves again, and for longer than a pod's change
	// takes (drain and restart) none starts changing.
	var frozen []string
	testenv.Eventually(t, time.Minute, "every pod back in traffic", func() (bool, string) {
		pods := podsByName(t, ns)
		frozen = atImage(pods, "pay:v2")
		ready := 0
		for _, p := range pods {
			if p.ready && p.serving {
				ready++
			}
		}
		return ready == 12, fmt.Sprintf("%d of %d pods ready and serving; %d at pay:v2", ready, len(pods), len(frozen))
	})
	if len(frozen) >= 12 {
		t.Fatalf("batch 1 finished although it was paused midway (%d pods at pay:v2)", len(frozen))
	}
	for end := time.Now().Add(3 * drain); time.Now().Before(end); time.Sleep(100 * time.Millisecond) {
		pods := podsByName(t, ns)
		if now := atImage(pods, "pay:v2"); !slices.Equal(now, frozen) {
			t.Fatalf("paused, yet the pods at pay:v2 went from %v to %v", frozen, now)
		}
		for name, p := range pods {
			if !p.ready || !p.serving {
				t.Fatalf("paused, yet pod %s left traffic", name)
			}
		}
	}
	if cd := get(t, ns); cd.Status.Release.Phase != appsv1alpha1.ReleasePaused || cd.Status.Release.Batch != 1 {
		t.Errorf("release %s at batch %d while paused, want Paused at batch 1", cd.Status.Release.Phase, cd.Status.Release.Batch)
	}

	// Roll back from there: the template returns to v1, released at once.
	setImage(t, ns, "pay:v1", func(cd *appsv1alpha1.CafeDeployment) {
		cd.Spec.Strategy.Paused = false
		cd.Spec.Release.ImmediateRevision = revision.Name(cd.Name, &cd.Spec.Template)
	})
	waitAll(t, ns, 12, "pay:v1")
	cd := get(t, ns)
	if cd.Status.UpdateRevision != cd.Status.Release.Revision {
		t.Errorf("release revision %s is not the rolled-back template's %s", cd.Status.Release.Revision, cd.Status.UpdateRevision)
	}
}

// Abort returns the changed pods to the previous revision and freezes; pause
// only freezes.
func TestAbortDiffersFromPause(t *testing.T) {
	ns := env.Namespace(t)
	createReleased(t, ns, 6)
	setImage(t, ns, "pay:v2")
	waitPhase(t, ns, appsv1alpha1.ReleaseWaitingForConfirmation, 1)
	edit(t, ns, func(cd *appsv1alpha1.CafeDeployment) { cd.Spec.Strategy.Paused = true })
	cd := waitPhase(t, ns, appsv1alpha1.ReleasePaused, 1)
	if status, _ := conditionMessage(cd, appsv1alpha1.CafeDeploymentReleasePaused); status != metav1.ConditionTrue {
		t.Errorf("ReleasePaused condition is %q while paused", status)
	}
	if got := countImage(podsByName(t, ns), "pay:v2"); got["unit-a"]+got["unit-b"]+got["unit-c"] != 3 {
		t.Fatalf("pause must keep the changed pods where they are, got %v", got)
	}
	edit(t, ns, func(cd *appsv1alpha1.CafeDeployment) { cd.Spec.Release.Abort = true })
	waitAll(t, ns, 6, "pay:v1")
	cd = get(t, ns)
	if cd.Status.Release.Phase != appsv1alpha1.ReleaseAborted {
		t.Errorf("phase %s after abort, want Aborted", cd.Status.Release.Phase)
	}
	if cd.Spec.Template.Spec.Containers[0].Image != "pay:v2" {
		t.Errorf("the controller wrote the user's spec")
	}
}

// Pods that crash at the new revision reach the failure threshold (1 by
// default): the release pauses by itself, says why, and changes no further
// pod; rolling the template back releases the old image again.
func TestCrashingPodsPauseTheReleaseByThemselves(t *testing.T) {
	ns := env.Namespace(t)
	createReleased(t, ns, 6)
	// The simulated kubelet crash-loops an image whose name ends in "crash".
	setImage(t, ns, "pay:v2-crash")
	cd := waitPhaseAnyBatch(t, ns, appsv1alpha1.ReleasePaused)
	c := meta.FindStatusCondition(cd.Status.Conditions, appsv1alpha1.CafeDeploymentReleasePaused)
	if c == nil || c.Status != metav1.ConditionTrue || c.Reason != "FailureThresholdReached" {
		t.Fatalf("ReleasePaused condition %+v, want True with reason FailureThresholdReached", c)
	}
	if r := cd.Status.Release; len(r.Batches) != 1 || r.Batches[0].FailureThresholdReachedAt == nil {
		t.Errorf("batches %+v: the Beta batch should record when the threshold was reached", r.Batches)
	}
	// Held: no pod beyond the Beta batch's one per unit takes the image.
	time.Sleep(3 * drain)
	if n := len(atImage(podsByName(t, ns), "pay:v2-crash")); n > 3 {
		t.Errorf("%d pods took the crashing image, want at most the Beta batch's 3", n)
	}
	setImage(t, ns, "pay:v1")
	waitAll(t, ns, 6, "pay:v1")
}
