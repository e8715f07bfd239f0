// Package demostack runs the payment demo on a local platform with live
// nodes: the accounts store as an etcd cluster with one member in each
// unit, one cafe-router per unit, and the cafe-demo service as a
// CafeDeployment spread over the units behind them. `cafe demo`, `cafe
// drill` and the end-to-end tests all stand on it.
package demostack

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	appsv1alpha1 "github.com/cafe-dev/cafe/api/apps/v1alpha1"
	"github.com/cafe-dev/cafe/internal/manager"
	"github.com/cafe-dev/cafe/internal/platform"
)

// Options shape the demo.
type Options struct {
	Platform *platform.Platform
	Config   *rest.Config
	// Namespace of the demo's objects (default "demo").
	Namespace string
	// Units are the platform's units (default: all of them).
	Units []string
	// Workload is how the service is deployed: a CafeDeployment (default)
	// or, as the baseline, plain Deployments.
	Workload Workload
	// Image is the demo service's first release (default cafe/demo:v1).
	Image         string
	Replicas      int32
	BatchSize     int32
	UpgradePolicy appsv1alpha1.PodUpdatePolicy
	DrainSeconds  int32
	// FailoverAfter and FailbackAfter go to the ShardMap (routers' failover).
	FailoverAfter, FailbackAfter time.Duration
	// RouterBinary and EtcdBinary default to the platform's bin directory.
	RouterBinary, EtcdBinary string
	// Log receives progress lines; nil discards them.
	Log func(format string, args ...any)
}

func (o Options) withDefaults() (Options, error) {
	if o.Platform == nil || o.Config == nil {
		return o, errors.New("demostack: a platform and its REST config are required")
	}
	if o.Namespace == "" {
		o.Namespace = "demo"
	}
	if len(o.Units) == 0 {
		o.Units = o.Platform.Units()
	}
	for _, u := range o.Units {
		if o.Platform.UnitNetns(u) == "" {
			return o, fmt.Errorf("unit %s has no live nodes: the demo needs the platform started with live nodes (cafe up --live-nodes-per-unit, as root)", u)
		}
	}
	if o.Image == "" {
		o.Image = "cafe/demo:v1"
	}
	switch o.Workload {
	case "":
		o.Workload = CafeDeploymentWorkload
	case CafeDeploymentWorkload, PlainDeployments:
	default:
		return o, fmt.Errorf("demostack: workload %q: want %s or %s", o.Workload, CafeDeploymentWorkload, PlainDeployments)
	}
	if o.Replicas == 0 {
		o.Replicas = defaultReplicas
	}
	if o.BatchSize == 0 {
		o.BatchSize = defaultBatchSize
	}
	if o.UpgradePolicy == "" {
		o.UpgradePolicy = appsv1alpha1.PodUpdateInPlaceIfPossible
	}
	if o.DrainSeconds == 0 {
		o.DrainSeconds = defaultDrainSeconds
	}
	if o.FailoverAfter == 0 {
		o.FailoverAfter = defaultFailoverAfter
	}
	if o.FailbackAfter == 0 {
		o.FailbackAfter = defaultFailbackAfter
	}
	bin := filepath.Dir(o.Platform.NodeAgentBinary())
	if o.RouterBinary == "" {
		o.RouterBinary = filepath.Join(bin, "cafe-router")
	}
	if o.EtcdBinary == "" {
		o.EtcdBinary = filepath.Join(o.Platform.BinDir(), "etcd")
	}
	for _, b := range []string{o.RouterBinary, o.EtcdBinary} {
		if _, err := os.Stat(b); err != nil {
			return o, fmt.Errorf("demostack: %s: %w (build it with `make build tools`)", b, err)
		}
	}
	if o.Log == nil {
		o.Log = func(string, ...any) {}
	}
	return o, nil
}

// Workload is how the demo deploys its service.
type Workload string

const (
	// CafeDeploymentWorkload is one CafeDeployment over the units.
	CafeDeploymentWorkload Workload = "CafeDeployment"
	// PlainDeployments is one Deployment per unit, the baseline.
	PlainDeployments Workload = "Deployment"
)

// Stack is a running demo.
type Stack struct {
	o      Options
	client client.Client
	// EtcdEndpoints are the store's client URLs, one member per unit.
	EtcdEndpoints []string
	// Routers are each unit's router, host:port.
	Routers map[string]string
	// children are the platform children the stack started, by unit.
	children map[string][]string
}

// Start brings the demo up and returns once every unit serves through its
// router.
func Start(ctx context.Context, opts Options) (*Stack, error) {
	o, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	c, err := client.New(o.Config, client.Options{Scheme: manager.Scheme()})
	if err != nil {
		return nil, err
	}
	s := &Stack{o: o, client: c, Routers: map[string]string{}, children: map[string][]string{}}
	if err := s.startEtcd(ctx); err != nil {
		return nil, err
	}
	for _, unit := range o.Units {
		port, err := platform.FreePort()
		if err != nil {
			return nil, err
		}
		s.Routers[unit] = net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	}
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: o.Namespace}}
	if err := c.Create(ctx, ns); err != nil && !apierrors.IsAlreadyExists(err) {
		return nil, err
	}
	for _, obj := range objects(o, s.EtcdEndpoints, s.Routers) {
		if err := c.Create(ctx, obj); err != nil {
			return nil, fmt.Errorf("create %T %s: %w", obj, obj.GetName(), err)
		}
	}
	o.Log("%d replicas of %s over %s, store %s", o.Replicas, o.Image, strings.Join(o.Units, ", "), strings.Join(s.EtcdEndpoints, ","))
	if err := s.startRouters(); err != nil {
		return nil, err
	}
	if err := s.waitServing(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

// Namespace is where the demo's objects are.
func (s *Stack) Namespace() string { return s.o.Namespace }

// RouterURLs are the routers' base URLs, in unit order.
func (s *Stack) RouterURLs() []string {
	var urls []string
	for _, u := range s.o.Units {
		urls = append(urls, "http://"+s.Routers[u])
	}
	return urls
}

// Stop ends the routers and the store's members (the platform ends the
// pods); the objects stay.
func (s *Stack) Stop() {
	for _, names := range s.children {
		for _, name := range names {
			_ = s.o.Platform.StopChild(name)
		}
	}
}

// waitServing rolls the first release out, confirming its batches, and
// waits until every unit answers, through its own router, for one of its
// own shards.
func (s *Stack) waitServing(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 3*time.Minute)
	defer cancel()
	if err := s.rollOut(ctx, "first rollout of "+s.o.Image, nil); err != nil {
		return err
	}
	httpc := &http.Client{Timeout: 2 * time.Second}
	last := ""
	for {
		err := s.probeRouters(ctx, httpc)
		if err == nil {
			s.o.Log("every unit serves through its router")
			return nil
		}
		last = err.Error()
		select {
		case <-ctx.Done():
			return fmt.Errorf("the demo did not come up: %s", last)
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// probeRouters asks each unit's router for an account of one of the unit's
// shards and checks the unit that answered.
func (s *Stack) probeRouters(ctx context.Context, httpc *http.Client) error {
	for i, unit := range s.o.Units {
		from, _ := shardRange(i, len(s.o.Units))
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+s.Routers[unit]+"/version", nil)
		if err != nil {
			return err
		}
		req.Header.Set(UserHeader, UserOfShard(int(from)))
		resp, err := httpc.Do(req)
		if err != nil {
			return fmt.Errorf("router of %s: %w", unit, err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || resp.Header.Get("X-Cafe-Unit") != unit {
			return fmt.Errorf("router of %s: status %d from unit %q", unit, resp.StatusCode, resp.Header.Get("X-Cafe-Unit"))
		}
	}
	return nil
}
