// Package serving is the serving controller: it puts the pods of
// InPlaceSets back into traffic once the change they left it for is done.
//
// CAFE's traffic hand-off writes three times per changed pod: its serving
// condition False, the change, and the condition True once the new version
// is ready. The InPlaceSet controller makes the first two, because they
// spend the set's unavailability budget and only the set's plan can decide
// them. The third depends on the pod alone (see podset.Returnable), so this
// controller makes it, with its own API client and QPS budget, the way each
// of kube-controller-manager's controllers has its own: a release's returns
// do not queue behind the next pods' departures.
package serving

import (
	"context"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	appsv1alpha1 "github.com/cafe-dev/cafe/api/apps/v1alpha1"
	"github.com/cafe-dev/cafe/internal/controller/inplaceset"
	"github.com/cafe-dev/cafe/internal/podevents"
	"github.com/cafe-dev/cafe/internal/podindex"
	"github.com/cafe-dev/cafe/internal/podset"
)

// MinWorkers is the fewest reconciles the controller runs at once. Each
// handles one pod with at most one write and spends its time waiting for the
// API server, and a release returns pods as fast as the InPlaceSet
// controller, which has up to 64 writes in flight, takes them out.
const MinWorkers = 64

// AfterConflict is how long after a conflicting write the pod is decided
// again: time for the cache to show the change the API server already has.
const AfterConflict = 100 * time.Millisecond

// Reconciler puts one pod back into traffic when it qualifies.
type Reconciler struct {
	// Client reads from the shared cache and writes pod status.
	Client client.Client
	// Pods lists a set's pods from the cache.
	Pods *podindex.Lister
	// Now is the clock; tests may replace it.
	Now func() time.Time
}

// +kubebuilder:rbac:groups=apps.cafe.dev,resources=inplacesets,verbs=list;watch
// +kubebuilder:rbac:groups="",resources=pods,verbs=list;watch
// +kubebuilder:rbac:groups="",resources=pods/status,verbs=patch

// SetupWithManager registers the controller with at least MinWorkers
// parallel reconciles. It wakes for pods of
// InPlaceSets that are out of traffic, and for every such pod of a set whose
// template changed (a rollback can make a drained pod's own revision the
// update revision again).
func (r *Reconciler) SetupWithManager(mgr ctrl.Manager, concurrency int) error {
	if r.Now == nil {
		r.Now = time.Now
	}
	return ctrl.NewControllerManagedBy(mgr).
		Named("serving").
		For(&corev1.Pod{}, builder.WithPredicates(podevents.Changed(), outOfTraffic())).
		Watches(&appsv1alpha1.InPlaceSet{}, handler.EnqueueRequestsFromMapFunc(r.podsOutOfTraffic),
			builder.WithPredicates(predicate.GenerationChangedPredicate{})).
		WithOptions(controller.Options{MaxConcurrentReconciles: max(concurrency, MinWorkers)}).
		Complete(r)
}

// Reconcile sets the pod's serving condition True if podset.Returnable says
// so. Its write is conditional on the pod's resourceVersion. A conflict means
// the pod changed since the cache showed it; the change may be one the
// event filter drops (a status rewritten with fresh timestamps only), so the
// pod is looked at again shortly, decided afresh from the cache, rather than
// left to an event that may never come.
func (r *Reconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	// The pod and its set are the cache's own objects, only read: the write
	// below is given an empty pod to decode its answer into.
	var pod corev1.Pod
	if err := r.Client.Get(ctx, req.NamespacedName, &pod, client.UnsafeDisableDeepCopy); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	owner := ownerSet(&pod)
	if owner == nil {
		return ctrl.Result{}, nil
	}
	var set appsv1alpha1.InPlaceSet
	if err := r.Client.Get(ctx, types.NamespacedName{Namespace: pod.Namespace, Name: owner.Name}, &set, client.UnsafeDisableDeepCopy); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if set.UID != owner.UID || set.DeletionTimestamp != nil {
		return ctrl.Result{}, nil
	}
	now := r.Now()
	observed := inplaceset.ObservePod(&pod)
	ok, after := podset.Returnable(&observed, updateRevision(&set), inplaceset.MinReady(&set), now)
	if !ok {
		return ctrl.Result{RequeueAfter: after}, nil
	}
	patch, err := inplaceset.ServingPatch(&pod, true, podset.ServingReady, now)
	if err != nil {
		return ctrl.Result{}, err
	}
	target := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: pod.Namespace, Name: pod.Name}}
	err = r.Client.Status().Patch(ctx, target, client.RawPatch(types.StrategicMergePatchType, patch))
	switch {
	case apierrors.IsConflict(err):
		return ctrl.Result{RequeueAfter: AfterConflict}, nil
	case apierrors.IsNotFound(err):
		return ctrl.Result{}, nil
	}
	return ctrl.Result{}, err
}

// updateRevision is the set's update revision: the one its controller
// recorded in status for its current generation, else (the template just
// changed) the hash of its template. A release asks for it about four times
// per pod; the hash walks the whole template.
func updateRevision(set *appsv1alpha1.InPlaceSet) string {
	if set.Status.ObservedGeneration == set.Generation && set.Status.UpdateRevision != "" {
		return set.Status.UpdateRevision
	}
	return inplaceset.UpdateRevision(set)
}

// podsOutOfTraffic maps a set whose template changed to its pods out of
// traffic.
func (r *Reconciler) podsOutOfTraffic(ctx context.Context, obj client.Object) []reconcile.Request {
	set, ok := obj.(*appsv1alpha1.InPlaceSet)
	if !ok {
		return nil
	}
	pods, err := r.Pods.ControlledBy(ctx, set.Namespace, set.UID)
	if err != nil {
		return nil
	}
	var out []reconcile.Request
	for _, pod := range pods {
		if !serving(pod) {
			out = append(out, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(pod)})
		}
	}
	return out
}

// outOfTraffic passes events of InPlaceSet pods whose serving condition is
// not True: the only pods this controller may act on. A pod at rest in
// traffic wakes nothing.
func outOfTraffic() predicate.Funcs {
	candidate := func(o client.Object) bool {
		pod, ok := o.(*corev1.Pod)
		return ok && ownerSet(pod) != nil && !serving(pod) && pod.DeletionTimestamp == nil
	}
	return predicate.Funcs{
		CreateFunc:  func(e event.CreateEvent) bool { return candidate(e.Object) },
		UpdateFunc:  func(e event.UpdateEvent) bool { return candidate(e.ObjectNew) },
		DeleteFunc:  func(event.DeleteEvent) bool { return false },
		GenericFunc: func(e event.GenericEvent) bool { return candidate(e.Object) },
	}
}

func ownerSet(pod *corev1.Pod) *metav1.OwnerReference {
	owner := metav1.GetControllerOf(pod)
	if owner == nil || owner.Kind != "InPlaceSet" || owner.APIVersion != appsv1alpha1.GroupVersion.String() {
		return nil
	}
	return owner
}

func serving(pod *corev1.Pod) bool {
	return inplaceset.ConditionStatus(pod, appsv1alpha1.ServingCondition) == corev1.ConditionTrue
}
