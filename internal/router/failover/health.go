package failover

import (
	"time"

	"github.com/cafe-dev/cafe/internal/router/kube"
)

// UnitHealth says which of units are healthy for a shard map used by
// routes (Keys into endpoints): a unit is healthy when every route has at
// least one endpoint in it that its EndpointSlice lists as ready and that
// alive accepts (the active health check; nil accepts all). A shard map
// no route uses yields nil: nothing is known about its units.
func UnitHealth(units, routes []string, endpoints map[string][]kube.Endpoint, alive func(addr string) bool) map[string]bool {
	if len(routes) == 0 {
		return nil
	}
	out := make(map[string]bool, len(units))
	for _, u := range units {
		out[u] = true
		for _, r := range routes {
			if !hasLiveEndpoint(endpoints[r], u, alive) {
				out[u] = false
				break
			}
		}
	}
	return out
}

func hasLiveEndpoint(eps []kube.Endpoint, unit string, alive func(string) bool) bool {
	for _, e := range eps {
		if e.Unit == unit && e.Ready && (alive == nil || alive(e.Address)) {
			return true
		}
	}
	return false
}

// healthTracker remembers since when each unit has been healthy or
// unhealthy without a break, per shard map.
type healthTracker struct {
	byMap map[string]map[string]Health
}

func newHealthTracker() *healthTracker {
	return &healthTracker{byMap: map[string]map[string]Health{}}
}

// observe records one observation of a shard map's units at now and
// returns their Health. A unit whose health flips starts a new stretch;
// units not observed are forgotten, so a unit that comes back starts
// afresh.
func (t *healthTracker) observe(shardMap string, healthy map[string]bool, now time.Time) map[string]Health {
	prev := t.byMap[shardMap]
	next := make(map[string]Health, len(healthy))
	for unit, ok := range healthy {
		h, seen := prev[unit]
		if !seen || h.Healthy != ok {
			h = Health{Healthy: ok, Since: now}
		}
		next[unit] = h
	}
	t.byMap[shardMap] = next
	return next
}

// forget drops shard maps not in keep.
func (t *healthTracker) forget(keep map[string]bool) {
	for k := range t.byMap {
		if !keep[k] {
			delete(t.byMap, k)
		}
	}
}
