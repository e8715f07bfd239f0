//go:build integration

package router

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/client"

	trafficv1alpha1 "github.com/cafe-dev/cafe/api/traffic/v1alpha1"
	"github.com/cafe-dev/cafe/internal/router/failover"
	"github.com/cafe-dev/cafe/internal/router/kube"
	"github.com/cafe-dev/cafe/internal/router/proxy"
	"github.com/cafe-dev/cafe/internal/testenv"
	"github.com/cafe-dev/cafe/test/router/netlab"
	"github.com/cafe-dev/cafe/test/router/scenario"
)

var units = scenario.Units

const (
	shardMapName = scenario.ShardMap
	routeName    = scenario.Route
	backendPorts = 2 // backends per unit, on ports 8080 and 8081
	// Failover timings of the test's ShardMap, short so tests stay quick.
	failoverAfter = time.Second
	failbackAfter = 2 * time.Second
	// Leader election of the failover candidates, short for the same
	// reason (the defaults are 15s, 10s and 2s).
	leaseDuration = 4 * time.Second
	renewDeadline = 3 * time.Second
	retryPeriod   = 500 * time.Millisecond
)

// fixture is three routers, one per unit, each also a failover candidate,
// with two backends per unit in the unit's network namespace.
type fixture struct {
	t        *testing.T
	ns       string
	lab      *netlab.Lab
	backends map[string][]*netlab.Backend
	routers  map[string]*router
	http     *http.Client
	logs     *testenv.SyncBuffer
	tables   *tableLog
}

type router struct {
	unit       string
	addr       string
	handler    *proxy.Handler
	watcher    *kube.Watcher
	controller *failover.Controller
	srv        *proxy.Server
	cancel     context.CancelFunc
	done       chan struct{}
}

// stop ends the router: its watch, its failover candidate and its server.
// The context's end releases the Lease (ReleaseOnCancel), as cafe-router
// does on SIGTERM; a crashed router's Lease would expire after
// leaseDuration instead. It returns false when the router did not stop in
// time.
func (r *router) stop() bool {
	r.cancel()
	_ = r.srv.Close()
	select {
	case <-r.done:
		return true
	case <-time.After(10 * time.Second):
		return false
	}
}

func requireRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Fatal("the router integration tests create network namespaces and veth pairs for their backends and need root: run them as root (sudo -E go test -tags integration ./test/router/)")
	}
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	requireRoot(t)
	f := &fixture{
		t:        t,
		ns:       env.Namespace(t),
		backends: map[string][]*netlab.Backend{},
		routers:  map[string]*router{},
		http:     &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 16}},
		logs:     &testenv.SyncBuffer{},
		tables:   newTableLog(),
	}
	lab, err := netlab.Setup(units)
	if err != nil {
		t.Fatal(err)
	}
	f.lab = lab
	t.Cleanup(func() {
		if err := lab.Close(); err != nil {
			t.Errorf("remove the network lab: %v", err)
		}
	})
	for _, u := range lab.Units {
		for i := 0; i < backendPorts; i++ {
			b, err := netlab.StartBackend(u, 8080+i, fmt.Sprintf("%s-%d", u.Name, i))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(b.Stop)
			f.backends[u.Name] = append(f.backends[u.Name], b)
		}
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("router logs:\n%s", f.logs.String())
		}
	})

	listeners := map[string]net.Listener{}
	for _, unit := range units {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		listeners[unit] = l
	}
	f.createObjects(listeners)
	for _, unit := range units {
		f.startRouter(unit, listeners[unit])
	}
	testenv.Eventually(t, 30*time.Second, "every router ready with a stamped shard map", func() (bool, string) {
		for _, unit := range units {
			r := f.routers[unit]
			if !r.watcher.Ready() {
				return false, unit + " not ready"
			}
		}
		return true, ""
	})
	go f.tables.sample(t, f)
	t.Cleanup(func() {
		f.tables.stop()
		f.tables.check(t)
	})
	return f
}

// createObjects writes the scenario's objects. unit-c's endpoints name
// pods that carry the unit label, the others' slices carry it, so both ways
// of telling an endpoint's unit are used.
func (f *fixture) createObjects(listeners map[string]net.Listener) {
	addrs := map[string]string{}
	for unit, l := range listeners {
		addrs[unit] = l.Addr().String()
	}
	for _, obj := range scenario.Objects(scenario.Options{
		Namespace: f.ns, Backends: f.backends, RouterAddresses: addrs,
		FailoverAfter: failoverAfter, FailbackAfter: failbackAfter, PodUnit: "unit-c",
	}) {
		f.must(env.Client.Create(context.Background(), obj))
	}
}

// startRouter runs unit's router in this process as cafe-router --failover
// would: a watch cache shared by the proxy's watcher and a failover
// candidate.
func (f *fixture) startRouter(unit string, l net.Listener) {
	t := f.t
	logger := slog.New(slog.NewTextHandler(f.logs, &slog.HandlerOptions{Level: slog.LevelInfo})).With("unit", unit)
	c, err := kube.NewCache(env.Config, []string{f.ns})
	f.must(err)
	direct, err := client.New(env.Config, client.Options{Scheme: kube.Scheme()})
	f.must(err)
	r := &router{unit: unit, addr: l.Addr().String(), done: make(chan struct{})}
	r.handler, err = proxy.NewHandler(proxy.Options{
		Unit:         unit,
		Logger:       logger,
		OnNewerEpoch: func(ev proxy.NewerEpoch) { r.watcher.NewerEpoch(ev) },
	})
	f.must(err)
	r.watcher, err = kube.NewWatcher(kube.WatcherOptions{Cache: c, APIReader: direct, Namespaces: []string{f.ns}, Unit: unit, Handler: r.handler, Logger: logger})
	f.must(err)
	r.controller, err = failover.NewController(failover.ControllerOptions{
		Config: env.Config, Cache: c, Client: direct, APIReader: direct, Namespaces: []string{f.ns},
		Probe: true, ProbeInterval: 100 * time.Millisecond,
		LeaseNamespace: f.ns, Identity: unit,
		LeaseDuration: leaseDuration, RenewDeadline: renewDeadline, RetryPeriod: retryPeriod,
		Logger: logger,
	})
	f.must(err)
	srv := proxy.NewServer(r.handler, proxy.ServerOptions{Logger: logger})
	r.srv = srv
	ctx, cancel := context.WithCancel(context.Background())
	r.cancel = cancel
	var wg sync.WaitGroup
	wg.Add(4)
	go func() { defer wg.Done(); _ = c.Start(ctx) }()
	go func() { defer wg.Done(); _ = r.watcher.Run(ctx) }()
	go func() { defer wg.Done(); _ = r.controller.Run(ctx) }()
	go func() { defer wg.Done(); _ = srv.Serve(l) }()
	go func() { wg.Wait(); close(r.done) }()
	t.Cleanup(func() {
		if !r.stop() {
			t.Errorf("router %s did not stop", unit)
		}
	})
	f.routers[unit] = r
}

func (f *fixture) must(err error) {
	f.t.Helper()
	if err != nil {
		f.t.Fatal(err)
	}
}

// answer is what a client saw.
type answer struct {
	status  int
	unit    string // X-Cafe-Unit
	backend string // X-Backend
	body    string
}

func (f *fixture) get(routerUnit string, shard int, extra http.Header) answer {
	req, err := http.NewRequest(http.MethodGet, "http://"+f.routers[routerUnit].addr+"/accounts/balance", nil)
	if err != nil {
		f.t.Fatal(err)
	}
	req.Host = "bank.example"
	req.Header.Set("X-Cafe-Uid", scenario.UID(shard))
	for k, v := range extra {
		req.Header[k] = v
	}
	resp, err := f.http.Do(req)
	if err != nil {
		return answer{body: err.Error()}
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return answer{status: resp.StatusCode, unit: resp.Header.Get(proxy.HeaderUnit), backend: resp.Header.Get(netlab.HeaderBackend), body: strings.TrimSpace(string(body))}
}

// servedBy reports whether every router sends each shard in shards to a
// backend of unit want.
func (f *fixture) servedBy(shards []int, want string) (bool, string) {
	return f.servedByAt(units, shards, want)
}

func (f *fixture) shardMap() *trafficv1alpha1.ShardMap {
	var sm trafficv1alpha1.ShardMap
	f.must(env.Client.Get(context.Background(), types.NamespacedName{Namespace: f.ns, Name: shardMapName}, &sm))
	return &sm
}

// updateShardMap edits the spec with conflict retries, as kubectl edit would.
func (f *fixture) updateShardMap(edit func(*trafficv1alpha1.ShardMapSpec)) {
	f.must(retry.RetryOnConflict(retry.DefaultRetry, func() error {
		sm := f.shardMap()
		edit(&sm.Spec)
		return env.Client.Update(context.Background(), sm)
	}))
}

// epochs returns each router's epoch in force.
func (f *fixture) epochs() map[string]int64 {
	out := map[string]int64{}
	for _, unit := range units {
		if table := f.routers[unit].handler.ShardMap(f.ns + "/" + shardMapName); table != nil {
			out[unit] = table.Epoch()
		}
	}
	return out
}
