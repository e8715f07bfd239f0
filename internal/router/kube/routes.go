package kube

import (
	"fmt"
	"sort"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	trafficv1alpha1 "github.com/cafe-dev/cafe/api/traffic/v1alpha1"
	"github.com/cafe-dev/cafe/internal/router/proxy"
)

// ReasonInvalid is the Accepted=False reason of a Route the proxy cannot
// program (the CRD's validation normally stops such routes earlier).
const ReasonInvalid = "Invalid"

// DefaultRetryAttempts applies to a Route without spec.retries, matching the
// API's default for spec.retries.attempts.
const DefaultRetryAttempts = 1

// Key names a namespaced object inside the router, "namespace/name": routes
// and shard maps of different namespaces share one proxy.
func Key(namespace, name string) string { return namespace + "/" + name }

// Acceptance is the verdict on one Route, the content of its Accepted
// condition.
type Acceptance struct {
	Route    *trafficv1alpha1.Route
	Accepted bool
	Reason   string
	Message  string
}

// AcceptRoutes decides which Routes the routers program. A Route is refused
// when its ShardMap does not exist in its namespace (shardMaps holds the
// existing ones by Key), when the proxy cannot program it, or when an older
// Route (by creation time, then namespace/name) already has the same host and
// path prefix: the first claim keeps working when a second one appears. The
// result follows the order of routes.
func AcceptRoutes(routes []trafficv1alpha1.Route, shardMaps map[string]bool) []Acceptance {
	order := make([]int, len(routes))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool {
		ra, rb := &routes[order[a]], &routes[order[b]]
		if !ra.CreationTimestamp.Equal(&rb.CreationTimestamp) {
			return ra.CreationTimestamp.Before(&rb.CreationTimestamp)
		}
		return Key(ra.Namespace, ra.Name) < Key(rb.Namespace, rb.Name)
	})
	out := make([]Acceptance, len(routes))
	claimedBy := map[string]string{}
	for _, i := range order {
		r := &routes[i]
		out[i] = Acceptance{Route: r}
		if !shardMaps[Key(r.Namespace, r.Spec.ShardMap)] {
			out[i].Reason = trafficv1alpha1.ReasonShardMapNotFound
			out[i].Message = fmt.Sprintf("ShardMap %q does not exist in namespace %q", r.Spec.ShardMap, r.Namespace)
			continue
		}
		if err := proxy.ValidateRoutes([]proxy.Route{ProxyRoute(r)}); err != nil {
			out[i].Reason = ReasonInvalid
			out[i].Message = err.Error()
			continue
		}
		match := matchKey(r.Spec.Host, r.Spec.PathPrefix)
		if owner, taken := claimedBy[match]; taken {
			out[i].Reason = trafficv1alpha1.ReasonConflict
			out[i].Message = fmt.Sprintf("Route %s already routes host %q and path prefix %q", owner, r.Spec.Host, normalPrefix(r.Spec.PathPrefix))
			continue
		}
		claimedBy[match] = Key(r.Namespace, r.Name)
		out[i].Accepted = true
		out[i].Reason = trafficv1alpha1.ReasonAccepted
		out[i].Message = "programmed into the unit routers"
	}
	return out
}

// Condition is the Accepted condition for a, at the route's generation.
func (a Acceptance) Condition() metav1.Condition {
	status := metav1.ConditionFalse
	if a.Accepted {
		status = metav1.ConditionTrue
	}
	return metav1.Condition{
		Type:               trafficv1alpha1.RouteAccepted,
		Status:             status,
		Reason:             a.Reason,
		Message:            a.Message,
		ObservedGeneration: a.Route.Generation,
	}
}

// matchKey is what two routes must not share: the host as the proxy matches
// it and the prefix as whole path segments.
func matchKey(host, prefix string) string {
	if host == "" {
		host = "*"
	}
	return strings.ToLower(host) + " " + normalPrefix(prefix)
}

// normalPrefix matches the proxy's reading of a prefix: "" is "/", and a
// trailing slash does not make a different prefix.
func normalPrefix(prefix string) string {
	if prefix == "" {
		return "/"
	}
	if len(prefix) > 1 {
		return strings.TrimSuffix(prefix, "/")
	}
	return prefix
}

// ProxyRoute converts a Route for the proxy. Names are namespaced with Key,
// and so is the shard map, which lives in the Route's namespace.
func ProxyRoute(r *trafficv1alpha1.Route) proxy.Route {
	out := proxy.Route{
		Name:       Key(r.Namespace, r.Name),
		Host:       r.Spec.Host,
		PathPrefix: r.Spec.PathPrefix,
		ShardMap:   Key(r.Namespace, r.Spec.ShardMap),
		Retries:    proxy.RetryPolicy{Attempts: DefaultRetryAttempts},
	}
	if t := r.Spec.Timeouts; t != nil {
		out.Timeouts.Request = duration(t.Request)
		out.Timeouts.ResponseHeader = duration(t.ResponseHeader)
	}
	if r.Spec.Retries != nil {
		out.Retries.Attempts = int(r.Spec.Retries.Attempts)
	}
	return out
}

func duration(d *metav1.Duration) time.Duration {
	if d == nil {
		return 0
	}
	return d.Duration
}
