package serving

import (
	"context"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"

	appsv1alpha1 "github.com/cafe-dev/cafe/api/apps/v1alpha1"
	"github.com/cafe-dev/cafe/internal/controller/inplaceset"
)

// The shell's rules against a fake API: what it writes, and what it does on
// a conflict. The integration suites of the InPlaceSet and CafeDeployment
// controllers run it against the real API server.
func TestReconcile(t *testing.T) {
	now := time.Date(2026, 11, 26, 8, 0, 0, 0, time.UTC)
	set := &appsv1alpha1.InPlaceSet{
		ObjectMeta: metav1.ObjectMeta{Name: "pay", Namespace: "ns", UID: "set-uid"},
		Spec: appsv1alpha1.InPlaceSetSpec{Template: corev1.PodTemplateSpec{
			Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "pay:v2"}}},
		}},
	}
	updated := inplaceset.UpdateRevision(set)
	pod := func(revision string) *corev1.Pod {
		long := metav1.NewTime(now.Add(-time.Minute))
		return &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: "pay-0", Namespace: "ns", UID: "pod-uid",
				Labels: map[string]string{appsv1alpha1.RevisionLabel: revision, appsv1alpha1.InstanceIndexLabel: "0"},
				OwnerReferences: []metav1.OwnerReference{{APIVersion: appsv1alpha1.GroupVersion.String(),
					Kind: "InPlaceSet", Name: "pay", UID: "set-uid", Controller: ptr.To(true)}}},
			Spec: corev1.PodSpec{
				Containers:     []corev1.Container{{Name: "app", Image: "pay:v2"}},
				ReadinessGates: []corev1.PodReadinessGate{{ConditionType: appsv1alpha1.ServingCondition}},
			},
			Status: corev1.PodStatus{
				Phase: corev1.PodRunning,
				Conditions: []corev1.PodCondition{
					{Type: corev1.ContainersReady, Status: corev1.ConditionTrue, LastTransitionTime: long},
					{Type: corev1.PodReady, Status: corev1.ConditionFalse, LastTransitionTime: long},
					{Type: appsv1alpha1.ServingCondition, Status: corev1.ConditionFalse, Reason: "Update", LastTransitionTime: long},
				},
				ContainerStatuses: []corev1.ContainerStatus{{Name: "app", Image: "pay:v2", Ready: true}},
			},
		}
	}
	conflict := interceptor.Funcs{SubResourcePatch: func(context.Context, client.Client, string, client.Object, client.Patch, ...client.SubResourcePatchOption) error {
		return apierrors.NewConflict(schema.GroupResource{Resource: "pods"}, "pay-0", nil)
	}}
	// A set whose controller recorded its update revision for the current
	// generation, and one whose record is of an older generation.
	recorded := set.DeepCopy()
	recorded.Generation, recorded.Status.ObservedGeneration, recorded.Status.UpdateRevision = 2, 2, "pay-recorded"
	stale := set.DeepCopy()
	stale.Generation, stale.Status.ObservedGeneration, stale.Status.UpdateRevision = 3, 2, "pay-old"
	cases := []struct {
		name        string
		set         *appsv1alpha1.InPlaceSet
		pod         *corev1.Pod
		funcs       interceptor.Funcs
		wantServing corev1.ConditionStatus
		wantReady   corev1.ConditionStatus
		wantResult  ctrl.Result
	}{
		{name: "updated and ready: back into traffic, Ready with it", pod: pod(updated),
			wantServing: corev1.ConditionTrue, wantReady: corev1.ConditionTrue},
		{name: "at an old revision: the set's plan decides", pod: pod("pay-old"),
			wantServing: corev1.ConditionFalse, wantReady: corev1.ConditionFalse},
		{name: "the update revision the set's status records for its generation", set: recorded, pod: pod("pay-recorded"),
			wantServing: corev1.ConditionTrue, wantReady: corev1.ConditionTrue},
		{name: "a status of an older generation is not trusted: the template decides", set: stale, pod: pod("pay-old"),
			wantServing: corev1.ConditionFalse, wantReady: corev1.ConditionFalse},
		{name: "a conflict: decided again shortly, from the cache", pod: pod(updated), funcs: conflict,
			wantServing: corev1.ConditionFalse, wantReady: corev1.ConditionFalse, wantResult: ctrl.Result{RequeueAfter: AfterConflict}},
	}
	scheme := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	if err := appsv1alpha1.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := tc.set
			if s == nil {
				s = set
			}
			c := interceptor.NewClient(fake.NewClientBuilder().WithScheme(scheme).
				WithObjects(s.DeepCopy(), tc.pod).WithStatusSubresource(&corev1.Pod{}).Build(), tc.funcs)
			r := &Reconciler{Client: c, Now: func() time.Time { return now }}
			res, err := r.Reconcile(context.Background(), ctrl.Request{NamespacedName: client.ObjectKeyFromObject(tc.pod)})
			if err != nil || res != tc.wantResult {
				t.Fatalf("Reconcile = %+v, %v; want %+v", res, err, tc.wantResult)
			}
			var got corev1.Pod
			if err := c.Get(context.Background(), client.ObjectKeyFromObject(tc.pod), &got); err != nil {
				t.Fatal(err)
			}
			if s := inplaceset.ConditionStatus(&got, appsv1alpha1.ServingCondition); s != tc.wantServing {
				t.Errorf("serving condition %s, want %s", s, tc.wantServing)
			}
			if s := inplaceset.ConditionStatus(&got, corev1.PodReady); s != tc.wantReady {
				t.Errorf("Ready %s, want %s", s, tc.wantReady)
			}
		})
	}
}
