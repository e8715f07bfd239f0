package cli

import (
	"context"
	"sort"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	appsv1alpha1 "github.com/cafe-dev/cafe/api/apps/v1alpha1"
)

// snapshot is everything the console reads about one CafeDeployment.
type snapshot struct {
	workload *appsv1alpha1.CafeDeployment
	// sets are the unit InPlaceSets the workload controls.
	sets []appsv1alpha1.InPlaceSet
	// pods carry the workload label.
	pods []corev1.Pod
	// revisions are the workload's ControllerRevisions, oldest number first.
	revisions []appsv1.ControllerRevision
}

func cafeDeploymentRequest(verb, name, ns string) request {
	return request{verb: verb, resource: "cafedeployments", kind: "CafeDeployment", name: name, namespace: ns}
}

// getWorkload reads one CafeDeployment.
func (s *session) getWorkload(ctx context.Context, name string) (*appsv1alpha1.CafeDeployment, error) {
	var cd appsv1alpha1.CafeDeployment
	err := s.client.Get(ctx, client.ObjectKey{Namespace: s.namespace, Name: name}, &cd)
	return &cd, explain(err, cafeDeploymentRequest("get", name, s.namespace))
}

// load reads a workload with its sets, pods and revisions.
func (s *session) load(ctx context.Context, name string) (*snapshot, error) {
	cd, err := s.getWorkload(ctx, name)
	if err != nil {
		return nil, err
	}
	snap := &snapshot{workload: cd}
	mine := client.MatchingLabels{appsv1alpha1.CafeDeploymentLabel: name}
	in := client.InNamespace(s.namespace)

	var sets appsv1alpha1.InPlaceSetList
	if err := s.client.List(ctx, &sets, in, mine); err != nil {
		return nil, explain(err, request{verb: "list", resource: "inplacesets", kind: "InPlaceSet", namespace: s.namespace})
	}
	for _, set := range sets.Items {
		if metav1.IsControlledBy(&set, cd) {
			snap.sets = append(snap.sets, set)
		}
	}
	var pods corev1.PodList
	if err := s.client.List(ctx, &pods, in, mine); err != nil {
		return nil, explain(err, request{verb: "list", resource: "pods", kind: "Pod", namespace: s.namespace})
	}
	snap.pods = pods.Items
	if snap.revisions, err = s.revisions(ctx, cd); err != nil {
		return nil, err
	}
	return snap, nil
}

// revisions lists the workload's ControllerRevisions, oldest number first.
func (s *session) revisions(ctx context.Context, cd *appsv1alpha1.CafeDeployment) ([]appsv1.ControllerRevision, error) {
	var list appsv1.ControllerRevisionList
	err := s.client.List(ctx, &list, client.InNamespace(cd.Namespace), client.MatchingLabels{appsv1alpha1.CafeDeploymentLabel: cd.Name})
	if err != nil {
		return nil, explain(err, request{verb: "list", resource: "controllerrevisions", kind: "ControllerRevision", namespace: cd.Namespace})
	}
	var out []appsv1.ControllerRevision
	for _, rev := range list.Items {
		if metav1.IsControlledBy(&rev, cd) {
			out = append(out, rev)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Revision < out[j].Revision })
	return out, nil
}
