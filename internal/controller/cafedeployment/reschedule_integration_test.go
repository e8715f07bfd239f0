//go:build integration

package cafedeployment_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	appsv1alpha1 "github.com/cafe-dev/cafe/api/apps/v1alpha1"
	"github.com/cafe-dev/cafe/internal/platform"
	"github.com/cafe-dev/cafe/internal/testenv"
)

func setUnitSchedulable(t *testing.T, unit string, schedulable bool) {
	t.Helper()
	for i := 0; i < 2; i++ {
		setNodeSchedulable(t, platform.NodeName(unit, i), schedulable)
	}
}

func setNodeSchedulable(t *testing.T, name string, schedulable bool) {
	t.Helper()
	node := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name}}
	patch := []byte(fmt.Sprintf(`{"spec":{"unschedulable":%t}}`, !schedulable))
	if err := env.Client.Patch(context.Background(), node, client.RawPatch("application/merge-patch+json", patch)); err != nil {
		t.Fatal(err)
	}
}

// A unit without room: its Pending pods' quota moves to units with room after
// the delay, recorded in status; when room returns the quota comes back.
func TestPendingPodsMoveToAUnitWithRoom(t *testing.T) {
	ns := env.Namespace(t)
	setUnitSchedulable(t, "unit-c", false)
	defer setUnitSchedulable(t, "unit-c", true)
	cd := newWorkload(ns, 6, "pay:v1")
	cd.Spec.Strategy.Type = appsv1alpha1.ReleaseBatch
	cd.Spec.Strategy.NeedConfirm = false
	cd.Spec.Strategy.BatchSize = ptr.To(intstr.FromString("100%"))
	cd.Spec.Topology.AutoReschedule = &appsv1alpha1.AutoReschedule{Enabled: true, PendingSeconds: ptr.To[int32](2)}
	for _, o := range []client.Object{service(ns), cd} {
		if err := env.Client.Create(context.Background(), o); err != nil {
			t.Fatal(err)
		}
	}
	var moved *appsv1alpha1.CafeDeployment
	testenv.Eventually(t, 2*time.Minute, "unit-c's quota to move and 6 pods to serve", func() (bool, string) {
		moved = get(t, ns)
		c := countImage(podsByName(t, ns), "pay:v1")
		return len(moved.Status.Rescheduled) > 0 && c["unit-a"]+c["unit-b"] == 6 && c["unit-c"] == 0,
			fmt.Sprintf("serving %v, rescheduled %+v, units %+v", c, moved.Status.Rescheduled, moved.Status.Units)
	})
	for _, m := range moved.Status.Rescheduled {
		if m.From != "unit-c" || m.Reason == "" {
			t.Errorf("unexpected quota move %+v", m)
		}
	}
	setUnitSchedulable(t, "unit-c", true)
	testenv.Eventually(t, 2*time.Minute, "quota back in unit-c", func() (bool, string) {
		got := get(t, ns)
		c := countImage(podsByName(t, ns), "pay:v1")
		return len(got.Status.Rescheduled) == 0 && c["unit-a"] == 2 && c["unit-b"] == 2 && c["unit-c"] == 2,
			fmt.Sprintf("serving %v, rescheduled %+v", c, got.Status.Rescheduled)
	})
}
