package cafedeployment

import (
	"context"
	"fmt"

	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	appsv1alpha1 "github.com/cafe-dev/cafe/api/apps/v1alpha1"
	"github.com/cafe-dev/cafe/internal/release"
)

// syncBudget keeps one PodDisruptionBudget per unit, so evictions (kubectl
// drain, cluster autoscalers) never take a unit below the floor its release
// strategy keeps: at most the unit's maxUnavailable pods may be disrupted.
func (r *Reconciler) syncBudget(ctx context.Context, cd *appsv1alpha1.CafeDeployment, plan release.UnitPlan) error {
	selector := cd.Spec.Selector.DeepCopy()
	if selector.MatchLabels == nil {
		selector.MatchLabels = map[string]string{}
	}
	selector.MatchLabels[appsv1alpha1.UnitLabel] = plan.Name
	selector.MatchLabels[appsv1alpha1.CafeDeploymentLabel] = cd.Name
	maxUnavailable := intstr.FromInt32(plan.MaxUnavailable)
	want := policyv1.PodDisruptionBudgetSpec{Selector: selector, MaxUnavailable: &maxUnavailable}
	name := UnitSetName(cd, plan.Name)
	var existing policyv1.PodDisruptionBudget
	err := r.Client.Get(ctx, client.ObjectKey{Namespace: cd.Namespace, Name: name}, &existing)
	if apierrors.IsNotFound(err) {
		pdb := &policyv1.PodDisruptionBudget{
			ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: cd.Namespace, Labels: map[string]string{
				appsv1alpha1.UnitLabel: plan.Name, appsv1alpha1.CafeDeploymentLabel: cd.Name}},
			Spec: want,
		}
		if err := controllerutil.SetControllerReference(cd, pdb, r.Scheme); err != nil {
			return err
		}
		if err := r.Client.Create(ctx, pdb); err != nil && !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("create PodDisruptionBudget %s: %w", name, err)
		}
		return nil
	}
	if err != nil {
		return err
	}
	if !metav1.IsControlledBy(&existing, cd) {
		return fmt.Errorf("PodDisruptionBudget %s exists but belongs to someone else; rename or delete it", name)
	}
	if equality.Semantic.DeepEqual(existing.Spec.MaxUnavailable, want.MaxUnavailable) && equality.Semantic.DeepEqual(existing.Spec.Selector, want.Selector) {
		return nil
	}
	updated := existing.DeepCopy()
	updated.Spec.MaxUnavailable, updated.Spec.Selector = want.MaxUnavailable, want.Selector
	return r.Client.Patch(ctx, updated, client.MergeFrom(&existing))
}

// deleteBudget removes the budget of a unit that left the spec.
func (r *Reconciler) deleteBudget(ctx context.Context, cd *appsv1alpha1.CafeDeployment, unit string) error {
	pdb := &policyv1.PodDisruptionBudget{ObjectMeta: metav1.ObjectMeta{Namespace: cd.Namespace, Name: UnitSetName(cd, unit)}}
	return client.IgnoreNotFound(r.Client.Delete(ctx, pdb))
}
