package kube

import (
	"reflect"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
)

func ptr[T any](v T) *T { return &v }

func TestServiceEndpoints(t *testing.T) {
	svc := &corev1.Service{Spec: corev1.ServiceSpec{Ports: []corev1.ServicePort{{Name: "admin", Port: 9000}, {Name: "http", Port: 80}}}}
	svc.Namespace, svc.Name = "bank", "accounts"
	pods := map[string]map[string]string{
		"bank/p-a":  {"apps.cafe.dev/unit": "unit-a", UnitLabel: "ignored"}, // CAFE's label wins
		"bank/p-b":  {UnitLabel: "unit-b"},
		"bank/p-no": {},
	}
	lookup := func(ns, name string) (map[string]string, bool) { l, ok := pods[ns+"/"+name]; return l, ok }
	podRef := func(name string) *corev1.ObjectReference { return &corev1.ObjectReference{Kind: "Pod", Name: name} }

	podSlice := discoveryv1.EndpointSlice{
		AddressType: discoveryv1.AddressTypeIPv4,
		Ports:       []discoveryv1.EndpointPort{{Name: ptr("admin"), Port: ptr(int32(9001))}, {Name: ptr("http"), Port: ptr(int32(8080))}},
		Endpoints: []discoveryv1.Endpoint{
			{Addresses: []string{"10.0.0.1"}, TargetRef: podRef("p-a")},
			{Addresses: []string{"10.0.0.2"}, TargetRef: podRef("p-b"), Conditions: discoveryv1.EndpointConditions{Ready: ptr(false)}},
			{Addresses: []string{"10.0.0.3"}, TargetRef: podRef("p-no")},   // no unit anywhere
			{Addresses: []string{"10.0.0.4"}, TargetRef: podRef("p-gone")}, // pod not in cache
		},
	}
	podSlice.Namespace, podSlice.Name = "bank", "accounts-pods"
	vmSlice := discoveryv1.EndpointSlice{
		AddressType: discoveryv1.AddressTypeIPv4,
		Ports:       []discoveryv1.EndpointPort{{Name: ptr("http"), Port: ptr(int32(7000))}},
		Endpoints: []discoveryv1.Endpoint{
			{Addresses: []string{"192.0.2.10"}, Conditions: discoveryv1.EndpointConditions{Ready: ptr(true)}},
			{Addresses: []string{"192.0.2.10"}}, // listed twice
			{Addresses: []string{"2001:db8::1"}},
		},
	}
	vmSlice.Namespace, vmSlice.Name = "bank", "accounts-vms"
	vmSlice.Labels = map[string]string{UnitLabel: "unit-c"}
	otherPort := discoveryv1.EndpointSlice{
		AddressType: discoveryv1.AddressTypeIPv4,
		Ports:       []discoveryv1.EndpointPort{{Name: ptr("grpc"), Port: ptr(int32(9))}},
		Endpoints:   []discoveryv1.Endpoint{{Addresses: []string{"10.9.9.9"}}},
	}
	fqdn := discoveryv1.EndpointSlice{AddressType: discoveryv1.AddressTypeFQDN}
	fqdn.Namespace, fqdn.Name = "bank", "accounts-dns"

	got, problems := ServiceEndpoints(svc, 80, []discoveryv1.EndpointSlice{podSlice, vmSlice, otherPort, fqdn}, lookup)
	want := []Endpoint{
		{Address: "10.0.0.1:8080", Unit: "unit-a", Ready: true},
		{Address: "10.0.0.2:8080", Unit: "unit-b", Ready: false},
		{Address: "192.0.2.10:7000", Unit: "unit-c", Ready: true},
		{Address: "[2001:db8::1]:7000", Unit: "unit-c", Ready: true},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("endpoints\n got %+v\nwant %+v", got, want)
	}
	joined := strings.Join(problems, "\n")
	for _, p := range []string{"endpoint 10.0.0.3 has no unit", "endpoint 10.0.0.4 has no unit", "accounts-dns: FQDN"} {
		if !strings.Contains(joined, p) {
			t.Errorf("problems do not mention %q:\n%s", p, joined)
		}
	}
	if addrs := ReadyAddresses(got, "unit-c"); !reflect.DeepEqual(addrs, []string{"192.0.2.10:7000", "[2001:db8::1]:7000"}) {
		t.Errorf("ready addresses of unit-c: %v", addrs)
	}
	if addrs := ReadyAddresses(got, "unit-b"); addrs != nil {
		t.Errorf("unit-b's only endpoint is not ready, got %v", addrs)
	}

	if _, problems := ServiceEndpoints(svc, 443, nil, lookup); len(problems) != 1 || !strings.Contains(problems[0], "has no port 443") {
		t.Errorf("unknown service port: problems %v", problems)
	}
}
