package proxy

import (
	"fmt"
	"sort"
	"strings"
	"sync/atomic"
	"time"

	"github.com/cafe-dev/cafe/internal/router/shard"
)

// Route binds a host and path prefix to a shard map and to the endpoints of
// this router's unit that serve it.
type Route struct {
	// Name identifies the route in SetEndpoints, metrics and logs.
	Name string
	// Host matches the request host without port, case-insensitively;
	// "*" or "" matches any host.
	Host string
	// PathPrefix matches whole path segments; "" means "/".
	PathPrefix string
	// ShardMap names the table given to SetShardMap.
	ShardMap string
	Timeouts Timeouts
	Retries  RetryPolicy
}

// Timeouts bound a request; zero means no bound beyond the transport's.
type Timeouts struct {
	// Request bounds the whole exchange, retries and body included.
	Request time.Duration
	// ResponseHeader bounds each attempt until response headers arrive.
	ResponseHeader time.Duration
}

// RetryPolicy says how many times a failed attempt is retried.
type RetryPolicy struct {
	// Attempts is the number of retries after the first attempt, at most
	// maxAttempts-1.
	Attempts int
}

// mapSlot holds the current table of one shard map; routes point at slots
// so a table swap never touches the route table.
type mapSlot struct {
	table atomic.Pointer[shard.Table]
}

type compiledRoute struct {
	Route
	prefix string
	slot   *mapSlot
	pool   *endpointPool
}

// routeTable is immutable and swapped whole.
type routeTable struct {
	byHost  map[string][]*compiledRoute
	anyHost []*compiledRoute
}

// ValidateRoutes checks routes as SetRoutes does: unique names, unique
// host and prefix pairs, a shard map name, a prefix starting with "/",
// retries within bounds and no negative timeouts.
func ValidateRoutes(routes []Route) error {
	var problems []string
	names := map[string]bool{}
	matches := map[string]string{}
	for i, r := range routes {
		if r.Name == "" {
			problems = append(problems, fmt.Sprintf("routes[%d]: name is required", i))
		} else if names[r.Name] {
			problems = append(problems, fmt.Sprintf("routes[%d]: name %q is used twice", i, r.Name))
		}
		names[r.Name] = true
		if r.ShardMap == "" {
			problems = append(problems, fmt.Sprintf("routes[%d] %q: shardMap is required", i, r.Name))
		}
		prefix := normalPrefix(r.PathPrefix)
		if !strings.HasPrefix(prefix, "/") {
			problems = append(problems, fmt.Sprintf("routes[%d] %q: pathPrefix %q must start with /", i, r.Name, r.PathPrefix))
		}
		if r.Retries.Attempts < 0 || r.Retries.Attempts > maxAttempts-1 {
			problems = append(problems, fmt.Sprintf("routes[%d] %q: retries.attempts %d is outside 0..%d", i, r.Name, r.Retries.Attempts, maxAttempts-1))
		}
		if r.Timeouts.Request < 0 || r.Timeouts.ResponseHeader < 0 {
			problems = append(problems, fmt.Sprintf("routes[%d] %q: timeouts must not be negative", i, r.Name))
		}
		key := normalHost(r.Host) + " " + prefix
		if other, dup := matches[key]; dup {
			problems = append(problems, fmt.Sprintf("routes[%d] %q: host %q and pathPrefix %q are already routed by %q", i, r.Name, r.Host, prefix, other))
		}
		matches[key] = r.Name
	}
	if len(problems) > 0 {
		return fmt.Errorf("invalid routes: %s", strings.Join(problems, "; "))
	}
	return nil
}

func normalHost(host string) string {
	if host == "" {
		return "*"
	}
	return strings.ToLower(host)
}

// normalPrefix drops a trailing slash so "/api" and "/api/" are one prefix.
func normalPrefix(prefix string) string {
	if prefix == "" {
		return "/"
	}
	if len(prefix) > 1 {
		return strings.TrimSuffix(prefix, "/")
	}
	return prefix
}

func newRouteTable(routes []*compiledRoute) *routeTable {
	t := &routeTable{byHost: map[string][]*compiledRoute{}}
	for _, r := range routes {
		if h := normalHost(r.Host); h == "*" {
			t.anyHost = append(t.anyHost, r)
		} else {
			t.byHost[h] = append(t.byHost[h], r)
		}
	}
	longestFirst := func(list []*compiledRoute) {
		sort.SliceStable(list, func(i, j int) bool { return len(list[i].prefix) > len(list[j].prefix) })
	}
	for _, list := range t.byHost {
		longestFirst(list)
	}
	longestFirst(t.anyHost)
	return t
}

// match finds the route for host and path: an exact host's longest
// matching prefix, else the wildcard routes' longest.
func (t *routeTable) match(host, path string) *compiledRoute {
	host = strings.ToLower(stripPort(host))
	if r := matchPrefix(t.byHost[host], path); r != nil {
		return r
	}
	return matchPrefix(t.anyHost, path)
}

func matchPrefix(routes []*compiledRoute, path string) *compiledRoute {
	for _, r := range routes {
		if r.prefix == "/" || path == r.prefix ||
			(strings.HasPrefix(path, r.prefix) && path[len(r.prefix)] == '/') {
			return r
		}
	}
	return nil
}

// stripPort removes a ":port" suffix without net.SplitHostPort, whose error
// for a port-less host would allocate on every request.
func stripPort(host string) string {
	colon := strings.LastIndexByte(host, ':')
	if colon < 0 || colon < strings.LastIndexByte(host, ']') {
		return host
	}
	return host[:colon]
}
