package inplaceset

import (
	"context"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	appsv1alpha1 "github.com/cafe-dev/cafe/api/apps/v1alpha1"
	"github.com/cafe-dev/cafe/internal/revision"
)

// revisionName names the set's ControllerRevision for a template.
func revisionName(set *appsv1alpha1.InPlaceSet, t *corev1.PodTemplateSpec) string {
	return revision.Name(set.Name, t)
}

// UpdateRevision is the revision the set's pods move to: its template's.
func UpdateRevision(set *appsv1alpha1.InPlaceSet) string {
	return revisionName(set, &set.Spec.Template)
}

// ensureRevision makes sure the ControllerRevision holding the set's current
// template exists: a pod that dies at an older revision is recreated from it.
func (r *Reconciler) ensureRevision(ctx context.Context, set *appsv1alpha1.InPlaceSet, name string) error {
	var existing appsv1.ControllerRevision
	err := r.Client.Get(ctx, client.ObjectKey{Namespace: set.Namespace, Name: name}, &existing)
	if err == nil || !apierrors.IsNotFound(err) {
		return err
	}
	data, err := revision.Data(&set.Spec.Template)
	if err != nil {
		return err
	}
	rev := &appsv1.ControllerRevision{
		ObjectMeta: metav1.ObjectMeta{
			Name:      name,
			Namespace: set.Namespace,
			Labels:    map[string]string{inPlaceSetLabel: set.Name},
		},
		Data:     runtime.RawExtension{Raw: data},
		Revision: set.Generation,
	}
	if err := controllerutil.SetControllerReference(set, rev, r.Scheme); err != nil {
		return err
	}
	if err := r.Client.Create(ctx, rev); err != nil && !apierrors.IsAlreadyExists(err) {
		return err
	}
	return nil
}

// revisionTemplate loads the template a revision was made from.
func (r *Reconciler) revisionTemplate(ctx context.Context, namespace, name string) (*corev1.PodTemplateSpec, error) {
	var rev appsv1.ControllerRevision
	if err := r.Client.Get(ctx, client.ObjectKey{Namespace: namespace, Name: name}, &rev); err != nil {
		return nil, err
	}
	return revision.Template(&rev)
}

// pruneRevisions deletes the set's revisions no pod uses any more, except the
// current and update revisions.
func (r *Reconciler) pruneRevisions(ctx context.Context, set *appsv1alpha1.InPlaceSet, inUse map[string]bool) error {
	var list appsv1.ControllerRevisionList
	if err := r.Client.List(ctx, &list, client.InNamespace(set.Namespace), client.MatchingLabels{inPlaceSetLabel: set.Name}); err != nil {
		return err
	}
	for i := range list.Items {
		rev := &list.Items[i]
		if inUse[rev.Name] || !metav1.IsControlledBy(rev, set) {
			continue
		}
		if err := r.Client.Delete(ctx, rev, client.Preconditions{UID: &rev.UID}); err != nil && !apierrors.IsNotFound(err) {
			return err
		}
	}
	return nil
}
