package cafedeployment

import (
	"context"
	"encoding/json"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	appsv1alpha1 "github.com/cafe-dev/cafe/api/apps/v1alpha1"
	"github.com/cafe-dev/cafe/internal/release"
)

// eventSource is the component named on the events this controller sends.
const eventSource = "cafedeployment-controller"

// announceRetry is how soon a reconcile whose batch events or records could
// not be written tries again.
const announceRetry = 5 * time.Second

// announce marks each batch of the release in cd's status with an event when
// it starts and when it completes, then keeps the batch records on the
// release's revision, so the history of who approved what outlives the next
// release. The records on the revision are what has been announced: a
// controller stopped after storing the status and before recording finds
// the difference on its next run and sends those events again, under the
// same names, so the API server keeps one of each. It writes only when the
// records changed; with onlyUnannounced (the status as read, before
// planning), only when an event is missing too, so that a status read from a
// cache behind the record is not written back over it.
// It reports whether everything was written; a failure is logged and
// retried, and holds nothing else up.
func (r *Reconciler) announce(ctx context.Context, cd *appsv1alpha1.CafeDeployment, h history, onlyUnannounced bool) bool {
	rel := cd.Status.Release
	rev, ok := h.byName[rel.Revision]
	if !ok || len(rel.Batches) == 0 {
		return true
	}
	data, err := json.Marshal(rel.Batches)
	if err != nil || rev.Annotations[appsv1alpha1.ReleaseBatchesAnnotation] == string(data) {
		return err == nil
	}
	var recorded []appsv1alpha1.BatchRecord
	if old := rev.Annotations[appsv1alpha1.ReleaseBatchesAnnotation]; old != "" {
		// A record that does not parse announces nothing: its batches are
		// announced again.
		_ = json.Unmarshal([]byte(old), &recorded)
	}
	events := release.BatchEvents(rel.Revision, batchRecordsOf(recorded), batchRecordsOf(rel.Batches))
	if onlyUnannounced && len(events) == 0 {
		return true
	}
	log := ctrl.LoggerFrom(ctx)
	for _, ev := range events {
		if err := r.sendOnce(ctx, cd, ev); err != nil {
			log.Error(err, "batch event not sent; it is sent again shortly", "reason", ev.Reason, "message", ev.Message)
			return false
		}
	}
	if err := r.recordBatches(ctx, rev, string(data)); err != nil {
		log.Error(err, "batch records not kept on the revision; trying again shortly", "revision", rev.Name)
		return false
	}
	return true
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
