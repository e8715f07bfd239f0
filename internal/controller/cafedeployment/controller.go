// Package cafedeployment is the CafeDeployment controller: a thin shell that
// reads a workload, its revisions, its units' InPlaceSets and pods, asks the
// pure release planner (internal/release) for the next step, writes each
// unit's InPlaceSet and the status, and records events.
package cafedeployment

import (
	"context"
	"errors"
	"fmt"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/tools/record"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/controller-runtime/pkg/source"

	appsv1alpha1 "github.com/cafe-dev/cafe/api/apps/v1alpha1"
	"github.com/cafe-dev/cafe/internal/podevents"
	"github.com/cafe-dev/cafe/internal/podindex"
	"github.com/cafe-dev/cafe/internal/release"
	"github.com/cafe-dev/cafe/internal/statuswrite"
)

// countsInterval is how often, at most, a status write carries nothing but
// refreshed pod counts.
const countsInterval = time.Second

// staleRetry is how soon a reconcile that lost a write race runs again, on a
// fresh read.
const staleRetry = 200 * time.Millisecond

// Reconciler reconciles CafeDeployments.
type Reconciler struct {
	Client client.Client
	// Pods lists the workload's pods from the cache.
	Pods *podindex.Lister
	// APIReader reads around the cache (node capacity for auto-reschedule).
	APIReader client.Reader
	Scheme    *runtime.Scheme
	Recorder  record.EventRecorder
	// Now is the clock; tests may replace it.
	Now func() time.Time

	status   *statuswrite.Writer
	rechecks *recheckTimers
}

// Reads go through the informer cache (list, watch); nodes and the pods on
// them are listed from the API server when looking for room. Status is
// written with update.
// +kubebuilder:rbac:groups=apps.cafe.dev,resources=cafedeployments,verbs=list;watch
// +kubebuilder:rbac:groups=apps.cafe.dev,resources=cafedeployments/status,verbs=update
// +kubebuilder:rbac:groups=apps.cafe.dev,resources=inplacesets,verbs=list;watch;create;patch;delete
// +kubebuilder:rbac:groups=apps,resources=controllerrevisions,verbs=list;watch;create;update;patch;delete
// +kubebuilder:rbac:groups="",resources=pods,verbs=list;watch
// +kubebuilder:rbac:groups="",resources=nodes,verbs=list
// +kubebuilder:rbac:groups=policy,resources=poddisruptionbudgets,verbs=list;watch;create;patch;delete
// +kubebuilder:rbac:groups="",resources=events,verbs=create;patch

// SetupWithManager registers the controller.
func (r *Reconciler) SetupWithManager(mgr ctrl.Manager, concurrency int) error {
	if r.Now == nil {
		r.Now = time.Now
	}
	r.status = statuswrite.New(countsInterval)
	r.rechecks = newRecheckTimers()
	return ctrl.NewControllerManagedBy(mgr).
		Named("cafedeployment").
		For(&appsv1alpha1.CafeDeployment{}, builder.WithPredicates(predicate.Or(predicate.GenerationChangedPredicate{}, predicate.AnnotationChangedPredicate{}))).
		Owns(&appsv1alpha1.InPlaceSet{}).
		Owns(&appsv1.ControllerRevision{}).
		Owns(&policyv1.PodDisruptionBudget{}).
		Watches(&corev1.Pod{}, enqueueWorkloadOfPod(), builder.WithPredicates(podevents.Changed())).
		WatchesRawSource(source.Channel(r.rechecks.wake, &handler.EnqueueRequestForObject{})).
		WithOptions(controller.Options{MaxConcurrentReconciles: concurrency}).
		Complete(r)
}

// Reconcile moves one CafeDeployment one step.
func (r *Reconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	var cd appsv1alpha1.CafeDeployment
	if err := r.Client.Get(ctx, req.NamespacedName, &cd); err != nil {
		if apierrors.IsNotFound(err) {
			forgetMetrics(req.Namespace, req.Name)
			r.rechecks.set(req.NamespacedName, 0)
		}
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if cd.DeletionTimestamp != nil {
		r.rechecks.set(req.NamespacedName, 0)
		return ctrl.Result{}, nil
	}
	now := r.Now()
	hist, err := r.loadHistory(ctx, &cd)
	if err != nil {
		return ctrl.Result{}, err
	}
	// The stored status first: a run that stopped before announcing it (or
	// failed on the way) would otherwise lose its batches' events once a new
	// release replaces them.
	announced := r.announce(ctx, &cd, hist, true)
	target, err := r.ensureTargetRevision(ctx, &cd, &hist)
	if err != nil {
		return ctrl.Result{}, err
	}
	observed, err := r.observeUnits(ctx, &cd, target, now)
	if err != nil {
		return ctrl.Result{}, err
	}
	in, err := plannerInput(&cd, target, observed, now)
	if err != nil {
		return ctrl.Result{}, reconcile.TerminalError(err)
	}
	out, err := release.Plan(in)
	if err != nil {
		return ctrl.Result{}, reconcile.TerminalError(fmt.Errorf("spec cannot be planned: %w", err))
	}

	// The planner's status is its memory: it is stored before the sets are
	// written, so a controller killed in between re-plans from a status that
	// already holds what it decided and never moves a pod twice.
	countsLater := false
	if err := r.writeStatus(ctx, &cd, out, target, observed); errors.Is(err, statuswrite.ErrStale) {
		return ctrl.Result{RequeueAfter: staleRetry}, nil
	} else if errors.Is(err, statuswrite.ErrCountsLater) {
		countsLater = true
	} else if err != nil {
		return ctrl.Result{}, err
	}
	sets, err := r.ownedSets(ctx, &cd)
	if err != nil {
		return ctrl.Result{}, err
	}
	inUse := map[string]bool{target: true, out.Status.StableRevision: true}
	for _, plan := range out.Units {
		inUse[plan.Revision] = true
		template, err := hist.templateOf(plan.Revision)
		if err != nil {
			return ctrl.Result{}, fmt.Errorf("unit %s: revision %s: %w", plan.Name, plan.Revision, err)
		}
		if err := r.syncSet(ctx, &cd, desiredSet(&cd, plan, template), sets[plan.Name]); err != nil {
			return ctrl.Result{}, err
		}
		if err := r.syncBudget(ctx, &cd, plan); err != nil {
			return ctrl.Result{}, err
		}
		delete(sets, plan.Name)
	}
	for unit, gone := range sets {
		if err := r.retireSet(ctx, gone); err != nil {
			return ctrl.Result{}, err
		}
		if err := r.deleteBudget(ctx, &cd, unit); err != nil {
			return ctrl.Result{}, err
		}
	}
	for _, ev := range out.Events {
		r.Recorder.Event(&cd, ev.Type, ev.Reason, ev.Message)
	}
	announced = r.announce(ctx, &cd, hist, false) && announced
	recordMetrics(&cd, out, observed)
	if err := r.pruneHistory(ctx, &cd, hist, inUse); err != nil {
		return ctrl.Result{}, err
	}
	r.rechecks.set(req.NamespacedName, out.RecheckAfter)
	var after time.Duration
	if len(out.Status.Moves) > 0 {
		after = capacityPoll
	}
	if countsLater && (after == 0 || after > countsInterval) {
		after = countsInterval
	}
	if !announced && (after == 0 || after > announceRetry) {
		after = announceRetry
	}
	return ctrl.Result{RequeueAfter: after}, nil
}

// capacityPoll is how often a workload with moved quota looks for room in
// the units it borrowed from: node capacity changes bring no event here.
const capacityPoll = 5 * time.Second
