package cafedeployment

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	appsv1alpha1 "github.com/cafe-dev/cafe/api/apps/v1alpha1"
	"github.com/cafe-dev/cafe/internal/release"
)

// DefaultUnitLabel is the node label that defines units unless the spec
// names another.
const DefaultUnitLabel = appsv1alpha1.UnitTopologyLabel

func unitLabel(cd *appsv1alpha1.CafeDeployment) string {
	if l := cd.Spec.Topology.UnitLabel; l != "" {
		return l
	}
	return DefaultUnitLabel
}

// UnitSetName is the name of a unit's InPlaceSet.
func UnitSetName(cd *appsv1alpha1.CafeDeployment, unit string) string {
	return cd.Name + "-" + unit
}

// desiredSet is the InPlaceSet a unit plan asks for: the revision's template
// pinned to the unit's nodes, with the release revision label, and the
// strategy's per-unit settings.
func desiredSet(cd *appsv1alpha1.CafeDeployment, plan release.UnitPlan, template *corev1.PodTemplateSpec) *appsv1alpha1.InPlaceSet {
	t := template.DeepCopy()
	if t.Labels == nil {
		t.Labels = map[string]string{}
	}
	t.Labels[appsv1alpha1.UnitLabel] = plan.Name
	t.Labels[appsv1alpha1.CafeDeploymentLabel] = cd.Name
	t.Labels[appsv1alpha1.ReleaseRevisionLabel] = plan.Revision
	pinToUnit(&t.Spec, unitLabel(cd), plan.Name)

	selector := cd.Spec.Selector.DeepCopy()
	if selector.MatchLabels == nil {
		selector.MatchLabels = map[string]string{}
	}
	selector.MatchLabels[appsv1alpha1.UnitLabel] = plan.Name
	selector.MatchLabels[appsv1alpha1.CafeDeploymentLabel] = cd.Name

	maxUnavailable := intstr.FromInt32(plan.MaxUnavailable)
	s := cd.Spec.Strategy
	return &appsv1alpha1.InPlaceSet{
		ObjectMeta: metav1.ObjectMeta{
			Name:      UnitSetName(cd, plan.Name),
			Namespace: cd.Namespace,
			Labels: map[string]string{
				appsv1alpha1.UnitLabel:           plan.Name,
				appsv1alpha1.CafeDeploymentLabel: cd.Name,
			},
		},
		Spec: appsv1alpha1.InPlaceSetSpec{
			Replicas:             &plan.Replicas,
			Partition:            &plan.Partition,
			MinReadySeconds:      s.MinReadySeconds,
			Selector:             selector,
			Template:             *t,
			VolumeClaimTemplates: cd.Spec.VolumeClaimTemplates,
			UpdatePolicy:         s.UpgradePolicy,
			MaxUnavailable:       &maxUnavailable,
			TrafficHandoff:       s.TrafficHandoff,
			AllowEmpty:           plan.AllowEmpty,
			Paused:               plan.Paused,
		},
	}
}

// pinToUnit requires the unit label on every node the pod may run on, on top
// of whatever affinity the template has.
func pinToUnit(spec *corev1.PodSpec, label, unit string) {
	req := corev1.NodeSelectorRequirement{Key: label, Operator: corev1.NodeSelectorOpIn, Values: []string{unit}}
	if spec.Affinity == nil {
		spec.Affinity = &corev1.Affinity{}
	}
	if spec.Affinity.NodeAffinity == nil {
		spec.Affinity.NodeAffinity = &corev1.NodeAffinity{}
	}
	na := spec.Affinity.NodeAffinity
	if na.RequiredDuringSchedulingIgnoredDuringExecution == nil {
		na.RequiredDuringSchedulingIgnoredDuringExecution = &corev1.NodeSelector{}
	}
	terms := na.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms
	if len(terms) == 0 {
		terms = []corev1.NodeSelectorTerm{{}}
	}
	// Terms are ORed: the unit requirement must be in each of them.
	for i := range terms {
		terms[i].MatchExpressions = append(terms[i].MatchExpressions, req)
	}
	na.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms = terms
}

// syncSet creates the unit's InPlaceSet or updates the fields CAFE owns,
// leaving others (the stopped-slots annotation, other labels) alone. It
// writes only when something differs.
func (r *Reconciler) syncSet(ctx context.Context, cd *appsv1alpha1.CafeDeployment, want *appsv1alpha1.InPlaceSet, existing *appsv1alpha1.InPlaceSet) error {
	if existing == nil {
		if err := controllerutil.SetControllerReference(cd, want, r.Scheme); err != nil {
			return err
		}
		if err := r.Client.Create(ctx, want); err != nil && !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("create InPlaceSet %s: %w", want.Name, err)
		}
		return nil
	}
	if !metav1.IsControlledBy(existing, cd) {
		return fmt.Errorf("InPlaceSet %s exists but belongs to someone else; rename or delete it", existing.Name)
	}
	if equality.Semantic.DeepEqual(existing.Spec, want.Spec) && labelsContain(existing.Labels, want.Labels) {
		return nil
	}
	updated := existing.DeepCopy()
	// The selector is immutable; the one CAFE computes never changes for a unit.
	want.Spec.Selector = existing.Spec.Selector
	updated.Spec = want.Spec
	if updated.Labels == nil {
		updated.Labels = map[string]string{}
	}
	for k, v := range want.Labels {
		updated.Labels[k] = v
	}
	// CAFE owns the set's spec: a merge patch of what differs needs no
	// resourceVersion, so the set's own status writes never conflict with it.
	if err := r.Client.Patch(ctx, updated, client.MergeFrom(existing)); err != nil {
		return fmt.Errorf("update InPlaceSet %s: %w", want.Name, err)
	}
	return nil
}

func labelsContain(have, want map[string]string) bool {
	for k, v := range want {
		if have[k] != v {
			return false
		}
	}
	return true
}

// ownedSets lists the workload's InPlaceSets by unit.
func (r *Reconciler) ownedSets(ctx context.Context, cd *appsv1alpha1.CafeDeployment) (map[string]*appsv1alpha1.InPlaceSet, error) {
	var list appsv1alpha1.InPlaceSetList
	if err := r.Client.List(ctx, &list, client.InNamespace(cd.Namespace), client.MatchingLabels{appsv1alpha1.CafeDeploymentLabel: cd.Name}); err != nil {
		return nil, err
	}
	out := map[string]*appsv1alpha1.InPlaceSet{}
	for i := range list.Items {
		s := &list.Items[i]
		if metav1.IsControlledBy(s, cd) {
			out[s.Labels[appsv1alpha1.UnitLabel]] = s
		}
	}
	return out, nil
}

// retireSet scales a unit that left the spec to zero (its pods drained like
// any scale-in) and deletes its InPlaceSet once empty.
func (r *Reconciler) retireSet(ctx context.Context, set *appsv1alpha1.InPlaceSet) error {
	if set.Spec.Replicas != nil && *set.Spec.Replicas == 0 {
		if set.Status.Replicas == 0 {
			return client.IgnoreNotFound(r.Client.Delete(ctx, set, client.Preconditions{UID: &set.UID}))
		}
		return nil
	}
	zero := int32(0)
	updated := set.DeepCopy()
	updated.Spec.Replicas = &zero
	return r.Client.Patch(ctx, updated, client.MergeFrom(set))
}
