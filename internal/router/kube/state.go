package kube

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	trafficv1alpha1 "github.com/cafe-dev/cafe/api/traffic/v1alpha1"
)

// State is what routing depends on, read from a cache at one moment.
type State struct {
	ShardMaps []trafficv1alpha1.ShardMap
	// Routes holds every Route with its verdict.
	Routes []Acceptance
	// Endpoints lists every unit's endpoints of each accepted route, by the
	// route's Key.
	Endpoints map[string][]Endpoint
	// Problems are endpoints and Services that could not be read as routing
	// needs them, one line each.
	Problems []string
}

// ReadState reads State from r (normally the informer cache) for namespaces.
func ReadState(ctx context.Context, r client.Reader, namespaces []string) (*State, error) {
	st := &State{Endpoints: map[string][]Endpoint{}}
	var routes []trafficv1alpha1.Route
	for _, ns := range namespaces {
		var maps trafficv1alpha1.ShardMapList
		if err := r.List(ctx, &maps, client.InNamespace(ns)); err != nil {
			return nil, fmt.Errorf("list ShardMaps in %s: %w", ns, err)
		}
		st.ShardMaps = append(st.ShardMaps, maps.Items...)
		var list trafficv1alpha1.RouteList
		if err := r.List(ctx, &list, client.InNamespace(ns)); err != nil {
			return nil, fmt.Errorf("list Routes in %s: %w", ns, err)
		}
		routes = append(routes, list.Items...)
	}
	existing := make(map[string]bool, len(st.ShardMaps))
	for _, sm := range st.ShardMaps {
		existing[Key(sm.Namespace, sm.Name)] = true
	}
	st.Routes = AcceptRoutes(routes, existing)
	for _, a := range st.Routes {
		if !a.Accepted {
			continue
		}
		eps, problems, err := routeEndpoints(ctx, r, a.Route)
		if err != nil {
			return nil, err
		}
		st.Endpoints[Key(a.Route.Namespace, a.Route.Name)] = eps
		st.Problems = append(st.Problems, problems...)
	}
	return st, nil
}

func routeEndpoints(ctx context.Context, r client.Reader, route *trafficv1alpha1.Route) ([]Endpoint, []string, error) {
	var svc corev1.Service
	err := r.Get(ctx, types.NamespacedName{Namespace: route.Namespace, Name: route.Spec.Service.Name}, &svc)
	if apierrors.IsNotFound(err) {
		return nil, []string{fmt.Sprintf("Route %s/%s: Service %q does not exist", route.Namespace, route.Name, route.Spec.Service.Name)}, nil
	}
	if err != nil {
		return nil, nil, fmt.Errorf("get Service %s/%s: %w", route.Namespace, route.Spec.Service.Name, err)
	}
	var slices discoveryv1.EndpointSliceList
	if err := r.List(ctx, &slices, client.InNamespace(route.Namespace),
		client.MatchingLabels{discoveryv1.LabelServiceName: svc.Name}); err != nil {
		return nil, nil, fmt.Errorf("list EndpointSlices of Service %s/%s: %w", svc.Namespace, svc.Name, err)
	}
	pods := func(namespace, name string) (map[string]string, bool) {
		pod := podMetadata()
		if err := r.Get(ctx, types.NamespacedName{Namespace: namespace, Name: name}, pod); err != nil {
			return nil, false
		}
		return pod.Labels, true
	}
	eps, problems := ServiceEndpoints(&svc, route.Spec.Service.Port, slices.Items, pods)
	return eps, problems, nil
}

// RoutesUsing returns the Keys of the accepted routes that use shard map
// key (a Key too).
func (st *State) RoutesUsing(shardMap string) []string {
	var out []string
	for _, a := range st.Routes {
		if a.Accepted && Key(a.Route.Namespace, a.Route.Spec.ShardMap) == shardMap {
			out = append(out, Key(a.Route.Namespace, a.Route.Name))
		}
	}
	return out
}
