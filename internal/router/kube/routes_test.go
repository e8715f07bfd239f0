package kube

import (
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	trafficv1alpha1 "github.com/cafe-dev/cafe/api/traffic/v1alpha1"
	"github.com/cafe-dev/cafe/internal/router/proxy"
)

func route(ns, name, host, prefix, shardMap string, created int) trafficv1alpha1.Route {
	r := trafficv1alpha1.Route{Spec: trafficv1alpha1.RouteSpec{
		Host: host, PathPrefix: prefix, ShardMap: shardMap,
		Service: trafficv1alpha1.RouteService{Name: "svc", Port: 80},
	}}
	r.Namespace, r.Name = ns, name
	r.Generation = 2
	r.CreationTimestamp = metav1.NewTime(time.Unix(int64(1000+created), 0))
	return r
}

func TestAcceptRoutes(t *testing.T) {
	maps := map[string]bool{"bank/users": true, "shop/users": true}
	bad := route("bank", "bad-retries", "bank.example", "/bad", "users", 0)
	bad.Spec.Retries = &trafficv1alpha1.RouteRetries{Attempts: 9}
	routes := []trafficv1alpha1.Route{
		route("bank", "newer", "Bank.Example", "/accounts/", "users", 5), // same match as "older", created later
		route("bank", "older", "bank.example", "/accounts", "users", 1),
		route("bank", "orphan", "bank.example", "/cards", "missing", 2),
		route("shop", "cart", "*", "", "users", 3),
		route("shop", "cart-twin", "", "/", "users", 3), // same creation time: name decides
		bad,
	}
	got := AcceptRoutes(routes, maps)
	want := []struct {
		accepted bool
		reason   string
	}{
		{false, trafficv1alpha1.ReasonConflict},
		{true, trafficv1alpha1.ReasonAccepted},
		{false, trafficv1alpha1.ReasonShardMapNotFound},
		{true, trafficv1alpha1.ReasonAccepted},
		{false, trafficv1alpha1.ReasonConflict},
		{false, ReasonInvalid},
	}
	for i, w := range want {
		if got[i].Accepted != w.accepted || got[i].Reason != w.reason {
			t.Errorf("%s: accepted=%v reason=%s (%s), want %v %s", routes[i].Name, got[i].Accepted, got[i].Reason, got[i].Message, w.accepted, w.reason)
		}
		if got[i].Route != &routes[i] {
			t.Errorf("verdict %d is about another route", i)
		}
	}
	if c := got[0].Condition(); c.Status != metav1.ConditionFalse || c.ObservedGeneration != 2 || c.Message != `Route bank/older already routes host "Bank.Example" and path prefix "/accounts"` {
		t.Errorf("conflict condition %+v", c)
	}
	// Accepted routes never collide in the proxy.
	var accepted []proxy.Route
	for i, a := range got {
		if a.Accepted {
			accepted = append(accepted, ProxyRoute(&routes[i]))
		}
	}
	if err := proxy.ValidateRoutes(accepted); err != nil {
		t.Fatalf("accepted routes do not validate: %v", err)
	}
}

func TestProxyRoute(t *testing.T) {
	r := route("bank", "accounts", "bank.example", "/accounts", "users", 0)
	got := ProxyRoute(&r)
	want := proxy.Route{Name: "bank/accounts", Host: "bank.example", PathPrefix: "/accounts", ShardMap: "bank/users", Retries: proxy.RetryPolicy{Attempts: DefaultRetryAttempts}}
	if got != want {
		t.Errorf("ProxyRoute = %+v, want %+v", got, want)
	}
	r.Spec.Timeouts = &trafficv1alpha1.RouteTimeouts{Request: &metav1.Duration{Duration: 30 * time.Second}, ResponseHeader: &metav1.Duration{Duration: 5 * time.Second}}
	r.Spec.Retries = &trafficv1alpha1.RouteRetries{Attempts: 0}
	got = ProxyRoute(&r)
	if got.Timeouts != (proxy.Timeouts{Request: 30 * time.Second, ResponseHeader: 5 * time.Second}) || got.Retries.Attempts != 0 {
		t.Errorf("timeouts and retries converted to %+v %+v", got.Timeouts, got.Retries)
	}
}
