package kube

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	trafficv1alpha1 "github.com/cafe-dev/cafe/api/traffic/v1alpha1"
	"github.com/cafe-dev/cafe/internal/router/proxy"
	"github.com/cafe-dev/cafe/internal/router/shard"
)

// DefaultRefreshInterval bounds how often a forwarded request's newer epoch
// makes the router read a shard map from the API server.
const DefaultRefreshInterval = time.Second

// WatcherOptions configure a Watcher.
type WatcherOptions struct {
	// Cache is the informer cache from NewCache; the caller starts it.
	Cache cache.Cache
	// APIReader reads shard maps past the cache when a peer router shows
	// a newer epoch (the API server is ahead of this router's watch).
	APIReader  client.Reader
	Namespaces []string
	// Unit is this router's unit: only its endpoints reach the proxy.
	Unit    string
	Handler *proxy.Handler
	// Logger may be nil.
	Logger *slog.Logger
	// Registerer receives the watcher's metrics; nil registers none.
	Registerer prometheus.Registerer
	// RefreshInterval bounds API reads per shard map caused by newer
	// epochs; 0 means DefaultRefreshInterval.
	RefreshInterval time.Duration
}

// Watcher keeps a proxy.Handler in step with the API: shard maps, routes and
// this unit's ready endpoints.
type Watcher struct {
	o       WatcherOptions
	log     *slog.Logger
	kick    chan struct{}
	refresh chan string
	ready   atomic.Bool
	epochs  *prometheus.GaugeVec
	refused *prometheus.CounterVec

	// mu serializes applying state to the handler.
	mu            sync.Mutex
	applied       map[string]appliedMap
	routes        []proxy.Route
	endpoints     map[string][]string
	reported      map[string]string
	lastRefreshed map[string]time.Time
}

// appliedMap identifies the table in force for a shard map. A map deleted
// and created again is a new object (new UID), whose epochs start afresh.
type appliedMap struct {
	uid   types.UID
	epoch int64
}

// newer reports whether a compiled map with uid and epoch replaces cur.
func newer(cur appliedMap, have bool, uid types.UID, epoch int64) bool {
	return !have || cur.uid != uid || epoch > cur.epoch
}

// NewWatcher returns a watcher; Run starts it.
func NewWatcher(o WatcherOptions) (*Watcher, error) {
	if o.Cache == nil || o.APIReader == nil || o.Handler == nil || o.Unit == "" || len(o.Namespaces) == 0 {
		return nil, errors.New("kube: WatcherOptions need Cache, APIReader, Handler, Unit and Namespaces")
	}
	if o.RefreshInterval <= 0 {
		o.RefreshInterval = DefaultRefreshInterval
	}
	w := &Watcher{
		o:             o,
		log:           o.Logger,
		kick:          make(chan struct{}, 1),
		refresh:       make(chan string, 16),
		applied:       map[string]appliedMap{},
		endpoints:     map[string][]string{},
		reported:      map[string]string{},
		lastRefreshed: map[string]time.Time{},
		epochs: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "cafe_router_shard_map_epoch",
			Help: "Epoch of the shard map table in force, by shard map (namespace/name).",
		}, []string{"shard_map"}),
		refused: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "cafe_router_shard_map_refused_total",
			Help: "Shard maps refused (invalid, or disagreeing with their status); the last good table stays in force.",
		}, []string{"shard_map"}),
	}
	if w.log == nil {
		w.log = slog.New(slog.DiscardHandler)
	}
	if o.Registerer != nil {
		for _, c := range []prometheus.Collector{w.epochs, w.refused} {
			if err := o.Registerer.Register(c); err != nil {
				return nil, err
			}
		}
	}
	return w, nil
}

// Ready reports whether routing is loaded: at least one route, and a table
// for the shard map of every route.
func (w *Watcher) Ready() bool { return w.ready.Load() }

// NewerEpoch is the proxy's OnNewerEpoch hook: a peer forwarded a request
// stamped with a newer epoch, so the API server probably holds a map this
// router's watch has not delivered yet. It only queues a read, which Run
// rate-limits per shard map, because clients can forge the header.
func (w *Watcher) NewerEpoch(ev proxy.NewerEpoch) {
	select {
	case w.refresh <- ev.ShardMap:
	default: // a read is queued already; the watch catches up anyway
	}
}

// Run watches until ctx ends. It waits for the cache to sync, so start
// the cache first (or concurrently).
func (w *Watcher) Run(ctx context.Context) error {
	if err := OnChange(ctx, w.o.Cache, w.notify); err != nil {
		return err
	}
	if !w.o.Cache.WaitForCacheSync(ctx) {
		return fmt.Errorf("the router's watch cache did not sync: %w", context.Cause(ctx))
	}
	w.notify()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-w.kick:
			if err := w.sync(ctx); err != nil && ctx.Err() == nil {
				w.log.Error("reading routing state from the cache failed; keeping the current configuration", "err", err)
			}
		case key := <-w.refresh:
			w.refreshMap(ctx, key)
		}
	}
}

func (w *Watcher) notify() {
	select {
	case w.kick <- struct{}{}:
	default:
	}
}

// sync applies the cache's state. Tables and endpoints go in before the
// routes that use them, as in the standalone reloader.
func (w *Watcher) sync(ctx context.Context) error {
	st, err := ReadState(ctx, w.o.Cache, w.o.Namespaces)
	if err != nil {
		return err
	}
	w.mu.Lock()
	defer w.mu.Unlock()

	present := map[string]bool{}
	for i := range st.ShardMaps {
		sm := &st.ShardMaps[i]
		present[Key(sm.Namespace, sm.Name)] = true
		w.applyMap(sm)
	}
	for key := range w.applied {
		if !present[key] {
			w.o.Handler.SetShardMap(key, nil)
			delete(w.applied, key)
			w.epochs.DeleteLabelValues(key)
			w.log.Info("shard map deleted; routes using it answer 503", "shardMap", key)
		}
	}

	var routes []proxy.Route
	for _, a := range st.Routes {
		key := Key(a.Route.Namespace, a.Route.Name)
		if !a.Accepted {
			w.report("route/"+key, slog.LevelWarn, "route not programmed", "route", key, "reason", a.Reason, "why", a.Message)
			continue
		}
		w.report("route/"+key, slog.LevelDebug, "route programmed", "route", key)
		routes = append(routes, ProxyRoute(a.Route))
	}
	for _, p := range st.Problems {
		w.report("problem/"+p, slog.LevelWarn, "endpoint ignored", "why", p)
	}
	for key, eps := range st.Endpoints {
		addrs := ReadyAddresses(eps, w.o.Unit)
		if old, ok := w.endpoints[key]; !ok || !reflect.DeepEqual(old, addrs) {
			w.o.Handler.SetEndpoints(key, addrs)
			w.endpoints[key] = addrs
			w.log.Info("endpoints updated", "route", key, "unit", w.o.Unit, "ready", len(addrs))
		}
	}
	for key := range w.endpoints {
		if _, ok := st.Endpoints[key]; !ok {
			w.o.Handler.SetEndpoints(key, nil)
			delete(w.endpoints, key)
		}
	}
	if !reflect.DeepEqual(routes, w.routes) {
		if err := w.o.Handler.SetRoutes(routes); err != nil {
			// AcceptRoutes checked every route and removed conflicts.
			return fmt.Errorf("the proxy refused accepted routes: %w", err)
		}
		w.routes = routes
		w.log.Info("routes updated", "routes", len(routes))
	}
	w.ready.Store(w.loaded())
	return nil
}

// loaded reports whether every route has its shard map's table.
func (w *Watcher) loaded() bool {
	if len(w.routes) == 0 {
		return false
	}
	for _, r := range w.routes {
		if _, ok := w.applied[r.ShardMap]; !ok {
			return false
		}
	}
	return true
}

// applyMap installs sm's table when it is valid, stamped and newer than the
// one in force. Callers hold mu.
func (w *Watcher) applyMap(sm *trafficv1alpha1.ShardMap) {
	key := Key(sm.Namespace, sm.Name)
	table, err := CompileShardMap(sm)
	cur, have := w.applied[key]
	switch {
	case errors.Is(err, ErrNotStamped):
		w.report("map/"+key, slog.LevelInfo, "shard map change waits for the failover controller to stamp it with an epoch (is a router with --failover running?)",
			"shardMap", key, "generation", sm.Generation, "observedGeneration", sm.Status.ObservedGeneration, "epochInForce", cur.epoch)
	case err != nil:
		if w.report("map/"+key, slog.LevelError, "shard map refused; the last good one stays in force",
			"shardMap", key, "generation", sm.Generation, "epoch", sm.Status.Epoch, "epochInForce", cur.epoch, "problems", err.Error()) {
			w.refused.WithLabelValues(key).Inc()
		}
	case !newer(cur, have, sm.UID, table.Epoch()):
		if table.Epoch() < cur.epoch {
			w.report("map/"+key, slog.LevelWarn, "ignoring a shard map older than the one in force",
				"shardMap", key, "epoch", table.Epoch(), "epochInForce", cur.epoch)
		}
	default:
		if previous := w.o.Handler.ShardMap(key); previous != nil && !servesItself(previous, w.o.Unit) && servesItself(table, w.o.Unit) {
			w.forgetEjections(key)
		}
		w.o.Handler.SetShardMap(key, table)
		w.applied[key] = appliedMap{uid: sm.UID, epoch: table.Epoch()}
		w.epochs.WithLabelValues(key).Set(float64(table.Epoch()))
		var owners []string
		for _, a := range table.Effective() {
			owners = append(owners, a.Unit+"->"+a.ServedBy)
		}
		w.log.Info("shard map applied", "shardMap", key, "epoch", table.Epoch(), "previousEpoch", cur.epoch, "servedBy", strings.Join(owners, ","))
		w.reported["map/"+key] = ""
	}
}

// servesItself reports whether unit serves its own shards under table.
func servesItself(table *shard.Table, unit string) bool {
	for _, a := range table.Effective() {
		if a.Unit == unit {
			return a.ServedBy == unit
		}
	}
	return false
}

// forgetEjections clears the proxy's outlier history of this unit's
// endpoints for the routes using a shard map, just before the unit takes
// its shards back. The failover controller fails a unit back only after it
// has been healthy for failbackAfter, so ejections recorded while it was
// down are stale, and they would turn the failback into 503s until they
// expire (minutes, as ejections double). Removing and re-adding the
// endpoints is how the proxy forgets them; the pools are idle meanwhile,
// because a failed-over unit serves none of the map's shards.
func (w *Watcher) forgetEjections(shardMap string) {
	for _, r := range w.routes {
		if r.ShardMap != shardMap {
			continue
		}
		w.o.Handler.SetEndpoints(r.Name, nil)
		w.o.Handler.SetEndpoints(r.Name, w.endpoints[r.Name])
	}
}

// refreshMap reads one shard map from the API server, at most once per
// RefreshInterval.
func (w *Watcher) refreshMap(ctx context.Context, key string) {
	w.mu.Lock()
	last := w.lastRefreshed[key]
	if time.Since(last) < w.o.RefreshInterval {
		w.mu.Unlock()
		return
	}
	w.lastRefreshed[key] = time.Now()
	w.mu.Unlock()

	ns, name, ok := strings.Cut(key, "/")
	if !ok || !w.watches(ns) {
		return
	}
	var sm trafficv1alpha1.ShardMap
	if err := w.o.APIReader.Get(ctx, types.NamespacedName{Namespace: ns, Name: name}, &sm); err != nil {
		w.log.Warn("reading a shard map after a peer showed a newer epoch failed", "shardMap", key, "err", err)
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.applyMap(&sm)
	w.ready.Store(w.loaded())
}

func (w *Watcher) watches(ns string) bool {
	for _, n := range w.o.Namespaces {
		if n == ns {
			return true
		}
	}
	return false
}

// report logs a message for subject once until the message changes, so a
// broken object logs one line, not one per event. It reports whether it
// logged.
func (w *Watcher) report(subject string, level slog.Level, msg string, args ...any) bool {
	line := fmt.Sprint(append([]any{msg}, args...)...)
	if w.reported[subject] == line {
		return false
	}
	w.reported[subject] = line
	w.log.Log(context.Background(), level, msg, args...)
	return true
}
