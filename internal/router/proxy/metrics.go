package proxy

import (
	"maps"
	"sync"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the router's Prometheus metrics. Shard groups are the shard
// map's declared ranges ("0-49"), which keeps cardinality at the number of
// ranges instead of the number of shards.
type Metrics struct {
	requests   *prometheus.CounterVec
	latency    *prometheus.HistogramVec
	ejections  *prometheus.CounterVec
	refusals   *prometheus.CounterVec
	newerEpoch *prometheus.CounterVec
	failovers  *prometheus.CounterVec
	aborts     *prometheus.CounterVec

	// series caches the request counter and histogram of each label set:
	// resolving them by label values hashes and locks on every request.
	// The map is copied on a miss and swapped whole, so hits take no lock;
	// label sets are few (units x ranges x routes x classes).
	series   atomic.Pointer[map[seriesKey]requestSeries]
	seriesMu sync.Mutex
}

type seriesKey struct {
	unit, group, route, class string
}

type requestSeries struct {
	requests prometheus.Counter
	latency  prometheus.Observer
}

// NewMetrics creates the router metrics and registers them with reg.
func NewMetrics(reg prometheus.Registerer) (*Metrics, error) {
	labels := []string{"unit", "shard_group", "route", "code_class"}
	m := &Metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "cafe_router_requests_total",
			Help: "Requests handled, by serving unit, shard group, route and status class.",
		}, labels),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "cafe_router_request_duration_seconds",
			Help:    "Time from request arrival to the end of the response, by serving unit, shard group, route and status class.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}, labels),
		ejections: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "cafe_router_endpoint_ejections_total",
			Help: "Endpoints ejected by outlier detection, by route.",
		}, []string{"route"}),
		refusals: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "cafe_router_refused_requests_total",
			Help: "Requests refused before parsing because their framing could be used for request smuggling, by reason.",
		}, []string{"reason"}),
		newerEpoch: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "cafe_router_newer_epoch_seen_total",
			Help: "Forwarded requests stamped with a newer shard-map epoch than this router holds, by shard map.",
		}, []string{"shard_map"}),
		failovers: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "cafe_router_failover_forwards_total",
			Help: "Replayable requests this unit could not serve, sent to its failoverTo unit's router, by route and target unit.",
		}, []string{"route", "target"}),
		aborts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "cafe_router_aborted_responses_total",
			Help: "Responses cut short, their client connection closed, by route and reason: client_gone (before or while answering), client_stalled (stopped reading for the body idle timeout), upstream_stalled (sent no body for the body idle timeout), upstream_broken (reset or ended the body early).",
		}, []string{"route", "reason"}),
	}
	for _, c := range []prometheus.Collector{m.requests, m.latency, m.ejections, m.refusals, m.newerEpoch, m.failovers, m.aborts} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}

var codeClasses = [...]string{"1xx", "2xx", "3xx", "4xx", "5xx"}

func codeClass(status int) string {
	if i := status/100 - 1; i >= 0 && i < len(codeClasses) {
		return codeClasses[i]
	}
	return "other"
}

func (m *Metrics) observe(unit, group, route string, status int, seconds float64) {
	if m == nil {
		return
	}
	s := m.requestSeries(seriesKey{unit, group, route, codeClass(status)})
	s.requests.Inc()
	s.latency.Observe(seconds)
}

func (m *Metrics) requestSeries(k seriesKey) requestSeries {
	if cache := m.series.Load(); cache != nil {
		if s, ok := (*cache)[k]; ok {
			return s
		}
	}
	m.seriesMu.Lock()
	defer m.seriesMu.Unlock()
	old := m.series.Load()
	if old != nil {
		if s, ok := (*old)[k]; ok {
			return s
		}
	}
	next := map[seriesKey]requestSeries{}
	if old != nil {
		maps.Copy(next, *old)
	}
	s := requestSeries{
		requests: m.requests.WithLabelValues(k.unit, k.group, k.route, k.class),
		latency:  m.latency.WithLabelValues(k.unit, k.group, k.route, k.class),
	}
	next[k] = s
	m.series.Store(&next)
	return s
}

func (m *Metrics) ejected(route string) {
	if m != nil {
		m.ejections.WithLabelValues(route).Inc()
	}
}

// Refused counts a refusal by the smuggling guard; pass it as the guard's
// onRefuse callback.
func (m *Metrics) Refused(reason string) {
	if m != nil {
		m.refusals.WithLabelValues(reason).Inc()
	}
}

func (m *Metrics) aborted(route string, reason abortReason) {
	if m != nil {
		m.aborts.WithLabelValues(route, string(reason)).Inc()
	}
}

func (m *Metrics) sawNewerEpoch(shardMap string) {
	if m != nil {
		m.newerEpoch.WithLabelValues(shardMap).Inc()
	}
}

func (m *Metrics) failedOver(route, target string) {
	if m != nil {
		m.failovers.WithLabelValues(route, target).Inc()
	}
}
