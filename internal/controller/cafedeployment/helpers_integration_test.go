//go:build integration

package cafedeployment_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	appsv1alpha1 "github.com/cafe-dev/cafe/api/apps/v1alpha1"
	"github.com/cafe-dev/cafe/internal/testenv"
)

const drain = time.Second

var units = []string{"unit-a", "unit-b", "unit-c"}

func newWorkload(ns string, replicas int32, image string) *appsv1alpha1.CafeDeployment {
	labels := map[string]string{"app": "pay"}
	var us []appsv1alpha1.UnitSpec
	for _, u := range units {
		us = append(us, appsv1alpha1.UnitSpec{Name: u})
	}
	return &appsv1alpha1.CafeDeployment{
		ObjectMeta: metav1.ObjectMeta{Name: "pay", Namespace: ns},
		Spec: appsv1alpha1.CafeDeploymentSpec{
			Replicas: ptr.To(replicas),
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Topology: appsv1alpha1.Topology{Units: us},
			Strategy: appsv1alpha1.CafeDeploymentStrategy{
				Type:           appsv1alpha1.ReleaseBeta,
				BatchSize:      ptr.To(intstr.FromInt32(10)),
				NeedConfirm:    true,
				TrafficHandoff: appsv1alpha1.TrafficHandoff{DrainSeconds: ptr.To(int32(drain / time.Second)), MaxWaitSeconds: ptr.To[int32](60)},
			},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: image}}},
			},
		},
	}
}

func service(ns string) *corev1.Service {
	return &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "pay", Namespace: ns},
		Spec:       corev1.ServiceSpec{Selector: map[string]string{"app": "pay"}, Ports: []corev1.ServicePort{{Port: 80}}},
	}
}

func get(t *testing.T, ns string) *appsv1alpha1.CafeDeployment {
	t.Helper()
	var cd appsv1alpha1.CafeDeployment
	if err := env.Client.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: "pay"}, &cd); err != nil {
		t.Fatal(err)
	}
	return &cd
}

// edit applies change to the latest workload, retrying on conflicts.
func edit(t *testing.T, ns string, change func(*appsv1alpha1.CafeDeployment)) {
	t.Helper()
	for i := 0; ; i++ {
		cd := get(t, ns)
		change(cd)
		// The release-approver policy ties release decisions to the user.
		if cd.Annotations == nil {
			cd.Annotations = map[string]string{}
		}
		cd.Annotations[appsv1alpha1.ConfirmedByAnnotation] = "cafe-admin"
		err := env.Client.Update(context.Background(), cd)
		if err == nil {
			return
		}
		if i > 10 || !strings.Contains(err.Error(), "modified") {
			t.Fatal(err)
		}
	}
}

// waitPhase waits for the release to reach phase at batch with the workload's
// status describing the current generation.
func waitPhase(t *testing.T, ns string, phase appsv1alpha1.ReleasePhase, batch int32) *appsv1alpha1.CafeDeployment {
	t.Helper()
	var cd *appsv1alpha1.CafeDeployment
	testenv.Eventually(t, 3*time.Minute, fmt.Sprintf("release %s at batch %d", phase, batch), func() (bool, string) {
		cd = get(t, ns)
		r := cd.Status.Release
		return cd.Status.ObservedGeneration == cd.Generation && r.Phase == phase && r.Batch == batch,
			fmt.Sprintf("phase %s batch %d/%d waiting for %q; updated %d ready %d", r.Phase, r.Batch, r.TotalBatches, r.WaitingFor, cd.Status.UpdatedReplicas, cd.Status.ReadyReplicas)
	})
	return cd
}

// waitSetsPaused waits until every unit's InPlaceSet is
// paused and its status describes that generation.
func waitSetsPaused(t *testing.T, ns string, units int) {
	t.Helper()
	testenv.Eventually(t, time.Minute, "every unit's InPlaceSet to observe the pause", func() (bool, string) {
		var sets appsv1alpha1.InPlaceSetList
		if err := env.Client.List(context.Background(), &sets, client.InNamespace(ns)); err != nil {
			return false, err.Error()
		}
		paused := 0
		for _, s := range sets.Items {
			if s.Spec.Paused && s.Status.ObservedGeneration == s.Generation {
				paused++
			}
		}
		return len(sets.Items) == units && paused == units, fmt.Sprintf("%d of %d sets paused and observed", paused, len(sets.Items))
	})
}

// confirm approves the release's batches up to batch.
func confirm(t *testing.T, ns string, batch int32) {
	t.Helper()
	edit(t, ns, func(cd *appsv1alpha1.CafeDeployment) {
		cd.Spec.Release.Confirm = &appsv1alpha1.ReleaseConfirmation{Revision: cd.Status.Release.Revision, Batch: batch}
	})
}

func setImage(t *testing.T, ns, image string, more ...func(*appsv1alpha1.CafeDeployment)) {
	t.Helper()
	edit(t, ns, func(cd *appsv1alpha1.CafeDeployment) {
		cd.Spec.Template.Spec.Containers[0].Image = image
		for _, m := range more {
			m(cd)
		}
	})
}

type podView struct {
	uid, ip, image, unit string
	ready                bool
	// serving: CAFE's readiness-gate condition is True.
	serving bool
}

func podsByName(t *testing.T, ns string) map[string]podView {
	t.Helper()
	var list corev1.PodList
	if err := env.Client.List(context.Background(), &list, client.InNamespace(ns)); err != nil {
		t.Fatal(err)
	}
	out := map[string]podView{}
	for _, p := range list.Items {
		if p.DeletionTimestamp != nil {
			continue
		}
		v := podView{uid: string(p.UID), ip: p.Status.PodIP, image: p.Spec.Containers[0].Image, unit: p.Labels[appsv1alpha1.UnitLabel]}
		for _, c := range p.Status.Conditions {
			switch c.Type {
			case corev1.PodReady:
				v.ready = c.Status == corev1.ConditionTrue
			case appsv1alpha1.ServingCondition:
				v.serving = c.Status == corev1.ConditionTrue
			}
		}
		out[p.Name] = v
	}
	return out
}

// countImage counts ready pods running image, per unit.
func countImage(pods map[string]podView, image string) map[string]int {
	out := map[string]int{}
	for _, p := range pods {
		if p.image == image && p.ready {
			out[p.unit]++
		}
	}
	return out
}

// atImage names the pods whose spec asks for image, sorted.
func atImage(pods map[string]podView, image string) []string {
	var names []string
	for name, p := range pods {
		if p.image == image {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	return names
}

func waitAll(t *testing.T, ns string, n int, image string) map[string]podView {
	t.Helper()
	var pods map[string]podView
	testenv.Eventually(t, 3*time.Minute, fmt.Sprintf("%d ready pods at %s", n, image), func() (bool, string) {
		pods = podsByName(t, ns)
		c := countImage(pods, image)
		total := c["unit-a"] + c["unit-b"] + c["unit-c"]
		return total == n && len(pods) == n, fmt.Sprintf("%v of %d pods", c, len(pods))
	})
	return pods
}

func conditionMessage(cd *appsv1alpha1.CafeDeployment, t string) (metav1.ConditionStatus, string) {
	c := meta.FindStatusCondition(cd.Status.Conditions, t)
	if c == nil {
		return "", ""
	}
	return c.Status, c.Message
}

// createReleased creates the workload, changed by more, and confirms its
// batched scale-out through to the end.
func createReleased(t *testing.T, ns string, replicas int32, more ...func(*appsv1alpha1.CafeDeployment)) {
	t.Helper()
	cd := newWorkload(ns, replicas, "pay:v1")
	for _, m := range more {
		m(cd)
	}
	// Pods also carry their namespace's name, so a test can select only its
	// own pods across nodes (kubectl drain's --pod-selector is cluster-wide).
	cd.Spec.Template.Labels["test-ns"] = ns
	for _, o := range []client.Object{service(ns), cd} {
		if err := env.Client.Create(context.Background(), o); err != nil {
			t.Fatal(err)
		}
	}
	releaseAll(t, ns)
	waitAll(t, ns, int(replicas), "pay:v1")
}

// releaseAll confirms whatever the release waits for until it completes.
func releaseAll(t *testing.T, ns string) {
	t.Helper()
	testenv.Eventually(t, 3*time.Minute, "the release to complete", func() (bool, string) {
		cd := get(t, ns)
		r := cd.Status.Release
		if cd.Status.ObservedGeneration != cd.Generation {
			return false, "status not observed yet"
		}
		switch r.Phase {
		case appsv1alpha1.ReleaseCompleted:
			return true, ""
		case appsv1alpha1.ReleaseWaitingForConfirmation:
			if c := cd.Spec.Release.Confirm; c == nil || c.Revision != r.Revision || c.Batch < r.TotalBatches {
				confirm(t, ns, r.TotalBatches)
			}
		}
		return false, fmt.Sprintf("phase %s batch %d/%d: %s", r.Phase, r.Batch, r.TotalBatches, r.WaitingFor)
	})
}
