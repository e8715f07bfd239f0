package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"sort"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/client"

	trafficv1alpha1 "github.com/cafe-dev/cafe/api/traffic/v1alpha1"
	"github.com/cafe-dev/cafe/config/crd"
	"github.com/cafe-dev/cafe/internal/platform"
	"github.com/cafe-dev/cafe/internal/router/kube"
	"github.com/cafe-dev/cafe/test/router/netlab"
	"github.com/cafe-dev/cafe/test/router/scenario"
)

// Failover settings of the measured routers.
const (
	benchFailoverAfter = time.Second
	benchFailbackAfter = 2 * time.Second
	benchProbeInterval = 100 * time.Millisecond
	// settledFor is how long every request must have been served by the
	// expected unit before a move counts as done.
	settledFor = 500 * time.Millisecond
)

type move struct {
	took         time.Duration
	sent, failed int
	// byStatus counts failures by status code (0: no response).
	byStatus map[int]int
}

// failures is "n", or "n (status: count, ...)".
func (m move) failures() string {
	if m.failed == 0 {
		return "0"
	}
	codes := make([]int, 0, len(m.byStatus))
	for code := range m.byStatus {
		codes = append(codes, code)
	}
	sort.Ints(codes)
	parts := make([]string, 0, len(codes))
	for _, code := range codes {
		parts = append(parts, fmt.Sprintf("%d: %d", code, m.byStatus[code]))
	}
	return fmt.Sprintf("%d (%s)", m.failed, strings.Join(parts, ", "))
}

type failoverFigures struct {
	mapChange, deadUnit, failback move
	// deadUnitMoved is when the control plane's failover moved the dead
	// unit's shards; the routers fail its requests over before that.
	deadUnitMoved time.Duration
}

// observation is one request a client sent during a move.
type observation struct {
	sent   time.Time
	status int
	unit   string
}

// observer sends requests for some shards to every router, back to back,
// and records what served them.
type observer struct {
	mu   sync.Mutex
	obs  []observation
	quit chan struct{}
	wg   sync.WaitGroup
}

func observe(routers []string, shards []int) *observer {
	o := &observer{quit: make(chan struct{})}
	for _, addr := range routers {
		o.wg.Add(1)
		go func() {
			defer o.wg.Done()
			c := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 4}}
			for i := 0; ; i++ {
				select {
				case <-o.quit:
					return
				default:
				}
				req, _ := http.NewRequest(http.MethodGet, "http://"+addr+"/accounts/balance", nil)
				req.Header.Set("X-Cafe-Uid", scenario.UID(shards[i%len(shards)]))
				ob := observation{sent: time.Now()}
				if resp, err := c.Do(req); err == nil {
					_, _ = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					ob.status, ob.unit = resp.StatusCode, resp.Header.Get("X-Cafe-Unit")
				}
				o.mu.Lock()
				o.obs = append(o.obs, ob)
				o.mu.Unlock()
				time.Sleep(time.Millisecond)
			}
		}()
	}
	return o
}

func (o *observer) stop() {
	close(o.quit)
	o.wg.Wait()
}

// waitServedBy waits until every request sent for settledFor after since
// was answered by unit, then reports how long after since the last request
// went elsewhere (or failed), and how many requests failed.
func (o *observer) waitServedBy(unit string, since time.Time, timeout time.Duration) (move, error) {
	deadline := time.Now().Add(timeout)
	for {
		time.Sleep(50 * time.Millisecond)
		o.mu.Lock()
		m := move{byStatus: map[int]int{}}
		lastWrong, settledAfter, count := since, time.Now().Add(-settledFor), 0
		for _, ob := range o.obs {
			if ob.sent.Before(since) {
				continue
			}
			m.sent++
			if ob.status != http.StatusOK {
				m.failed++
				m.byStatus[ob.status]++
			}
			if ob.status != http.StatusOK || ob.unit != unit {
				lastWrong = ob.sent
			} else if ob.sent.After(settledAfter) {
				count++
			}
		}
		o.mu.Unlock()
		if lastWrong.Before(settledAfter) && count > 0 {
			m.took = lastWrong.Sub(since)
			return m, nil
		}
		if time.Now().After(deadline) {
			return m, fmt.Errorf("requests were not all served by %s within %v", unit, timeout)
		}
	}
}

// measureFailover runs three cafe-router processes in Kubernetes mode, each
// a failover candidate, against a local control plane, with backends in
// network namespaces (EndpointSlices refuse loopback addresses; veth
// traffic never leaves the machine).
func measureFailover(ctx context.Context, o options) (*failoverFigures, error) {
	if os.Geteuid() != 0 {
		return nil, errors.New("the failover part creates network namespaces and needs root (or pass -skip-failover)")
	}
	fmt.Fprintln(os.Stderr, "failover: starting a local control plane...")
	p, cfg, stop, err := platform.StartThrowaway(ctx, platform.Options{BinDir: o.binDir, APIServerPort: 0})
	if err != nil {
		return nil, err
	}
	defer stop()
	if err := crd.Install(ctx, cfg); err != nil {
		return nil, err
	}
	c, err := client.New(cfg, client.Options{Scheme: kube.Scheme()})
	if err != nil {
		return nil, err
	}
	const ns = "bench-router"
	if err := c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}); err != nil {
		return nil, err
	}
	lab, err := netlab.Setup(scenario.Units)
	if err != nil {
		return nil, err
	}
	defer lab.Close()
	backends := map[string][]*netlab.Backend{}
	for _, u := range lab.Units {
		for i := 0; i < 2; i++ {
			b, err := netlab.StartBackend(u, 8080+i, fmt.Sprintf("%s-%d", u.Name, i))
			if err != nil {
				return nil, err
			}
			defer b.Stop()
			backends[u.Name] = append(backends[u.Name], b)
		}
	}
	routerAddrs := map[string]string{}
	var routers []string
	for _, unit := range scenario.Units {
		if routerAddrs[unit], err = platform.FreeAddr(); err != nil {
			return nil, err
		}
		routers = append(routers, routerAddrs[unit])
	}
	for _, obj := range scenario.Objects(scenario.Options{
		Namespace: ns, Backends: backends, RouterAddresses: routerAddrs,
		FailoverAfter: benchFailoverAfter, FailbackAfter: benchFailbackAfter,
	}) {
		if err := c.Create(ctx, obj); err != nil {
			return nil, err
		}
	}
	for _, unit := range scenario.Units {
		admin, err := platform.FreeAddr()
		if err != nil {
			return nil, err
		}
		r, err := start("cafe-router-"+unit, nil, o.routerBin,
			"--unit", unit, "--listen", routerAddrs[unit], "--kubeconfig", p.KubeconfigPath(), "--namespace", ns,
			"--metrics-listen", admin, "--failover", "--health-probe-interval", benchProbeInterval.String(),
			"--lease-duration", "4s", "--lease-renew-deadline", "3s", "--lease-retry-period", "500ms",
			"--access-log-sample", "0", "--log-level", "warn")
		if err != nil {
			return nil, err
		}
		defer r.stop()
		if err := waitReady("http://"+admin+"/readyz", 30*time.Second); err != nil {
			return nil, fmt.Errorf("router %s: %w", unit, err)
		}
	}
	edit := func(change func(*trafficv1alpha1.ShardMapSpec)) error {
		return retry.RetryOnConflict(retry.DefaultRetry, func() error {
			var sm trafficv1alpha1.ShardMap
			if err := c.Get(ctx, types.NamespacedName{Namespace: ns, Name: scenario.ShardMap}, &sm); err != nil {
				return err
			}
			change(&sm.Spec)
			return c.Update(ctx, &sm)
		})
	}
	f := &failoverFigures{}

	fmt.Fprintln(os.Stderr, "failover: draining unit-a by a ShardMap change...")
	obs := observe(routers, sampleShards("unit-a"))
	time.Sleep(300 * time.Millisecond)
	began := time.Now()
	if err := edit(func(s *trafficv1alpha1.ShardMapSpec) { s.Units[0].State = trafficv1alpha1.UnitDraining }); err != nil {
		return nil, err
	}
	f.mapChange, err = obs.waitServedBy("unit-b", began, 15*time.Second)
	obs.stop()
	if err != nil {
		return nil, fmt.Errorf("ShardMap change: %w", err)
	}
	if err := edit(func(s *trafficv1alpha1.ShardMapSpec) { s.Units[0].State = trafficv1alpha1.UnitActive }); err != nil {
		return nil, err
	}

	fmt.Fprintln(os.Stderr, "failover: killing every endpoint of unit-b...")
	obs = observe(routers, sampleShards("unit-b"))
	time.Sleep(300 * time.Millisecond)
	began = time.Now()
	for _, b := range backends["unit-b"] {
		b.Stop()
	}
	if _, err = obs.waitServedBy("unit-c", began, 15*time.Second); err != nil {
		obs.stop()
		return nil, fmt.Errorf("dead unit: %w", err)
	}
	// Wait for the control plane's move too, and count the requests
	// across it: the epoch change must not fail any either.
	if f.deadUnitMoved, err = waitMoved(ctx, c, ns, "unit-b", "unit-c", began, 15*time.Second); err != nil {
		obs.stop()
		return nil, fmt.Errorf("dead unit: %w", err)
	}
	time.Sleep(settledFor)
	if f.deadUnit, err = obs.waitServedBy("unit-c", began, 15*time.Second); err != nil {
		obs.stop()
		return nil, fmt.Errorf("dead unit: %w", err)
	}
	began = time.Now()
	for _, b := range backends["unit-b"] {
		if err := b.Start(); err != nil {
			obs.stop()
			return nil, err
		}
	}
	f.failback, err = obs.waitServedBy("unit-b", began, 15*time.Second)
	obs.stop()
	if err != nil {
		return nil, fmt.Errorf("failback: %w", err)
	}
	return f, nil
}

// waitMoved waits until the ShardMap's status says unit is served by
// target, and reports how long after since that was.
func waitMoved(ctx context.Context, c client.Client, ns, unit, target string, since time.Time, timeout time.Duration) (time.Duration, error) {
	deadline := time.Now().Add(timeout)
	for {
		var sm trafficv1alpha1.ShardMap
		if err := c.Get(ctx, types.NamespacedName{Namespace: ns, Name: scenario.ShardMap}, &sm); err != nil {
			return 0, err
		}
		for _, row := range sm.Status.Effective {
			if row.Unit == unit && row.ServedBy == target {
				return time.Since(since), nil
			}
		}
		if time.Now().After(deadline) {
			return 0, fmt.Errorf("the control plane did not move %s's shards to %s within %v", unit, target, timeout)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func sampleShards(unit string) []int {
	s := scenario.Declared[unit]
	return []int{s[0], s[len(s)/2], s[len(s)-1]}
}

func waitReady(url string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		resp, err := http.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("not ready after %v", timeout)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
