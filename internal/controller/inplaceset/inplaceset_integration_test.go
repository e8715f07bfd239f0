//go:build integration

package inplaceset_test

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
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	appsv1alpha1 "github.com/cafe-dev/cafe/api/apps/v1alpha1"
	"github.com/cafe-dev/cafe/internal/testenv"
)

var env *testenv.Env

func TestMain(m *testing.M) {
	testenv.Main(m, testenv.Options{RunControllers: true}, &env)
}

const drain = time.Second

func newSet(ns string, replicas int32, image string) *appsv1alpha1.InPlaceSet {
	labels := map[string]string{"app": "pay"}
	return &appsv1alpha1.InPlaceSet{
		ObjectMeta: metav1.ObjectMeta{Name: "pay", Namespace: ns},
		Spec: appsv1alpha1.InPlaceSetSpec{
			Replicas:       ptr.To(replicas),
			Selector:       &metav1.LabelSelector{MatchLabels: labels},
			MaxUnavailable: ptr.To(intstr.FromInt32(1)),
			TrafficHandoff: appsv1alpha1.TrafficHandoff{DrainSeconds: ptr.To(int32(drain / time.Second)), MaxWaitSeconds: ptr.To[int32](60)},
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

func create(t *testing.T, objs ...client.Object) {
	t.Helper()
	for _, o := range objs {
		if err := env.Client.Create(context.Background(), o); err != nil {
			t.Fatalf("create %T %s: %v", o, o.GetName(), err)
		}
	}
}

func pods(t *testing.T, ns string) map[string]corev1.Pod {
	t.Helper()
	var list corev1.PodList
	if err := env.Client.List(context.Background(), &list, client.InNamespace(ns)); err != nil {
		t.Fatal(err)
	}
	out := map[string]corev1.Pod{}
	for _, p := range list.Items {
		out[p.Name] = p
	}
	return out
}

func serving(p corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady && c.Status == corev1.ConditionTrue {
			return true
		}
	}
	return false
}

// waitSettled waits until the set has replicas pods, all at image, Ready and
// serving, and its status says so.
func waitSettled(t *testing.T, ns string, replicas int, image string) map[string]corev1.Pod {
	t.Helper()
	var got map[string]corev1.Pod
	testenv.Eventually(t, 2*time.Minute, fmt.Sprintf("%d pods serving %s", replicas, image), func() (bool, string) {
		got = pods(t, ns)
		var set appsv1alpha1.InPlaceSet
		if err := env.Client.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: "pay"}, &set); err != nil {
			return false, err.Error()
		}
		n := 0
		for _, p := range got {
			if p.DeletionTimestamp == nil && p.Spec.Containers[0].Image == image && serving(p) {
				n++
			}
		}
		return n == replicas && len(got) == replicas && set.Status.UpdatedReadyReplicas == int32(replicas) && set.Status.ObservedGeneration == set.Generation,
			fmt.Sprintf("%d of %d pods serving %s; status %+v", n, len(got), image, set.Status)
	})
	return got
}

func setImage(t *testing.T, ns, image string, mutate ...func(*appsv1alpha1.InPlaceSet)) {
	t.Helper()
	var set appsv1alpha1.InPlaceSet
	if err := env.Client.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: "pay"}, &set); err != nil {
		t.Fatal(err)
	}
	set.Spec.Template.Spec.Containers[0].Image = image
	for _, m := range mutate {
		m(&set)
	}
	if err := env.Client.Update(context.Background(), &set); err != nil {
		t.Fatal(err)
	}
}

func TestCreatesStableNamesAndUpgradesInPlaceWithHandoff(t *testing.T) {
	ns := env.Namespace(t)
	obs := env.Observe(t, ns)
	// Two Services select the pods: each change waits until the pod is out
	// of both.
	other := service(ns)
	other.Name = "pay-admin"
	create(t, service(ns), other, newSet(ns, 4, "pay:v1"))
	before := waitSettled(t, ns, 4, "pay:v1")
	for i := 0; i < 4; i++ {
		if _, ok := before[fmt.Sprintf("pay-%d", i)]; !ok {
			t.Fatalf("pod pay-%d missing: stable names are <set>-<index>; have %v", i, keys(before))
		}
	}
	setImage(t, ns, "pay:v2")
	after := waitSettled(t, ns, 4, "pay:v2")
	for name, p := range after {
		b := before[name]
		if p.UID != b.UID || p.Status.PodIP != b.Status.PodIP {
			t.Errorf("pod %s was not upgraded in place: uid %s→%s ip %s→%s", name, b.UID, p.UID, b.Status.PodIP, p.Status.PodIP)
		}
		if p.Status.ContainerStatuses[0].RestartCount != 1 {
			t.Errorf("pod %s: restartCount %d, want 1 (one in-place restart)", name, p.Status.ContainerStatuses[0].RestartCount)
		}
	}
	obs.Stop()
	if n := obs.CheckHandoff(t, drain); n != 4 {
		t.Errorf("checked %d pod changes, want 4", n)
	}
}

func TestRecreatesUnderTheSameNameWhenInPlaceIsImpossible(t *testing.T) {
	ns := env.Namespace(t)
	obs := env.Observe(t, ns)
	create(t, service(ns), newSet(ns, 3, "pay:v1"))
	before := waitSettled(t, ns, 3, "pay:v1")
	setImage(t, ns, "pay:v2", func(s *appsv1alpha1.InPlaceSet) {
		s.Spec.Template.Spec.Containers[0].Env = []corev1.EnvVar{{Name: "MODE", Value: "strict"}}
	})
	after := waitSettled(t, ns, 3, "pay:v2")
	for name, p := range after {
		if p.UID == before[name].UID {
			t.Errorf("pod %s kept its UID although the change needs a new pod", name)
		}
	}
	obs.Stop()
	if n := obs.CheckHandoff(t, drain); n != 3 {
		t.Errorf("checked %d pod changes, want 3", n)
	}
}

func TestPartitionKeepsPodsAndReplacementsKeepTheirRevision(t *testing.T) {
	ns := env.Namespace(t)
	create(t, service(ns), newSet(ns, 4, "pay:v1"))
	waitSettled(t, ns, 4, "pay:v1")
	setImage(t, ns, "pay:v2", func(s *appsv1alpha1.InPlaceSet) { s.Spec.Partition = ptr.To[int32](3) })
	var old string
	testenv.Eventually(t, time.Minute, "one pod at v2, three at v1", func() (bool, string) {
		v1, v2 := 0, 0
		for name, p := range pods(t, ns) {
			switch {
			case p.Spec.Containers[0].Image == "pay:v2" && serving(p):
				v2++
			case p.Spec.Containers[0].Image == "pay:v1" && serving(p):
				v1++
				old = name
			}
		}
		return v1 == 3 && v2 == 1, fmt.Sprintf("v1=%d v2=%d", v1, v2)
	})
	// A pod of the old revision that dies comes back at the old revision.
	if err := env.Client.Delete(context.Background(), &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: old}}); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, time.Minute, old+" back at v1", func() (bool, string) {
		p, ok := pods(t, ns)[old]
		return ok && p.DeletionTimestamp == nil && p.Spec.Containers[0].Image == "pay:v1" && serving(p), fmt.Sprintf("%v", ok)
	})
}

func TestStoppedSlotKeepsItsNameAndStartsAgain(t *testing.T) {
	ns := env.Namespace(t)
	create(t, service(ns), newSet(ns, 3, "pay:v1"))
	waitSettled(t, ns, 3, "pay:v1")
	annotate := func(v string) {
		patch := fmt.Sprintf(`{"metadata":{"annotations":{%q:%q}}}`, appsv1alpha1.StoppedSlotsAnnotation, v)
		set := &appsv1alpha1.InPlaceSet{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "pay"}}
		if err := env.Client.Patch(context.Background(), set, client.RawPatch("application/merge-patch+json", []byte(patch))); err != nil {
			t.Fatal(err)
		}
	}
	annotate("1")
	testenv.Eventually(t, time.Minute, "pay-1 stopped", func() (bool, string) {
		got := pods(t, ns)
		_, has := got["pay-1"]
		return !has && len(got) == 2, fmt.Sprintf("%v", keys(got))
	})
	time.Sleep(2 * time.Second)
	if got := pods(t, ns); len(got) != 2 {
		t.Fatalf("a stopped slot was refilled: %v", keys(got))
	}
	annotate("")
	testenv.Eventually(t, time.Minute, "pay-1 started again", func() (bool, string) {
		p, ok := pods(t, ns)["pay-1"]
		return ok && serving(p), fmt.Sprintf("%v", ok)
	})
}

func keys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// A VM-style restart keeps the pod (UID, name, IP), restarts its containers
// and hands traffic off around it.
func TestRestartKeepsIdentityAndHandsOff(t *testing.T) {
	ns := env.Namespace(t)
	obs := env.Observe(t, ns)
	create(t, service(ns), newSet(ns, 2, "pay:v1"))
	before := waitSettled(t, ns, 2, "pay:v1")
	patch := fmt.Sprintf(`{"metadata":{"annotations":{%q:"r1"}}}`, appsv1alpha1.RestartRequestedAnnotation)
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "pay-0"}}
	if err := env.Client.Patch(context.Background(), pod, client.RawPatch("application/merge-patch+json", []byte(patch))); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, time.Minute, "pay-0 restarted and serving", func() (bool, string) {
		p := pods(t, ns)["pay-0"]
		rc := int32(0)
		if len(p.Status.ContainerStatuses) > 0 {
			rc = p.Status.ContainerStatuses[0].RestartCount
		}
		return rc == 1 && serving(p) && p.Annotations[appsv1alpha1.RestartHandledAnnotation] == "r1", fmt.Sprintf("restarts %d serving %v", rc, serving(p))
	})
	after := pods(t, ns)["pay-0"]
	if after.UID != before["pay-0"].UID || after.Status.PodIP != before["pay-0"].Status.PodIP {
		t.Fatalf("restart changed the pod's identity")
	}
	if other := pods(t, ns)["pay-1"]; other.Status.ContainerStatuses[0].RestartCount != 0 {
		t.Errorf("pay-1 restarted too")
	}
	obs.Stop()
	if n := obs.CheckHandoff(t, drain); n != 1 {
		t.Errorf("checked %d hand-offs, want 1", n)
	}
}

// setCondition sets a pod condition through the status subresource, as
// another traffic component (a service registry) would.
func setCondition(t *testing.T, ns, pod string, typ corev1.PodConditionType, status corev1.ConditionStatus) {
	t.Helper()
	patch := fmt.Sprintf(`{"status":{"conditions":[{"type":%q,"status":%q,"lastTransitionTime":%q}]}}`,
		typ, status, time.Now().UTC().Format(time.RFC3339))
	p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: pod}}
	if err := env.Client.Status().Patch(context.Background(), p, client.RawPatch(types.StrategicMergePatchType, []byte(patch))); err != nil {
		t.Fatalf("set %s=%s on %s: %v", typ, status, pod, err)
	}
}

// A pod another component holds out of service (its own readiness gate
// False) is unavailable to CAFE too: with maxUnavailable 1 the release
// changes no other pod until that component lets the pod back in.
func TestAnotherComponentsGateHoldsTheRelease(t *testing.T) {
	const registered corev1.PodConditionType = "registry.example.com/registered"
	ns := env.Namespace(t)
	set := newSet(ns, 3, "pay:v1")
	set.Spec.Template.Spec.ReadinessGates = []corev1.PodReadinessGate{{ConditionType: registered}}
	create(t, service(ns), set)
	testenv.Eventually(t, 2*time.Minute, "3 pods with running containers", func() (bool, string) {
		n := 0
		for _, p := range pods(t, ns) {
			for _, c := range p.Status.Conditions {
				if c.Type == corev1.ContainersReady && c.Status == corev1.ConditionTrue {
					n++
				}
			}
		}
		return n == 3, fmt.Sprintf("%d of 3", n)
	})
	for i := 0; i < 3; i++ {
		setCondition(t, ns, fmt.Sprintf("pay-%d", i), registered, corev1.ConditionTrue)
	}
	waitSettled(t, ns, 3, "pay:v1")

	setCondition(t, ns, "pay-0", registered, corev1.ConditionFalse)
	testenv.Eventually(t, 30*time.Second, "pay-0 not Ready while the registry holds it", func() (bool, string) {
		p := pods(t, ns)["pay-0"]
		return !serving(p), fmt.Sprintf("conditions %+v", p.Status.Conditions)
	})
	setImage(t, ns, "pay:v2")
	// The held pod may be changed (it serves no traffic anyway); no other.
	deadline := time.Now().Add(8 * time.Second)
	for time.Now().Before(deadline) {
		for name, p := range pods(t, ns) {
			if name == "pay-0" {
				continue
			}
			if p.Spec.Containers[0].Image != "pay:v1" || !serving(p) {
				t.Fatalf("%s was taken out or changed while pay-0 was held out by another component (maxUnavailable 1): image %s, conditions %+v",
					name, p.Spec.Containers[0].Image, p.Status.Conditions)
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	setCondition(t, ns, "pay-0", registered, corev1.ConditionTrue)
	waitSettled(t, ns, 3, "pay:v2")
}

// A Service that publishes not-ready addresses lists a pod whatever its
// readiness, so the pod can never leave its endpoints: the set says so in its
// Waiting condition while the pod drains, changes the pod after the drain
// time (not at maxWaitSeconds) and records a warning. A second, ordinary
// Service selecting the same pods is left as usual.
func TestAPodAServiceCannotLetGoChangesAfterTheDrainTime(t *testing.T) {
	ns := env.Namespace(t)
	pinned := service(ns)
	pinned.Name, pinned.Spec.PublishNotReadyAddresses = "pay-peers", true
	set := newSet(ns, 2, "pay:v1")
	set.Spec.TrafficHandoff = appsv1alpha1.TrafficHandoff{DrainSeconds: ptr.To[int32](2), MaxWaitSeconds: ptr.To[int32](3600)}
	create(t, service(ns), pinned, set)
	waitSettled(t, ns, 2, "pay:v1")

	setImage(t, ns, "pay:v2")
	testenv.Eventually(t, time.Minute, "the set to say why a pod changes while listed", func() (bool, string) {
		var s appsv1alpha1.InPlaceSet
		if err := env.Client.Get(context.Background(), client.ObjectKeyFromObject(set), &s); err != nil {
			return false, err.Error()
		}
		c := meta.FindStatusCondition(s.Status.Conditions, "Waiting")
		return c != nil && c.Reason == "CannotLeaveEndpoints" && strings.Contains(c.Message, "publishNotReadyAddresses"), fmt.Sprintf("%+v", c)
	})
	// A wait for maxWaitSeconds (an hour) would fail this.
	waitSettled(t, ns, 2, "pay:v2")

	var events corev1.EventList
	if err := env.Client.List(context.Background(), &events, client.InNamespace(ns)); err != nil {
		t.Fatal(err)
	}
	var warned []string
	for _, e := range events.Items {
		if e.Type == corev1.EventTypeWarning && e.Reason == "UpdatedInPlace" && strings.Contains(e.Message, "publishNotReadyAddresses") {
			// "pod pay-1: updated in place ..." or "pods pay-0, pay-1: ..."
			names, _, _ := strings.Cut(e.Message, ": ")
			_, names, _ = strings.Cut(names, " ")
			warned = append(warned, strings.Split(names, ", ")...)
		}
	}
	if slices.Sort(warned); !slices.Equal(warned, []string{"pay-0", "pay-1"}) {
		t.Errorf("warning events name %v as changed while listed, want pay-0 and pay-1", warned)
		for _, e := range events.Items {
			t.Logf("event %s %s: %s", e.Type, e.Reason, e.Message)
		}
	}
}
