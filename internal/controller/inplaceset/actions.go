package inplaceset

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/log"

	appsv1alpha1 "github.com/cafe-dev/cafe/api/apps/v1alpha1"
	"github.com/cafe-dev/cafe/internal/podset"
)

// maxWritesInFlight bounds how many pod writes the controller has in flight
// at once, over all sets; the client's QPS limiter paces them further.
const maxWritesInFlight = 128

// applyContext is what applying a plan needs besides the actions.
type applyContext struct {
	set       *appsv1alpha1.InPlaceSet
	pods      map[string]*corev1.Pod
	templates map[string]*corev1.PodTemplateSpec // by revision name
	current   string                             // the current revision
	done      *doneActions
}

// doneActions gathers what one reconcile did, so it is reported as one event
// per kind of action instead of one per pod: events are API writes too.
type doneActions struct {
	mu    sync.Mutex
	order []doneKind
	pods  map[doneKind][]string
}

// doneKind is one event's type, reason and message.
type doneKind struct{ eventType, reason, message string }

func (d *doneActions) add(eventType, reason, message, pod string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	key := doneKind{eventType, reason, message}
	if _, ok := d.pods[key]; !ok {
		d.order = append(d.order, key)
	}
	d.pods[key] = append(d.pods[key], pod)
}

// report records one event per kind of action.
func (d *doneActions) report(r *Reconciler, set *appsv1alpha1.InPlaceSet) {
	for _, key := range d.order {
		pods := d.pods[key]
		sort.Strings(pods)
		noun := "pod"
		if len(pods) > 1 {
			noun = "pods"
		}
		r.Recorder.Eventf(set, key.eventType, key.reason, "%s %s: %s", noun, strings.Join(pods, ", "), key.message)
	}
}

// apply records, for every action of the plan, the write it makes, so that
// the next plan holds those pods as pending, and sends the writes in the
// background, at most maxWritesInFlight at once for the whole controller
// (the client's QPS limiter paces them further). The set's reconcile returns
// at once: its other pods go on while these writes travel, and each pod's
// next step is planned as soon as the cache shows its write. A failed write
// is logged and brings the set back for a fresh plan. Only an action that
// cannot even be prepared (a revision's template missing) fails the
// reconcile. The writes use the reconcile's context, which controller-runtime
// ends only when the manager stops (no reconciliation timeout is set).
func (r *Reconciler) apply(ctx context.Context, ac applyContext, actions []podset.Action) error {
	ac.done = &doneActions{pods: map[doneKind][]string{}}
	// The writes outlive the reconcile, which goes on to write the set's
	// status into its own object: they get a copy.
	ac.set = ac.set.DeepCopy()
	var writes []func() error
	var errs []error
	for _, a := range actions {
		write, err := r.prepare(ctx, ac, a)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if write != nil {
			writes = append(writes, write)
		}
	}
	if len(writes) > 0 {
		go r.send(ctx, ac, writes)
	}
	return errors.Join(errs...)
}

// send runs a plan's writes concurrently, then reports them as events and,
// if any failed, wakes the set.
func (r *Reconciler) send(ctx context.Context, ac applyContext, writes []func() error) {
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs []error
	)
	for _, write := range writes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r.writeSlots <- struct{}{}
			defer func() { <-r.writeSlots }()
			// A conflict needs no retry: the pod stays pending until the
			// cache shows the change that caused it, whose event brings
			// the set back.
			if err := write(); err != nil && !apierrors.IsConflict(err) {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	ac.done.report(r, ac.set)
	if err := errors.Join(errs...); err != nil && ctx.Err() == nil {
		log.FromContext(ctx).Error(err, "pod writes failed; planning the set again")
		select {
		case r.retry <- event.GenericEvent{Object: ac.set}:
		case <-ctx.Done():
		}
	}
}

// prepare records the expectation of one action's write and returns the
// write; nil when there is nothing to write.
func (r *Reconciler) prepare(ctx context.Context, ac applyContext, a podset.Action) (func() error, error) {
	set := ac.set
	switch a := a.(type) {
	case podset.CreatePod:
		t, ok := ac.templates[a.Revision]
		if !ok {
			return nil, fmt.Errorf("no template for revision %s", a.Revision)
		}
		pod := newPod(set, t, a.Index, a.Revision)
		r.expect.creating(set, pod.Name, a.Index, a.Revision, r.Now())
		return func() error {
			if err := r.ensureClaims(ctx, set, pod); err != nil {
				r.expect.forget(set, pod.Name)
				return err
			}
			if err := r.Client.Create(ctx, pod); err != nil {
				r.expect.forget(set, pod.Name)
				if apierrors.IsAlreadyExists(err) {
					return nil // a stable name: the slot is already filled
				}
				return fmt.Errorf("create pod %s: %w", pod.Name, err)
			}
			r.expect.created(set, pod.Name, pod.UID)
			ac.done.add(corev1.EventTypeNormal, "CreatedPod", "created at revision "+a.Revision, pod.Name)
			return nil
		}, nil
	case podset.DeletePod:
		pod := ac.pods[a.Name]
		if pod == nil {
			return nil, nil
		}
		r.expect.deleted(set, pod.Name, r.Now())
		return func() error {
			// Deleted only as planned: the pod must not have changed since.
			err := r.Client.Delete(ctx, pod.DeepCopy(), client.Preconditions{UID: &pod.UID, ResourceVersion: &pod.ResourceVersion})
			if apierrors.IsConflict(err) {
				r.expect.changed(set, pod.Name, pod.ResourceVersion, r.Now())
			} else if err != nil && !apierrors.IsNotFound(err) {
				r.expect.forget(set, pod.Name)
			}
			if err != nil && !apierrors.IsNotFound(err) {
				return fmt.Errorf("delete pod %s: %w", pod.Name, err)
			}
			ac.done.add(handoffEventType(a.Handoff), "DeletedPod", "deleted ("+string(a.Reason)+handoffNote(a.Handoff)+")", pod.Name)
			return nil
		}, nil
	case podset.SetServing:
		pod := ac.pods[a.Name]
		if pod == nil {
			return nil, nil
		}
		r.expect.changed(set, pod.Name, pod.ResourceVersion, r.Now())
		return func() error { return r.setServing(ctx, set, pod, a.Serving, a.Reason) }, nil
	case podset.UpdateInPlace:
		pod := ac.pods[a.Name]
		old, updated := ac.templates[pod.Labels[appsv1alpha1.RevisionLabel]], ac.templates[a.Revision]
		if old == nil || updated == nil {
			return nil, fmt.Errorf("update pod %s in place: revision template missing", a.Name)
		}
		patch, err := podset.PodPatchForInPlace(pod, old, updated, appsv1alpha1.RevisionLabel, a.Revision)
		if err != nil {
			return nil, err
		}
		r.expect.changed(set, pod.Name, pod.ResourceVersion, r.Now())
		return func() error {
			if err := r.patchPod(ctx, set, pod, types.StrategicMergePatchType, patch); err != nil {
				return fmt.Errorf("update pod %s in place: %w", a.Name, err)
			}
			ac.done.add(handoffEventType(a.Handoff), "UpdatedInPlace", "updated in place to revision "+a.Revision+handoffNote(a.Handoff), pod.Name)
			return nil
		}, nil
	case podset.RestartInPlace:
		pod := ac.pods[a.Name]
		template := ac.templates[pod.Labels[appsv1alpha1.RevisionLabel]]
		if template == nil {
			return nil, fmt.Errorf("restart pod %s: its revision's template is missing", a.Name)
		}
		patch, err := restartPatch(pod, template, a.Token)
		if err != nil {
			return nil, err
		}
		r.expect.changed(set, pod.Name, pod.ResourceVersion, r.Now())
		return func() error {
			if err := r.patchPod(ctx, set, pod, types.StrategicMergePatchType, patch); err != nil {
				return fmt.Errorf("restart pod %s: %w", a.Name, err)
			}
			ac.done.add(handoffEventType(a.Handoff), "RestartedInPlace", "restarted in place"+handoffNote(a.Handoff), pod.Name)
			return nil
		}, nil
	}
	return nil, fmt.Errorf("unknown action %T", a)
}

// patchPod sends a pod patch whose expectation prepare recorded.
func (r *Reconciler) patchPod(ctx context.Context, set *appsv1alpha1.InPlaceSet, pod *corev1.Pod, pt types.PatchType, patch []byte) error {
	// The answer is decoded into the object: never into the cache's own pod.
	answer := pod.DeepCopy()
	err := r.Client.Patch(ctx, answer, client.RawPatch(pt, patch))
	r.expect.settle(set, pod, answer, err)
	return err
}

// setServing moves a pod in or out of traffic through CAFE's readiness gate.
func (r *Reconciler) setServing(ctx context.Context, set *appsv1alpha1.InPlaceSet, pod *corev1.Pod, serving bool, reason podset.ServingReason) error {
	patch, err := ServingPatch(pod, serving, reason, time.Now())
	if err != nil {
		return err
	}
	answer := pod.DeepCopy()
	err = r.Client.Status().Patch(ctx, answer, client.RawPatch(types.StrategicMergePatchType, patch))
	r.expect.settle(set, pod, answer, err)
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("set %s=%v on pod %s: %w", appsv1alpha1.ServingCondition, serving, pod.Name, err)
	}
	return nil
}

// restartPatch restarts a pod's containers in place with only the Pod API:
// each container's image switches between the reference its revision's
// template names and the digest the node reported for it (the same image),
// which the kubelet treats as a changed container and restarts. The handled
// token is recorded in the same write, which carries the pod's
// resourceVersion: it restarts the pod only as the plan saw it.
func restartPatch(pod *corev1.Pod, template *corev1.PodTemplateSpec, token string) ([]byte, error) {
	reported := map[string]string{}
	for _, s := range pod.Status.ContainerStatuses {
		reported[s.Name] = s.ImageID
	}
	declared := map[string]string{}
	for _, c := range template.Spec.Containers {
		declared[c.Name] = c.Image
	}
	var containers []map[string]string
	for _, c := range pod.Spec.Containers {
		next := declared[c.Name]
		if c.Image == next || next == "" {
			next = strings.TrimPrefix(reported[c.Name], "docker-pullable://")
		}
		if next == "" || next == c.Image {
			return nil, fmt.Errorf("restart pod %s: container %s has no reported image digest yet; retry once it runs", pod.Name, c.Name)
		}
		containers = append(containers, map[string]string{"name": c.Name, "image": next})
	}
	return json.Marshal(map[string]any{
		"metadata": map[string]any{
			"uid":             pod.UID,
			"resourceVersion": pod.ResourceVersion,
			"annotations":     map[string]string{appsv1alpha1.RestartHandledAnnotation: token},
		},
		"spec": map[string]any{"containers": containers},
	})
}

// handoffEventType warns when a pod changed while some endpoints still
// listed it: its clients may have seen errors.
func handoffEventType(h podset.Handoff) string {
	if h == podset.HandoffCannotLeaveEndpoints || h == podset.HandoffMaxWaitElapsed {
		return corev1.EventTypeWarning
	}
	return corev1.EventTypeNormal
}

func handoffNote(h podset.Handoff) string {
	switch h {
	case podset.HandoffCannotLeaveEndpoints:
		return "; a Service with publishNotReadyAddresses kept it in its endpoints"
	case podset.HandoffMaxWaitElapsed:
		return "; it was still in endpoints when trafficHandoff.maxWaitSeconds ran out"
	}
	return ""
}
