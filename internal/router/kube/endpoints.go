package kube

import (
	"fmt"
	"net"
	"sort"
	"strconv"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"

	appsv1alpha1 "github.com/cafe-dev/cafe/api/apps/v1alpha1"
)

// UnitLabel names a unit on objects CAFE does not create: hand-labelled
// pods and hand-written EndpointSlices for backends outside Kubernetes (VM
// apps). It is the label the local platform puts on nodes.
const UnitLabel = appsv1alpha1.UnitTopologyLabel

// unitLabels are read in order: CAFE's workloads label their pods with
// apps.cafe.dev/unit, everything else uses cafe.dev/unit.
var unitLabels = []string{appsv1alpha1.UnitLabel, UnitLabel}

// UnitOf returns the unit an object's labels name, or "".
func UnitOf(labels map[string]string) string {
	for _, l := range unitLabels {
		if v := labels[l]; v != "" {
			return v
		}
	}
	return ""
}

// Endpoint is one address of a Service port, in a unit.
type Endpoint struct {
	// Address is host:port.
	Address string
	Unit    string
	Ready   bool
}

// PodLabels looks up a pod's labels; false when the pod is unknown.
type PodLabels func(namespace, name string) (map[string]string, bool)

// ServiceEndpoints lists the endpoints of svc's port number port found in
// slices (the Service's EndpointSlices), each with its unit: the unit label
// of the pod its targetRef names, else the unit label of the slice itself
// (hand-written slices for VM backends). Zone hints and node names are not
// used: a unit is what the labels say. Endpoints whose unit cannot be told
// are left out and reported in problems, as are FQDN slices. The result is
// sorted by unit, then address.
func ServiceEndpoints(svc *corev1.Service, port int32, slices []discoveryv1.EndpointSlice, pods PodLabels) (endpoints []Endpoint, problems []string) {
	portName, found := "", false
	for _, p := range svc.Spec.Ports {
		if p.Port == port {
			portName, found = p.Name, true
			break
		}
	}
	if !found {
		return nil, []string{fmt.Sprintf("Service %s/%s has no port %d", svc.Namespace, svc.Name, port)}
	}
	seen := map[Endpoint]bool{}
	for i := range slices {
		s := &slices[i]
		if s.AddressType == discoveryv1.AddressTypeFQDN {
			problems = append(problems, fmt.Sprintf("EndpointSlice %s/%s: FQDN endpoints are not routed", s.Namespace, s.Name))
			continue
		}
		target, ok := slicePort(s, portName)
		if !ok {
			continue
		}
		for _, ep := range s.Endpoints {
			if len(ep.Addresses) == 0 {
				continue
			}
			unit := endpointUnit(s, ep, pods)
			if unit == "" {
				problems = append(problems, fmt.Sprintf("EndpointSlice %s/%s: endpoint %s has no unit: label its pod or the slice with %s", s.Namespace, s.Name, ep.Addresses[0], UnitLabel))
				continue
			}
			e := Endpoint{
				Address: net.JoinHostPort(ep.Addresses[0], strconv.Itoa(int(target))),
				Unit:    unit,
				// A nil ready condition means ready (discovery/v1).
				Ready: ep.Conditions.Ready == nil || *ep.Conditions.Ready,
			}
			if !seen[e] {
				seen[e] = true
				endpoints = append(endpoints, e)
			}
		}
	}
	sort.Slice(endpoints, func(a, b int) bool {
		if endpoints[a].Unit != endpoints[b].Unit {
			return endpoints[a].Unit < endpoints[b].Unit
		}
		if endpoints[a].Address != endpoints[b].Address {
			return endpoints[a].Address < endpoints[b].Address
		}
		return endpoints[a].Ready && !endpoints[b].Ready
	})
	return endpoints, problems
}

// slicePort finds the slice's port with the Service port's name (EndpointSlice
// ports carry the Service port's name, "" for an unnamed one).
func slicePort(s *discoveryv1.EndpointSlice, name string) (int32, bool) {
	for _, p := range s.Ports {
		pn := ""
		if p.Name != nil {
			pn = *p.Name
		}
		if pn == name && p.Port != nil {
			return *p.Port, true
		}
	}
	return 0, false
}

func endpointUnit(s *discoveryv1.EndpointSlice, ep discoveryv1.Endpoint, pods PodLabels) string {
	if ref := ep.TargetRef; ref != nil && ref.Kind == "Pod" && pods != nil {
		ns := ref.Namespace
		if ns == "" {
			ns = s.Namespace
		}
		if labels, ok := pods(ns, ref.Name); ok {
			if unit := UnitOf(labels); unit != "" {
				return unit
			}
		}
	}
	return UnitOf(s.Labels)
}

// ReadyAddresses returns the addresses of unit's ready endpoints, in order.
func ReadyAddresses(endpoints []Endpoint, unit string) []string {
	var out []string
	for _, e := range endpoints {
		if e.Unit == unit && e.Ready {
			out = append(out, e.Address)
		}
	}
	return out
}
