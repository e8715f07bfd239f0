// Package inplaceset is the InPlaceSet controller: a thin shell that reads a
// set, its pods and the endpoints that list them, asks the pure planner in
// internal/podset what to do next, and carries that out.
package inplaceset

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/record"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/controller-runtime/pkg/source"

	appsv1alpha1 "github.com/cafe-dev/cafe/api/apps/v1alpha1"
	"github.com/cafe-dev/cafe/internal/podevents"
	"github.com/cafe-dev/cafe/internal/podindex"
	"github.com/cafe-dev/cafe/internal/podset"
	"github.com/cafe-dev/cafe/internal/statuswrite"
)

// inPlaceSetLabel marks the ControllerRevisions of a set.
const inPlaceSetLabel = "apps.cafe.dev/inplaceset"

// Reconciler reconciles InPlaceSets.
type Reconciler struct {
	Client client.Client
	// Pods lists the set's pods from the cache.
	Pods *podindex.Lister
	// APIReader reads past the cache, to tell a create the cache has not
	// shown yet from one whose pod is already gone again.
	APIReader client.Reader
	Scheme    *runtime.Scheme
	Recorder  record.EventRecorder
	// Now is the clock; tests may replace it.
	Now func() time.Time

	expect *expectations
	drains *drainClock
	status *statuswrite.Writer
	// writeSlots bounds the pod writes in flight (see apply); retry wakes a
	// set whose background writes failed.
	writeSlots chan struct{}
	retry      chan event.GenericEvent
}

// Reads go through the informer cache (list, watch); pods alone are also
// read from the API server (get), to confirm a create the cache has not shown.
// Status is written with update.
// +kubebuilder:rbac:groups=apps.cafe.dev,resources=inplacesets,verbs=list;watch
// +kubebuilder:rbac:groups=apps.cafe.dev,resources=inplacesets/status,verbs=update
// +kubebuilder:rbac:groups="",resources=pods,verbs=get;list;watch;create;delete;patch
// +kubebuilder:rbac:groups="",resources=pods/status,verbs=patch
// +kubebuilder:rbac:groups="",resources=persistentvolumeclaims,verbs=create
// +kubebuilder:rbac:groups="",resources=services,verbs=list;watch
// +kubebuilder:rbac:groups=discovery.k8s.io,resources=endpointslices,verbs=list;watch
// +kubebuilder:rbac:groups=apps,resources=controllerrevisions,verbs=list;watch;create;delete
// +kubebuilder:rbac:groups="",resources=events,verbs=create;patch

// SetupWithManager registers the controller.
func (r *Reconciler) SetupWithManager(mgr ctrl.Manager, concurrency int) error {
	if r.Now == nil {
		r.Now = time.Now
	}
	r.expect = newExpectations()
	r.drains = newDrainClock()
	r.status = statuswrite.New(countsInterval)
	r.writeSlots = make(chan struct{}, maxWritesInFlight)
	r.retry = make(chan event.GenericEvent, 1024)
	return ctrl.NewControllerManagedBy(mgr).
		Named("inplaceset").
		For(&appsv1alpha1.InPlaceSet{}, builder.WithPredicates(predicate.Or(predicate.GenerationChangedPredicate{}, predicate.AnnotationChangedPredicate{}, predicate.LabelChangedPredicate{}))).
		Owns(&corev1.Pod{}, builder.WithPredicates(podevents.Changed())).
		Owns(&appsv1.ControllerRevision{}, builder.WithPredicates(deletedOnly())).
		Watches(&discoveryv1.EndpointSlice{}, handler.EnqueueRequestsFromMapFunc(r.setsOfSlice)).
		WatchesRawSource(source.Channel(r.retry, &handler.EnqueueRequestForObject{})).
		WithOptions(controller.Options{MaxConcurrentReconciles: concurrency}).
		Complete(r)
}

// Reconcile moves one set one step toward its spec.
func (r *Reconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	var set appsv1alpha1.InPlaceSet
	if err := r.Client.Get(ctx, req.NamespacedName, &set); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if set.DeletionTimestamp != nil {
		r.expect.drop(set.UID)
		r.drains.forget(set.UID, nil)
		return ctrl.Result{}, nil // owner references let the garbage collector remove the pods
	}
	pods, err := r.ownedPods(ctx, &set)
	if err != nil {
		return ctrl.Result{}, err
	}
	pending, err := r.pendingWrites(ctx, &set, pods)
	if err != nil {
		return ctrl.Result{}, err
	}

	updateRev := UpdateRevision(&set)
	if err := r.ensureRevision(ctx, &set, updateRev); err != nil {
		return ctrl.Result{}, err
	}
	currentRev := set.Status.CurrentRevision
	if currentRev == "" {
		currentRev = updateRev
	}
	templates := map[string]*corev1.PodTemplateSpec{updateRev: &set.Spec.Template}
	for _, rev := range revisionsInUse(pods, currentRev) {
		if _, ok := templates[rev]; ok {
			continue
		}
		t, err := r.revisionTemplate(ctx, set.Namespace, rev)
		if apierrors.IsNotFound(err) {
			continue // such pods can only move forward, to the update revision
		}
		if err != nil {
			return ctrl.Result{}, err
		}
		templates[rev] = t
	}
	if _, ok := templates[currentRev]; !ok {
		currentRev = updateRev
	}

	eps, err := r.observeEndpoints(ctx, set.Namespace)
	if err != nil {
		return ctrl.Result{}, err
	}
	replicas := int(derefInt32(set.Spec.Replicas, 1))
	maxUnavailable, err := podset.ResolveMaxUnavailable(set.Spec.MaxUnavailable, replicas)
	if err != nil {
		return ctrl.Result{}, reconcile.TerminalError(err)
	}
	in := podset.Input{
		Replicas:         replicas,
		Partition:        int(derefInt32(set.Spec.Partition, 0)),
		MinReady:         MinReady(&set),
		MaxUnavailable:   maxUnavailable,
		Policy:           podset.UpdatePolicy(set.Spec.UpdatePolicy),
		Drain:            time.Duration(derefInt32(set.Spec.TrafficHandoff.DrainSeconds, appsv1alpha1.DefaultDrainSeconds)) * time.Second,
		MaxDrainWait:     time.Duration(derefInt32(set.Spec.TrafficHandoff.MaxWaitSeconds, appsv1alpha1.DefaultMaxWaitSeconds)) * time.Second,
		AllowEmpty:       set.Spec.AllowEmpty,
		SkipHandoff:      set.Spec.TrafficHandoff.Disabled,
		Paused:           set.Spec.Paused,
		UpdateRevision:   updateRev,
		CurrentRevision:  currentRev,
		InPlaceUpdatable: podset.InPlaceUpdatable(*templates[currentRev], set.Spec.Template),
		StoppedIndexes:   StoppedSlots(&set),
		Now:              r.Now(),
	}
	if in.Policy == "" {
		in.Policy = podset.InPlaceIfPossible
	}
	names := make([]string, 0, len(pods))
	for name := range pods {
		names = append(names, name)
	}
	sort.Strings(names)
	alive := map[types.UID]bool{}
	for _, name := range names {
		pod := pods[name]
		p := podInput(pod, eps)
		r.drains.adjust(set.UID, pod.UID, &p, in.Now)
		_, p.Pending = pending[name]
		alive[pod.UID] = true
		in.Pods = append(in.Pods, p)
	}
	r.drains.forget(set.UID, alive)
	in.Pods = append(in.Pods, createsInFlight(pending, pods)...)
	plan := podset.Plan(in)
	applyErr := r.apply(ctx, applyContext{set: &set, pods: pods, templates: templates, current: currentRev}, plan.Actions)

	requeue := plan.RequeueAfter
	// A slot whose pod is terminating is refilled on the pod's deletion
	// event; should that event be missed or come before our cache saw the
	// pod go, look again shortly rather than leave the slot empty.
	// Likewise for a pod whose last write the cache does not show yet.
	if (terminatingPods(pods) || len(pending) > 0) && (requeue == 0 || requeue > time.Second) {
		requeue = time.Second
	}
	if err := r.updateStatus(ctx, &set, plan, updateRev, currentRev, replicas); errors.Is(err, statuswrite.ErrStale) {
		return ctrl.Result{RequeueAfter: 200 * time.Millisecond}, applyErr
	} else if errors.Is(err, statuswrite.ErrCountsLater) {
		if requeue == 0 || requeue > countsInterval {
			requeue = countsInterval
		}
	} else if err != nil {
		return ctrl.Result{}, err
	}
	if applyErr != nil {
		return ctrl.Result{}, applyErr
	}
	inUse := map[string]bool{updateRev: true, currentRev: true}
	for _, rev := range revisionsInUse(pods, currentRev) {
		inUse[rev] = true
	}
	if err := r.pruneRevisions(ctx, &set, inUse); err != nil {
		return ctrl.Result{}, err
	}
	return ctrl.Result{RequeueAfter: requeue}, nil
}

// pendingWrites returns the set's pods whose last write by this controller
// the cache does not show yet. A create the cache has not shown for a while
// is checked with the API server: if the pod it made is gone again (deleted
// before any reconcile read the cache), nothing is left to wait for.
func (r *Reconciler) pendingWrites(ctx context.Context, set *appsv1alpha1.InPlaceSet, pods map[string]*corev1.Pod) (map[string]expectation, error) {
	pending, unconfirmed := r.expect.pending(set, pods, r.Now())
	if len(unconfirmed) == 0 {
		return pending, nil
	}
	for name, uid := range unconfirmed {
		var pod corev1.Pod
		err := r.APIReader.Get(ctx, types.NamespacedName{Namespace: set.Namespace, Name: name}, &pod)
		switch {
		case apierrors.IsNotFound(err) || (err == nil && pod.UID != uid):
			r.expect.gone(set, name, uid)
		case err != nil:
			return nil, err
		}
	}
	pending, _ = r.expect.pending(set, pods, r.Now())
	return pending, nil
}

// createsInFlight are the planner's placeholders for pods this controller
// created that the cache does not show yet: their slots are taken.
func createsInFlight(pending map[string]expectation, pods map[string]*corev1.Pod) []podset.Pod {
	var out []podset.Pod
	for name, x := range pending {
		if _, seen := pods[name]; !seen && x.kind == "create" {
			out = append(out, podset.Pod{Name: name, Index: x.index, Revision: x.revision, Pending: true})
		}
	}
	return out
}

// ownedPods lists the set's pods from the cache: those it controls that
// match its selector. The
// pods are the cache's own objects, not copies (a set of thousands of pods
// would otherwise be copied on every reconcile): they are read-only, and a
// write that decodes its answer into a pod must be given a copy.
func (r *Reconciler) ownedPods(ctx context.Context, set *appsv1alpha1.InPlaceSet) (map[string]*corev1.Pod, error) {
	selector, err := metav1.LabelSelectorAsSelector(set.Spec.Selector)
	if err != nil {
		return nil, reconcile.TerminalError(fmt.Errorf("spec.selector: %w", err))
	}
	list, err := r.Pods.ControlledBy(ctx, set.Namespace, set.UID)
	if err != nil {
		return nil, err
	}
	pods := make(map[string]*corev1.Pod, len(list))
	for _, pod := range list {
		if selector.Matches(labels.Set(pod.Labels)) {
			pods[pod.Name] = pod
		}
	}
	return pods, nil
}

// revisionsInUse lists the revisions of the set's pods and the current one.
func revisionsInUse(pods map[string]*corev1.Pod, current string) []string {
	seen := map[string]bool{current: true}
	out := []string{current}
	for _, p := range pods {
		if rev := p.Labels[appsv1alpha1.RevisionLabel]; rev != "" && !seen[rev] {
			seen[rev] = true
			out = append(out, rev)
		}
	}
	sort.Strings(out[1:])
	return out
}

// StoppedSlots are the slot indexes the user stopped, from the set's
// StoppedSlotsAnnotation ("3,7").
func StoppedSlots(set *appsv1alpha1.InPlaceSet) []int {
	var out []int
	for _, f := range strings.Split(set.Annotations[appsv1alpha1.StoppedSlotsAnnotation], ",") {
		if i, err := strconv.Atoi(strings.TrimSpace(f)); err == nil && i >= 0 {
			out = append(out, i)
		}
	}
	sort.Ints(out)
	return out
}

// setsOfSlice maps an EndpointSlice change to the sets whose pods it lists.
func (r *Reconciler) setsOfSlice(ctx context.Context, obj client.Object) []reconcile.Request {
	slice, ok := obj.(*discoveryv1.EndpointSlice)
	if !ok {
		return nil
	}
	seen := map[types.NamespacedName]bool{}
	var out []reconcile.Request
	for _, ep := range slice.Endpoints {
		if ep.TargetRef == nil || ep.TargetRef.Kind != "Pod" {
			continue
		}
		var pod corev1.Pod
		if err := r.Client.Get(ctx, client.ObjectKey{Namespace: slice.Namespace, Name: ep.TargetRef.Name}, &pod); err != nil {
			continue
		}
		owner := metav1.GetControllerOf(&pod)
		if owner == nil || owner.Kind != "InPlaceSet" || owner.APIVersion != appsv1alpha1.GroupVersion.String() {
			continue
		}
		key := types.NamespacedName{Namespace: slice.Namespace, Name: owner.Name}
		if !seen[key] {
			seen[key] = true
			out = append(out, reconcile.Request{NamespacedName: key})
		}
	}
	return out
}

func deletedOnly() predicate.Predicate {
	return predicate.Funcs{
		CreateFunc:  func(e event.CreateEvent) bool { return false },
		UpdateFunc:  func(e event.UpdateEvent) bool { return false },
		GenericFunc: func(e event.GenericEvent) bool { return false },
	}
}

func derefInt32(p *int32, def int32) int32 {
	if p == nil {
		return def
	}
	return *p
}

func terminatingPods(pods map[string]*corev1.Pod) bool {
	for _, p := range pods {
		if p.DeletionTimestamp != nil {
			return true
		}
	}
	return false
}
