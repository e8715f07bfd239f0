package inplaceset

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	appsv1alpha1 "github.com/cafe-dev/cafe/api/apps/v1alpha1"
)

// ClaimName is the name of a slot's claim from a volume claim template.
func ClaimName(template, pod string) string {
	return template + "-" + pod
}

// mountClaims makes each of the set's volume claim templates a volume of the
// pod, backed by the slot's own claim; a template volume of the same name is
// replaced, as a StatefulSet does.
func mountClaims(set *appsv1alpha1.InPlaceSet, pod *corev1.Pod) {
	for _, t := range set.Spec.VolumeClaimTemplates {
		v := corev1.Volume{Name: t.Name, VolumeSource: corev1.VolumeSource{
			PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: ClaimName(t.Name, pod.Name)}}}
		replaced := false
		for i := range pod.Spec.Volumes {
			if pod.Spec.Volumes[i].Name == t.Name {
				pod.Spec.Volumes[i], replaced = v, true
			}
		}
		if !replaced {
			pod.Spec.Volumes = append(pod.Spec.Volumes, v)
		}
	}
}

// ensureClaims creates the slot's claims that do not exist yet. A claim that
// exists is the slot's from before (a stopped slot started again, a pod
// recreated under its name) and is kept as it is. Claims carry the pod's
// labels but no owner: like a StatefulSet's, they outlive the set.
func (r *Reconciler) ensureClaims(ctx context.Context, set *appsv1alpha1.InPlaceSet, pod *corev1.Pod) error {
	for _, t := range set.Spec.VolumeClaimTemplates {
		claim := &corev1.PersistentVolumeClaim{
			ObjectMeta: metav1.ObjectMeta{Name: ClaimName(t.Name, pod.Name), Namespace: pod.Namespace, Labels: pod.Labels},
			Spec:       *t.Spec.DeepCopy(),
		}
		if err := r.Client.Create(ctx, claim); err != nil && !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("create claim %s for pod %s: %w", claim.Name, pod.Name, err)
		}
	}
	return nil
}
