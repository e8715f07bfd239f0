package cafedeployment

import (
	"context"
	"encoding/json"
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"
	"sigs.k8s.io/controller-runtime/pkg/client"

	appsv1alpha1 "github.com/cafe-dev/cafe/api/apps/v1alpha1"
	"github.com/cafe-dev/cafe/internal/release"
)

// eventSource is the component named on the events this controller sends.
const eventSource = "cafedeployment-controller"

// announceBatches marks each batch of the release with an event when it
// starts and when it completes, then keeps the batch records on the
// release's revision, so the history of who approved what outlives the next
// release. The records on the revision are what has been announced: a
// controller stopped after storing the status and before recording finds
// the difference on its next run and sends those events again, under the
// same names, so the API server keeps one of each. It writes only when the
// records changed.
func (r *Reconciler) announceBatches(ctx context.Context, cd *appsv1alpha1.CafeDeployment, h history) error {
	rel := cd.Status.Release
	rev, ok := h.byName[rel.Revision]
	if !ok || len(rel.Batches) == 0 {
		return nil
	}
	data, err := json.Marshal(rel.Batches)
	if err != nil {
		return err
	}
	if rev.Annotations[appsv1alpha1.ReleaseBatchesAnnotation] == string(data) {
		return nil
	}
	var recorded []appsv1alpha1.BatchRecord
	if old := rev.Annotations[appsv1alpha1.ReleaseBatchesAnnotation]; old != "" {
		// A record that does not parse announces nothing: its batches are
		// announced again.
		_ = json.Unmarshal([]byte(old), &recorded)
	}
	for _, ev := range release.BatchEvents(rel.Revision, batchRecordsOf(recorded), batchRecordsOf(rel.Batches)) {
		if err := r.sendOnce(ctx, cd, ev); err != nil {
			return fmt.Errorf("announce %s: %w", ev.Message, err)
		}
	}
	return r.recordBatches(ctx, rev, string(data))
}

// recordBatches stores the batch records on the revision.
func (r *Reconciler) recordBatches(ctx context.Context, rev *appsv1.ControllerRevision, data string) error {
	updated := rev.DeepCopy()
	if updated.Annotations == nil {
		updated.Annotations = map[string]string{}
	}
	updated.Annotations[appsv1alpha1.ReleaseBatchesAnnotation] = data
	if err := r.Client.Patch(ctx, updated, client.MergeFrom(rev)); err != nil {
		return client.IgnoreNotFound(err)
	}
	*rev = *updated
	return nil
}

// sendOnce creates a keyed event under a name made from its key, waiting for
// the API server's answer (the event recorder sends in the background and
// would lose what is queued when the process stops). An event of that name
// already there was sent before.
func (r *Reconciler) sendOnce(ctx context.Context, cd *appsv1alpha1.CafeDeployment, ev release.Event) error {
	now := metav1.Now()
	event := &corev1.Event{
		ObjectMeta: metav1.ObjectMeta{Name: keyedEventName(cd.Name, ev.Key), Namespace: cd.Namespace},
		InvolvedObject: corev1.ObjectReference{
			APIVersion: appsv1alpha1.GroupVersion.String(), Kind: "CafeDeployment",
			Namespace: cd.Namespace, Name: cd.Name, UID: cd.UID, ResourceVersion: cd.ResourceVersion,
		},
		Type: ev.Type, Reason: ev.Reason, Message: ev.Message,
		Source:         corev1.EventSource{Component: eventSource},
		FirstTimestamp: now, LastTimestamp: now, Count: 1,
		ReportingController: eventSource,
	}
	if err := r.Client.Create(ctx, event); err != nil && !apierrors.IsAlreadyExists(err) {
		return err
	}
	return nil
}

// keyedEventName is "<workload>.<key>", as the event recorder names events
// "<object>.<time>", with the workload's name cut short if the whole would
// be too long for a name.
func keyedEventName(workload, key string) string {
	if room := validation.DNS1123SubdomainMaxLength - len(key) - 1; len(workload) > room {
		workload = workload[:room]
	}
	return workload + "." + key
}
