// Package proxy is the unit router's data plane: an http.Handler that finds
// a request's shard, serves it from this unit's endpoints when this unit owns
// the shard, and otherwise forwards it, once, to the owning unit's router.
package proxy

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cafe-dev/cafe/internal/router/shard"
)

// Headers routers exchange with each other and with clients.
const (
	// HeaderHop marks a request forwarded by another unit's router; such a
	// request is never forwarded again.
	HeaderHop = "X-Cafe-Hop"
	// HeaderEpoch carries the forwarding router's shard-map epoch.
	HeaderEpoch = "X-Cafe-Epoch"
	// HeaderForwardedBy names the forwarding router's unit.
	HeaderForwardedBy = "X-Cafe-Forwarded-By"
	// HeaderUnit names the unit that served the response.
	HeaderUnit = "X-Cafe-Unit"
	// HeaderRequestID correlates a request across routers and services.
	HeaderRequestID = "X-Request-Id"
)

// DefaultMaxBodyBytes bounds request bodies when Options.MaxBodyBytes is 0.
const DefaultMaxBodyBytes = 10 << 20

// NewerEpoch reports a forwarded request stamped with a newer shard-map
// epoch than this router holds: the control plane should refresh the map.
type NewerEpoch struct {
	ShardMap    string
	LocalEpoch  int64
	RemoteEpoch int64
	FromUnit    string
}

// Options configure a Handler.
type Options struct {
	// Unit is this router's unit, as named in the shard maps.
	Unit string
	// Upstream tunes the client for upstream and router-to-router
	// requests.
	Upstream TransportOptions
	// MaxBodyBytes bounds request bodies (413 beyond); 0 means
	// DefaultMaxBodyBytes.
	MaxBodyBytes int64
	Outlier      OutlierPolicy
	// Metrics may be nil.
	Metrics *Metrics
	// Logger receives the sampled access log and proxy errors; nil
	// discards them.
	Logger *slog.Logger
	// AccessLogSampleRate is the fraction of requests logged, 0 to 1.
	AccessLogSampleRate float64
	// OnNewerEpoch is called, on the request's goroutine, for every
	// forwarded request with a newer epoch; keep it cheap and non-blocking.
	// A client can forge the headers, so rate-limit the refresh it causes.
	OnNewerEpoch func(NewerEpoch)
	// Now is the clock for outlier ejection and latency; nil means
	// time.Now. Tests pass a fake clock.
	Now func() time.Time
}

// Handler routes requests by shard. Its configuration is swapped atomically:
// requests in flight keep the table they started with.
type Handler struct {
	unit       string
	unitHeader []string
	upstreams  *upstreamPool
	maxBody    int64
	outlier    OutlierPolicy
	metrics    *Metrics
	logger     *slog.Logger
	sampleRate float64
	// random draws the access-log sample; tests replace it with a
	// seeded source.
	random  func() float64
	onNewer func(NewerEpoch)
	now     func() time.Time

	routes atomic.Pointer[routeTable]

	// mu serializes control-plane updates; requests never take it.
	mu    sync.Mutex
	slots map[string]*mapSlot
	pools map[string]*endpointPool
}

// NewHandler returns a Handler with no routes; every request gets 404 until
// SetRoutes.
func NewHandler(o Options) (*Handler, error) {
	if o.Unit == "" {
		return nil, errors.New("proxy: Options.Unit is required")
	}
	if o.AccessLogSampleRate < 0 || o.AccessLogSampleRate > 1 {
		return nil, fmt.Errorf("proxy: AccessLogSampleRate %v is outside 0..1", o.AccessLogSampleRate)
	}
	h := &Handler{
		unit:       o.Unit,
		unitHeader: []string{o.Unit},
		upstreams:  newUpstreamPool(o.Upstream),
		maxBody:    o.MaxBodyBytes,
		outlier:    o.Outlier.withDefaults(),
		metrics:    o.Metrics,
		logger:     o.Logger,
		sampleRate: o.AccessLogSampleRate,
		random:     rand.Float64,
		onNewer:    o.OnNewerEpoch,
		now:        o.Now,
		slots:      map[string]*mapSlot{},
		pools:      map[string]*endpointPool{},
	}
	if h.maxBody <= 0 {
		h.maxBody = DefaultMaxBodyBytes
	}
	if h.logger == nil {
		h.logger = slog.New(slog.DiscardHandler)
	}
	if h.now == nil {
		h.now = time.Now
	}
	h.routes.Store(newRouteTable(nil))
	return h, nil
}

// SetShardMap installs the compiled table for a shard map; nil removes it
// (routes using it answer 503). Requests already routed keep the old table.
func (h *Handler) SetShardMap(name string, t *shard.Table) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.slot(name).table.Store(t)
}

// ShardMap returns the installed table for a shard map, or nil.
func (h *Handler) ShardMap(name string) *shard.Table {
	h.mu.Lock()
	defer h.mu.Unlock()
	if s, ok := h.slots[name]; ok {
		return s.table.Load()
	}
	return nil
}

// SetRoutes replaces the route table. Invalid routes (duplicate names or
// host+prefix, missing shard map name, bad prefix or retry count) leave the
// old table in place.
func (h *Handler) SetRoutes(routes []Route) error {
	if err := ValidateRoutes(routes); err != nil {
		return err
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	compiled := make([]*compiledRoute, 0, len(routes))
	for _, r := range routes {
		compiled = append(compiled, &compiledRoute{
			Route:  r,
			prefix: normalPrefix(r.PathPrefix),
			slot:   h.slot(r.ShardMap),
			pool:   h.pool(r.Name),
		})
	}
	h.routes.Store(newRouteTable(compiled))
	return nil
}

// SetEndpoints replaces the endpoints (host:port) of this router's unit for
// a route. Only this unit's endpoints are needed: other units are reached
// through their routers. Endpoints kept across updates keep their ejection
// state. It may be called before SetRoutes names the route. Idle
// connections to dropped endpoints are closed.
func (h *Handler) SetEndpoints(route string, addrs []string) {
	h.mu.Lock()
	dropped := h.pool(route).replace(addrs)
	h.mu.Unlock()
	h.upstreams.closeIdle(dropped)
}

func (h *Handler) slot(name string) *mapSlot {
	s, ok := h.slots[name]
	if !ok {
		s = &mapSlot{}
		h.slots[name] = s
	}
	return s
}

func (h *Handler) pool(route string) *endpointPool {
	p, ok := h.pools[route]
	if !ok {
		p = &endpointPool{}
		h.pools[route] = p
	}
	return p
}

// exchange is one request's routing decision and outcome.
type exchange struct {
	h *Handler
	// ctx is the request's context, bounded by the route's request
	// timeout once a route is known.
	ctx context.Context
	// start is when the request arrived; it also dates endpoint choices,
	// which need no finer clock.
	start   time.Time
	route   *compiledRoute
	target  shard.Unit
	forward bool
	// failedOver is set when this unit could not serve the request and
	// sent it to its failoverTo unit's router instead.
	failedOver bool
	// noFailover says why a request this unit failed was not sent to its
	// failover unit; it ends the error body.
	noFailover string
	// forwardedBy is the peer unit that forwarded this request, if any;
	// failoverFrom the unit it fails over from, when it does.
	forwardedBy  string
	failoverFrom string
	// finalHop is set for a request relayed on a newer map: it is served
	// here or fails, never sent on.
	finalHop bool
	table    *shard.Table
	shardMap string
	epoch    int64
	group    string
	attempts int
	upstream string
	// chosen is the endpoint whose response is being streamed; its
	// in-flight count drops when the request ends.
	chosen *endpoint
	err    error
	// abort is set when a response was cut short, or never begun because
	// the client went away: the client's connection must end so it cannot
	// take a partial body for a whole one, nor a default status for an
	// answer. abortReason says why, for the metrics.
	abort       bool
	abortReason abortReason
	requestID   string
	rec         recorder
}

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := h.now()
	ex := exchanges.Get().(*exchange)
	*ex = exchange{h: h, ctx: r.Context(), start: start, group: "none", requestID: ensureRequestID(r)}
	ex.rec.ResponseWriter = w
	h.route(ex, r)
	if ex.chosen != nil {
		ex.chosen.inflight.Add(-1)
	}
	routeName, unit := "none", h.unit
	if ex.route != nil {
		routeName = ex.route.Name
	}
	if ex.target.Name != "" {
		unit = ex.target.Name
	}
	elapsed := h.now().Sub(start)
	h.metrics.observe(unit, ex.group, routeName, ex.rec.status, elapsed.Seconds())
	if h.sampled() {
		h.logAccess(r, ex, routeName, elapsed)
	}
	abort := ex.abort
	if abort {
		h.metrics.aborted(routeName, ex.abortReason)
	}
	exchanges.Put(ex)
	if abort {
		abortResponse(w)
	}
}

// exchanges recycles exchanges, the largest allocation of a request:
// nothing holds one after ServeHTTP returns.
var exchanges = sync.Pool{New: func() any { return new(exchange) }}

func (h *Handler) route(ex *exchange, r *http.Request) {
	w := &ex.rec
	if r.Method == http.MethodConnect {
		h.reject(ex, http.StatusMethodNotAllowed, "CONNECT is not routed")
		return
	}
	route := h.routes.Load().match(r.Host, r.URL.Path)
	if route == nil {
		h.reject(ex, http.StatusNotFound, fmt.Sprintf("no route for host %q and path %q", r.Host, r.URL.Path))
		return
	}
	ex.route, ex.shardMap = route, route.ShardMap
	table := route.slot.table.Load()
	if table == nil {
		h.reject(ex, http.StatusServiceUnavailable, fmt.Sprintf("shard map %q for route %q is not loaded yet", route.ShardMap, route.Name))
		return
	}
	ex.table, ex.epoch = table, table.Epoch()

	shardN, err := table.ShardOf(r)
	var owner shard.Unit
	var ok bool
	switch {
	case err == nil:
		ex.group = table.RangeLabel(shardN)
		if owner, ok = table.Owner(shardN); !ok {
			declared, _ := table.DeclaredOwner(shardN)
			h.reject(ex, http.StatusServiceUnavailable, fmt.Sprintf(
				"shard %d has no serving unit at epoch %d: its unit %q is %s and no unit on its failover chain can serve",
				shardN, ex.epoch, declared.Name, declared.State))
			return
		}
	case errors.Is(err, shard.ErrMissingKey):
		if owner, ok = table.MissingKeyUnit(); !ok {
			h.reject(ex, http.StatusBadRequest, fmt.Sprintf(
				"%v; route %q needs the shard key to find the unit holding this user's data", err, route.Name))
			return
		}
		ex.group = "default"
	default:
		h.reject(ex, http.StatusBadRequest, fmt.Sprintf(
			"%v; route %q needs a well-formed shard key to find the unit holding this user's data", err, route.Name))
		return
	}
	ex.target = owner

	hopped := len(r.Header[HeaderHop]) > 0
	remoteEpoch := int64(-1)
	in := hopInput{local: h.unit, owner: owner.Name, localEpoch: ex.epoch, hopped: hopped}
	if hopped {
		ex.forwardedBy = r.Header.Get(HeaderForwardedBy)
		if ex.forwardedBy == "" {
			ex.forwardedBy = "unknown"
		}
		remoteEpoch = h.noteRemoteEpoch(r, ex)
		in.remoteEpoch = remoteEpoch
		in.finalHop = r.Header.Get(HeaderHop) != hopFirst
		if from := r.Header.Get(HeaderFailoverFrom); from != "" {
			in.failoverFrom = from
			if target, ok := table.FailoverTarget(from); ok {
				in.failoverFromTarget = target.Name
			}
		}
	}
	verdict := decideHop(in)
	switch verdict {
	case serveHere:
		ex.finalHop, ex.failoverFrom = in.finalHop, in.failoverFrom
		if owner.Name != h.unit {
			if ex.target, ok = table.Unit(h.unit); !ok {
				ex.target = shard.Unit{Name: h.unit}
			}
		}
		// The upstream application must not see, or trust, router-to-router
		// headers.
		delete(r.Header, HeaderHop)
		delete(r.Header, HeaderEpoch)
		delete(r.Header, HeaderForwardedBy)
		delete(r.Header, HeaderFailoverFrom)
	case loopDetected:
		ex.target = shard.Unit{}
		h.reject(ex, http.StatusLoopDetected, fmt.Sprintf(
			"loop detected: unit %q (epoch %d) forwarded shard %d to unit %q, but unit %q (epoch %d) maps it to unit %q; the shard maps disagree and the request cannot be forwarded again",
			ex.forwardedBy, remoteEpoch, shardN, h.unit, h.unit, ex.epoch, owner.Name))
		return
	default:
		if owner.RouterAddress == "" {
			h.reject(ex, http.StatusBadGateway, fmt.Sprintf("unit %q owns this request's shard but has no router address", owner.Name))
			return
		}
		ex.forward = true
		hop := hopFirst
		if verdict == relayToOwner {
			hop = hopFinal
		}
		r.Header[HeaderHop] = []string{hop}
		r.Header[HeaderEpoch] = []string{strconv.FormatInt(ex.epoch, 10)}
		r.Header[HeaderForwardedBy] = h.unitHeader
		// A client must not steer a request into another unit's failover.
		delete(r.Header, HeaderFailoverFrom)
	}

	if r.ContentLength > h.maxBody {
		h.reject(ex, http.StatusRequestEntityTooLarge, fmt.Sprintf("request body of %d bytes exceeds the limit of %d bytes", r.ContentLength, h.maxBody))
		return
	}
	if r.Body != nil && r.Body != http.NoBody {
		r.Body = http.MaxBytesReader(w, r.Body, h.maxBody)
	}
	if d := route.Timeouts.Request; d > 0 {
		var cancel context.CancelFunc
		ex.ctx, cancel = context.WithTimeout(ex.ctx, d)
		defer cancel()
		if r.Body != nil && r.Body != http.NoBody {
			defer interruptBody(ex.ctx, w)()
		}
	}
	resp, err := h.roundTrip(ex, r)
	if err != nil {
		h.proxyError(ex, err)
		return
	}
	defer resp.close()
	h.relay(ex, w, r, resp)
}

// interruptBody makes reads of the request body fail once ctx ends: a
// client that stalls its body holds the exchange in a read from the client,
// which no context interrupts. The returned stop waits for an interrupt
// under way, so none outlives the request.
func interruptBody(ctx context.Context, w http.ResponseWriter) (stop func()) {
	done := make(chan struct{})
	stopAfter := context.AfterFunc(ctx, func() {
		defer close(done)
		_ = http.NewResponseController(w).SetReadDeadline(aLongTimeAgo)
	})
	return func() {
		if !stopAfter() {
			<-done
		}
	}
}

// pastDeadline reports whether the request's own timeout ended it.
func (ex *exchange) pastDeadline() bool {
	if errors.Is(ex.ctx.Err(), context.DeadlineExceeded) {
		return true
	}
	d, ok := ex.ctx.Deadline()
	return ok && !time.Now().Before(d)
}

// noteRemoteEpoch reads a forwarded request's epoch and reports it when it
// is newer than ours. It returns -1 when the header is absent or malformed.
func (h *Handler) noteRemoteEpoch(r *http.Request, ex *exchange) int64 {
	remote, err := strconv.ParseInt(r.Header.Get(HeaderEpoch), 10, 64)
	if err != nil {
		return -1
	}
	if remote > ex.epoch {
		h.metrics.sawNewerEpoch(ex.shardMap)
		if h.onNewer != nil {
			h.onNewer(NewerEpoch{ShardMap: ex.shardMap, LocalEpoch: ex.epoch, RemoteEpoch: remote, FromUnit: ex.forwardedBy})
		}
	}
	return remote
}
