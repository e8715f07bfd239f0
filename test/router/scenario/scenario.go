// Package scenario is the three-unit setup the router's integration tests
// and its benchmark share: a selectorless Service whose hand-written
// EndpointSlices point at netlab backends, a ShardMap over units a, b and c,
// and a Route.
package scenario

import (
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	trafficv1alpha1 "github.com/cafe-dev/cafe/api/traffic/v1alpha1"
	"github.com/cafe-dev/cafe/internal/router/failover"
	"github.com/cafe-dev/cafe/internal/router/kube"
	"github.com/cafe-dev/cafe/test/router/netlab"
)

// Names of the scenario's objects.
const (
	ShardMap = "users"
	Route    = "accounts"
	Service  = "accounts"
)

// Units are the scenario's units; each fails over to the next one.
var Units = []string{"unit-a", "unit-b", "unit-c"}

// FailoverTo is each unit's failover target.
var FailoverTo = map[string]string{"unit-a": "unit-b", "unit-b": "unit-c", "unit-c": "unit-a"}

// Declared is each unit's shards.
var Declared = map[string][]int{
	"unit-a": span(0, 33),
	"unit-b": span(34, 66),
	"unit-c": span(67, 99),
}

func span(from, to int) []int {
	var out []int
	for s := from; s <= to; s++ {
		out = append(out, s)
	}
	return out
}

// UID is a user ID whose shard (its last two digits) is shard.
func UID(shard int) string { return fmt.Sprintf("U10%02d", shard) }

// Options shape the objects.
type Options struct {
	Namespace string
	// Backends by unit; each gets an EndpointSlice of its own.
	Backends map[string][]*netlab.Backend
	// RouterAddresses by unit, host:port.
	RouterAddresses map[string]string
	// FailoverAfter and FailbackAfter go into the ShardMap's annotations.
	FailoverAfter, FailbackAfter time.Duration
	// PodUnit is a unit whose endpoints name pods carrying the unit label
	// (instead of a unit label on the slice); "" for none.
	PodUnit string
}

// Objects returns what to create, in order: the Service, the pods of
// PodUnit, the EndpointSlices, the ShardMap, the Route.
func Objects(o Options) []client.Object {
	objs := []client.Object{&corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Namespace: o.Namespace, Name: Service},
		Spec:       corev1.ServiceSpec{Ports: []corev1.ServicePort{{Name: "http", Port: 80}}},
	}}
	for _, unit := range Units {
		for i, b := range o.Backends[unit] {
			slice := &discoveryv1.EndpointSlice{
				ObjectMeta: metav1.ObjectMeta{Namespace: o.Namespace, Name: fmt.Sprintf("%s-%s-%d", Service, unit, i), Labels: map[string]string{
					discoveryv1.LabelServiceName: Service,
					discoveryv1.LabelManagedBy:   "cafe-router-scenario",
				}},
				AddressType: discoveryv1.AddressTypeIPv4,
				Ports:       []discoveryv1.EndpointPort{{Name: ptr("http"), Port: ptr(int32(b.Port))}},
				Endpoints:   []discoveryv1.Endpoint{{Addresses: []string{b.Unit.NetnsIP}, Conditions: discoveryv1.EndpointConditions{Ready: ptr(true)}}},
			}
			if unit == o.PodUnit {
				pod := &corev1.Pod{
					ObjectMeta: metav1.ObjectMeta{Namespace: o.Namespace, Name: b.Name, Labels: map[string]string{"apps.cafe.dev/unit": unit}},
					Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "accounts:v1"}}},
				}
				objs = append(objs, pod)
				slice.Endpoints[0].TargetRef = &corev1.ObjectReference{Kind: "Pod", Namespace: o.Namespace, Name: pod.Name}
			} else {
				slice.Labels[kube.UnitLabel] = unit
			}
			objs = append(objs, slice)
		}
	}
	sm := &trafficv1alpha1.ShardMap{
		ObjectMeta: metav1.ObjectMeta{Namespace: o.Namespace, Name: ShardMap, Annotations: map[string]string{
			failover.AnnotationFailoverAfter: o.FailoverAfter.String(),
			failover.AnnotationFailbackAfter: o.FailbackAfter.String(),
		}},
		Spec: trafficv1alpha1.ShardMapSpec{
			Shards: 100,
			Key:    trafficv1alpha1.ShardKey{Source: trafficv1alpha1.ShardKeyFromHeader, Name: "X-Cafe-Uid", Digits: &trafficv1alpha1.ShardKeyDigits{Count: 2}},
		},
	}
	for _, unit := range Units {
		shards := Declared[unit]
		sm.Spec.Units = append(sm.Spec.Units, trafficv1alpha1.ShardUnit{
			Name:          unit,
			Ranges:        []trafficv1alpha1.ShardRange{{From: int32(shards[0]), To: int32(shards[len(shards)-1])}},
			FailoverTo:    FailoverTo[unit],
			RouterAddress: o.RouterAddresses[unit],
		})
	}
	route := &trafficv1alpha1.Route{
		ObjectMeta: metav1.ObjectMeta{Namespace: o.Namespace, Name: Route},
		Spec: trafficv1alpha1.RouteSpec{
			Host: "*", PathPrefix: "/", ShardMap: ShardMap,
			Service: trafficv1alpha1.RouteService{Name: Service, Port: 80},
		},
	}
	return append(objs, sm, route)
}

func ptr[T any](v T) *T { return &v }
