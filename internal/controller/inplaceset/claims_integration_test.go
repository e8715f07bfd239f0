//go:build integration

package inplaceset_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	appsv1alpha1 "github.com/cafe-dev/cafe/api/apps/v1alpha1"
	"github.com/cafe-dev/cafe/internal/testenv"
)

// Every slot gets claims of its own, and keeps them when its pod is updated
// in place, recreated, stopped and started again.
func TestSlotsKeepTheirVolumeClaims(t *testing.T) {
	ns := env.Namespace(t)
	// Volumes for the claims to bind to, each reserved for one slot's claim
	// (the platform has no provisioner).
	for i := 0; i < 2; i++ {
		pv := &corev1.PersistentVolume{
			ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("%s-%d", ns, i)},
			Spec: corev1.PersistentVolumeSpec{
				Capacity:                      corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")},
				AccessModes:                   []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
				PersistentVolumeReclaimPolicy: corev1.PersistentVolumeReclaimRetain,
				PersistentVolumeSource:        corev1.PersistentVolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/tmp/" + ns}},
				ClaimRef:                      &corev1.ObjectReference{Namespace: ns, Name: fmt.Sprintf("data-pay-%d", i)},
			},
		}
		create(t, pv)
		t.Cleanup(func() { _ = env.Client.Delete(context.Background(), pv) })
	}
	set := newSet(ns, 2, "pay:v1")
	set.Spec.VolumeClaimTemplates = []appsv1alpha1.VolumeClaimTemplate{{Name: "data", Spec: corev1.PersistentVolumeClaimSpec{
		AccessModes:      []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
		StorageClassName: ptr.To(""),
		Resources:        corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")}},
	}}}
	create(t, service(ns), set)
	t.Cleanup(func() {
		if !t.Failed() {
			return
		}
		for name, p := range pods(t, ns) {
			t.Logf("pod %s node %q phase %s conditions %+v", name, p.Spec.NodeName, p.Status.Phase, p.Status.Conditions)
		}
		var list corev1.PersistentVolumeClaimList
		_ = env.Client.List(context.Background(), &list, client.InNamespace(ns))
		for _, c := range list.Items {
			t.Logf("claim %s %s volume %q", c.Name, c.Status.Phase, c.Spec.VolumeName)
		}
	})
	waitSettled(t, ns, 2, "pay:v1")
	claims := boundClaims(t, ns, 2)
	checkMounts := func(when string) {
		t.Helper()
		for name, p := range pods(t, ns) {
			mounted := ""
			for _, v := range p.Spec.Volumes {
				if v.Name == "data" && v.PersistentVolumeClaim != nil {
					mounted = v.PersistentVolumeClaim.ClaimName
				}
			}
			if mounted != "data-"+name {
				t.Errorf("%s: pod %s mounts claim %q as data, want data-%s", when, name, mounted, name)
			}
		}
		if now := boundClaims(t, ns, 2); fmt.Sprint(now) != fmt.Sprint(claims) {
			t.Errorf("%s: claims %v, want the same ones as before %v", when, now, claims)
		}
	}
	checkMounts("created")

	setImage(t, ns, "pay:v2")
	waitSettled(t, ns, 2, "pay:v2")
	checkMounts("after an in-place update")

	setImage(t, ns, "pay:v3", func(s *appsv1alpha1.InPlaceSet) {
		s.Spec.Template.Spec.Containers[0].Env = []corev1.EnvVar{{Name: "MODE", Value: "strict"}}
	})
	waitSettled(t, ns, 2, "pay:v3")
	checkMounts("after recreation")

	stopSlots := func(v string) {
		patch := fmt.Sprintf(`{"metadata":{"annotations":{%q:%q}}}`, appsv1alpha1.StoppedSlotsAnnotation, v)
		s := &appsv1alpha1.InPlaceSet{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "pay"}}
		if err := env.Client.Patch(context.Background(), s, client.RawPatch(types.MergePatchType, []byte(patch))); err != nil {
			t.Fatal(err)
		}
	}
	stopSlots("1")
	testenv.Eventually(t, time.Minute, "pay-1 stopped", func() (bool, string) {
		_, running := pods(t, ns)["pay-1"]
		return !running, ""
	})
	if now := boundClaims(t, ns, 2); fmt.Sprint(now) != fmt.Sprint(claims) {
		t.Errorf("stopped: claims %v, want the same ones as before %v", now, claims)
	}
	stopSlots("")
	waitSettled(t, ns, 2, "pay:v3")
	checkMounts("stopped and started again")
}

// boundClaims waits until the namespace has n bound claims and returns them
// as name → UID.
func boundClaims(t *testing.T, ns string, n int) map[string]string {
	t.Helper()
	out := map[string]string{}
	testenv.Eventually(t, time.Minute, fmt.Sprintf("%d bound claims", n), func() (bool, string) {
		var list corev1.PersistentVolumeClaimList
		if err := env.Client.List(context.Background(), &list, client.InNamespace(ns)); err != nil {
			return false, err.Error()
		}
		clear(out)
		for _, c := range list.Items {
			if c.Status.Phase == corev1.ClaimBound {
				out[c.Name] = string(c.UID)
			}
		}
		return len(out) == n && len(list.Items) == n, fmt.Sprintf("%d claims, bound: %v", len(list.Items), out)
	})
	return out
}
