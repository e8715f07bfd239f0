package cafedeployment

import (
	"context"
	"sort"

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

// history is a CafeDeployment's kept revisions, oldest first by number.
type history struct {
	revisions []*appsv1.ControllerRevision
	byName    map[string]*appsv1.ControllerRevision
}

func (h history) templateOf(name string) (*corev1.PodTemplateSpec, error) {
	rev, ok := h.byName[name]
	if !ok {
		return nil, apierrors.NewNotFound(appsv1.Resource("controllerrevisions"), name)
	}
	return revision.Template(rev)
}

func (h history) maxNumber() int64 {
	var n int64
	for _, r := range h.revisions {
		n = max(n, r.Revision)
	}
	return n
}

// loadHistory lists the workload's ControllerRevisions from the cache.
func (r *Reconciler) loadHistory(ctx context.Context, cd *appsv1alpha1.CafeDeployment) (history, error) {
	var list appsv1.ControllerRevisionList
	if err := r.Client.List(ctx, &list, client.InNamespace(cd.Namespace), client.MatchingLabels{appsv1alpha1.CafeDeploymentLabel: cd.Name}); err != nil {
		return history{}, err
	}
	h := history{byName: map[string]*appsv1.ControllerRevision{}}
	for i := range list.Items {
		rev := &list.Items[i]
		if metav1.IsControlledBy(rev, cd) {
			h.revisions = append(h.revisions, rev)
			h.byName[rev.Name] = rev
		}
	}
	sort.Slice(h.revisions, func(i, j int) bool { return h.revisions[i].Revision < h.revisions[j].Revision })
	return h, nil
}

// ensureTargetRevision makes the ControllerRevision of the current template
// exist and be the newest: a template that returns to an older revision (a
// rollback) renumbers that revision, as Deployments do, and records the
// change cause.
func (r *Reconciler) ensureTargetRevision(ctx context.Context, cd *appsv1alpha1.CafeDeployment, h *history) (string, error) {
	name := revision.Name(cd.Name, &cd.Spec.Template)
	cause := cd.Annotations[appsv1alpha1.ChangeCauseAnnotation]
	if rev, ok := h.byName[name]; ok {
		if rev.Revision == h.maxNumber() && rev.Annotations[appsv1alpha1.ChangeCauseAnnotation] == cause {
			return name, nil
		}
		updated := rev.DeepCopy()
		if rev.Revision != h.maxNumber() {
			updated.Revision = h.maxNumber() + 1
		}
		if updated.Annotations == nil {
			updated.Annotations = map[string]string{}
		}
		if cause != "" {
			updated.Annotations[appsv1alpha1.ChangeCauseAnnotation] = cause
		}
		if err := r.Client.Update(ctx, updated); err != nil {
			return "", err
		}
		*rev = *updated
		return name, nil
	}
	data, err := revision.Data(&cd.Spec.Template)
	if err != nil {
		return "", err
	}
	rev := &appsv1.ControllerRevision{
		ObjectMeta: metav1.ObjectMeta{
			Name:        name,
			Namespace:   cd.Namespace,
			Labels:      map[string]string{appsv1alpha1.CafeDeploymentLabel: cd.Name},
			Annotations: map[string]string{},
		},
		Data:     runtime.RawExtension{Raw: data},
		Revision: h.maxNumber() + 1,
	}
	if cause != "" {
		rev.Annotations[appsv1alpha1.ChangeCauseAnnotation] = cause
	}
	if err := controllerutil.SetControllerReference(cd, rev, r.Scheme); err != nil {
		return "", err
	}
	if err := r.Client.Create(ctx, rev); err != nil && !apierrors.IsAlreadyExists(err) {
		return "", err
	}
	h.revisions = append(h.revisions, rev)
	h.byName[name] = rev
	return name, nil
}

// pruneHistory deletes the oldest revisions beyond revisionHistoryLimit,
// never one that pods still run.
func (r *Reconciler) pruneHistory(ctx context.Context, cd *appsv1alpha1.CafeDeployment, h history, inUse map[string]bool) error {
	limit := 10
	if cd.Spec.RevisionHistoryLimit != nil {
		limit = int(*cd.Spec.RevisionHistoryLimit)
	}
	kept := 0
	for _, rev := range h.revisions {
		if inUse[rev.Name] {
			kept++
		}
	}
	excess := len(h.revisions) - kept - limit
	for _, rev := range h.revisions {
		if excess <= 0 {
			break
		}
		if inUse[rev.Name] {
			continue
		}
		if err := r.Client.Delete(ctx, rev, client.Preconditions{UID: &rev.UID}); err != nil && !apierrors.IsNotFound(err) {
			return err
		}
		excess--
	}
	return nil
}
