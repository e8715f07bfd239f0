package cli

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"

	appsv1alpha1 "github.com/cafe-dev/cafe/api/apps/v1alpha1"
	"github.com/cafe-dev/cafe/internal/revision"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// golden compares got with testdata/<name>.golden, or rewrites it with
// -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (go test -update writes it; add -tags integration for the goldens of the integration tests)", err)
	}
	if got != string(want) {
		t.Errorf("output differs from %s (go test -update rewrites it; add -tags integration for the goldens of the integration tests)\n--- got\n%s--- want\n%s", path, got, want)
	}
}

const workloadUID = types.UID("cd-uid")

// fixtureWorkload is a CafeDeployment "pay" over units with quota per unit,
// in release phase at batch/total, its status describing its generation.
func fixtureWorkload(quota int32, phase appsv1alpha1.ReleasePhase, batch, total int32, units ...string) *appsv1alpha1.CafeDeployment {
	cd := &appsv1alpha1.CafeDeployment{
		ObjectMeta: metav1.ObjectMeta{Name: "pay", Namespace: "demo", UID: workloadUID, Generation: 3},
		Spec: appsv1alpha1.CafeDeploymentSpec{
			Replicas: ptr.To(quota * int32(len(units))),
			Strategy: appsv1alpha1.CafeDeploymentStrategy{Type: appsv1alpha1.ReleaseBeta},
			Template: fixtureTemplate("pay:v2"),
		},
		Status: appsv1alpha1.CafeDeploymentStatus{
			ObservedGeneration: 3,
			CurrentRevision:    "pay-v1",
			UpdateRevision:     "pay-v2",
			Release:            appsv1alpha1.ReleaseStatus{Revision: "pay-v2", Phase: phase, Batch: batch, TotalBatches: total},
		},
	}
	for _, u := range units {
		cd.Spec.Topology.Units = append(cd.Spec.Topology.Units, appsv1alpha1.UnitSpec{Name: u})
		cd.Status.Units = append(cd.Status.Units, appsv1alpha1.UnitStatus{Name: u, Quota: quota, Target: 1})
	}
	return cd
}

func fixtureTemplate(image string) corev1.PodTemplateSpec {
	return corev1.PodTemplateSpec{
		ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "pay"}},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: image}}},
	}
}

func fixtureSet(unit string, stopped string) appsv1alpha1.InPlaceSet {
	set := appsv1alpha1.InPlaceSet{
		ObjectMeta: metav1.ObjectMeta{
			Name: "pay-" + unit, Namespace: "demo",
			Labels:          map[string]string{appsv1alpha1.UnitLabel: unit, appsv1alpha1.CafeDeploymentLabel: "pay"},
			OwnerReferences: []metav1.OwnerReference{{APIVersion: appsv1alpha1.GroupVersion.String(), Kind: "CafeDeployment", Name: "pay", UID: workloadUID, Controller: ptr.To(true)}},
		},
		Status: appsv1alpha1.InPlaceSetStatus{UpdateRevision: "pay-" + unit + "-set-v2"},
	}
	if stopped != "" {
		set.Annotations = map[string]string{appsv1alpha1.StoppedSlotsAnnotation: stopped}
	}
	return set
}

// fixturePod is slot index of unit's set at the workload revision rev,
// scheduled, with containers ready and in traffic unless changed by edits.
func fixturePod(unit string, index int, rev string, edits ...func(*corev1.Pod)) corev1.Pod {
	set := "pay-" + unit
	p := corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			Name: fmt.Sprintf("%s-%d", set, index), Namespace: "demo", UID: types.UID(fmt.Sprintf("uid-%s-%d", unit, index)),
			Labels: map[string]string{
				appsv1alpha1.UnitLabel: unit, appsv1alpha1.CafeDeploymentLabel: "pay",
				appsv1alpha1.ReleaseRevisionLabel: rev, appsv1alpha1.InstanceIndexLabel: strconv.Itoa(index),
				appsv1alpha1.RevisionLabel: set + "-set-" + rev[len("pay-"):],
			},
			OwnerReferences: []metav1.OwnerReference{{APIVersion: appsv1alpha1.GroupVersion.String(), Kind: "InPlaceSet", Name: set, Controller: ptr.To(true)}},
		},
		Spec: corev1.PodSpec{NodeName: unit + "-node-0", Containers: []corev1.Container{{Name: "app", Image: "pay"}}},
		Status: corev1.PodStatus{
			Phase: corev1.PodRunning,
			PodIP: fmt.Sprintf("10.0.%d.%d", len(unit), index+1),
			Conditions: []corev1.PodCondition{
				{Type: corev1.PodScheduled, Status: corev1.ConditionTrue},
				{Type: corev1.ContainersReady, Status: corev1.ConditionTrue},
				{Type: appsv1alpha1.ServingCondition, Status: corev1.ConditionTrue, Reason: "Ready"},
			},
			ContainerStatuses: []corev1.ContainerStatus{{Name: "app", Ready: true}},
		},
	}
	for _, e := range edits {
		e(&p)
	}
	return p
}

func setCondition(t corev1.PodConditionType, status corev1.ConditionStatus, reason string) func(*corev1.Pod) {
	return func(p *corev1.Pod) {
		for i := range p.Status.Conditions {
			if p.Status.Conditions[i].Type == t {
				p.Status.Conditions[i].Status, p.Status.Conditions[i].Reason = status, reason
				return
			}
		}
		p.Status.Conditions = append(p.Status.Conditions, corev1.PodCondition{Type: t, Status: status, Reason: reason})
	}
}

func unscheduled(p *corev1.Pod) {
	p.Spec.NodeName, p.Status.PodIP = "", ""
	p.Status.Phase = corev1.PodPending
	p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodScheduled, Status: corev1.ConditionFalse, Reason: corev1.PodReasonUnschedulable}}
}

// fixtureRevision is the workload's ControllerRevision number n holding a
// template with image.
func fixtureRevision(t testing.TB, name string, n int64, image, cause string) appsv1.ControllerRevision {
	tmpl := fixtureTemplate(image)
	data, err := revision.Data(&tmpl)
	if err != nil {
		t.Fatal(err)
	}
	r := appsv1.ControllerRevision{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "demo", CreationTimestamp: metav1.Unix(1_700_000_000+n*3600, 0).Rfc3339Copy()},
		Data:       runtime.RawExtension{Raw: data},
		Revision:   n,
	}
	if cause != "" {
		r.Annotations = map[string]string{appsv1alpha1.ChangeCauseAnnotation: cause}
	}
	return r
}
