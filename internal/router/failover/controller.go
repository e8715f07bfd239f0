package failover

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"sync/atomic"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/leaderelection"
	"k8s.io/client-go/tools/leaderelection/resourcelock"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	trafficv1alpha1 "github.com/cafe-dev/cafe/api/traffic/v1alpha1"
	"github.com/cafe-dev/cafe/internal/router/kube"
)

// Defaults of ControllerOptions.
const (
	DefaultFailoverAfter = 1500 * time.Millisecond
	DefaultFailbackAfter = 30 * time.Second
	DefaultProbeInterval = 250 * time.Millisecond
	DefaultLeaseName     = "cafe-router-failover"
	DefaultLeaseDuration = 15 * time.Second
	DefaultRenewDeadline = 10 * time.Second
	DefaultRetryPeriod   = 2 * time.Second
)

// maxWriteAttempts bounds re-reads after write conflicts in one pass; the
// next pass starts over from the cache.
const maxWriteAttempts = 3

// ControllerOptions configure a Controller.
type ControllerOptions struct {
	// Config reaches the API server for the Lease.
	Config *rest.Config
	// Cache is the informer cache from kube.NewCache, started by the caller
	// (the router's own, when the controller runs inside a router).
	Cache cache.Cache
	// Client writes ShardMap and Route status.
	Client client.Client
	// APIReader re-reads a ShardMap past the cache after a write conflict.
	APIReader  client.Reader
	Namespaces []string
	// Policy is the default failover timing; ShardMap annotations
	// override it per map.
	Policy Policy
	// ProbeInterval is how often the leader checks unit health (and
	// dials every endpoint when Probe is set); 0 means
	// DefaultProbeInterval.
	ProbeInterval time.Duration
	// Probe turns on the TCP health check of every endpoint.
	Probe bool
	// LeaseNamespace and LeaseName name the Lease candidates compete for;
	// LeaseName defaults to DefaultLeaseName.
	LeaseNamespace string
	LeaseName      string
	// Identity names this candidate in the Lease (e.g. the router's unit
	// and host).
	Identity string
	// LeaseDuration, RenewDeadline and RetryPeriod tune leader election;
	// zero takes the Default* values.
	LeaseDuration, RenewDeadline, RetryPeriod time.Duration
	Logger                                    *slog.Logger
}

// Controller is the one place that decides failover: the candidate holding
// the Lease observes unit health, runs Decide for every ShardMap, and
// writes the result to status, conditioned on the resourceVersion it read.
// It also writes each Route's Accepted condition.
type Controller struct {
	o       ControllerOptions
	log     *slog.Logger
	kick    chan struct{}
	leading atomic.Bool
}

// NewController checks options and fills defaults; Run starts it.
func NewController(o ControllerOptions) (*Controller, error) {
	if o.Config == nil || o.Cache == nil || o.Client == nil || o.APIReader == nil || len(o.Namespaces) == 0 || o.LeaseNamespace == "" || o.Identity == "" {
		return nil, errors.New("failover: ControllerOptions need Config, Cache, Client, APIReader, Namespaces, LeaseNamespace and Identity")
	}
	if o.Policy.FailoverAfter <= 0 {
		o.Policy.FailoverAfter = DefaultFailoverAfter
	}
	if o.Policy.FailbackAfter <= 0 {
		o.Policy.FailbackAfter = DefaultFailbackAfter
	}
	if o.ProbeInterval <= 0 {
		o.ProbeInterval = DefaultProbeInterval
	}
	if o.LeaseName == "" {
		o.LeaseName = DefaultLeaseName
	}
	if o.LeaseDuration <= 0 {
		o.LeaseDuration = DefaultLeaseDuration
	}
	if o.RenewDeadline <= 0 {
		o.RenewDeadline = DefaultRenewDeadline
	}
	if o.RetryPeriod <= 0 {
		o.RetryPeriod = DefaultRetryPeriod
	}
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Controller{o: o, log: log.With("component", "failover"), kick: make(chan struct{}, 1)}, nil
}

// Leading reports whether this candidate holds the Lease now.
func (c *Controller) Leading() bool { return c.leading.Load() }

// Run competes for the Lease until ctx ends, and decides while it leads.
// Losing the Lease stops decisions at once; the candidate then competes
// again.
func (c *Controller) Run(ctx context.Context) error {
	if err := kube.OnChange(ctx, c.o.Cache, c.notify); err != nil {
		return err
	}
	cs, err := kubernetes.NewForConfig(c.o.Config)
	if err != nil {
		return err
	}
	lock := &resourcelock.LeaseLock{
		LeaseMeta:  metav1.ObjectMeta{Namespace: c.o.LeaseNamespace, Name: c.o.LeaseName},
		Client:     cs.CoordinationV1(),
		LockConfig: resourcelock.ResourceLockConfig{Identity: c.o.Identity},
	}
	for ctx.Err() == nil {
		elector, err := leaderelection.NewLeaderElector(leaderelection.LeaderElectionConfig{
			Lock:            lock,
			LeaseDuration:   c.o.LeaseDuration,
			RenewDeadline:   c.o.RenewDeadline,
			RetryPeriod:     c.o.RetryPeriod,
			ReleaseOnCancel: true,
			Name:            c.o.LeaseName,
			Callbacks: leaderelection.LeaderCallbacks{
				OnStartedLeading: c.lead,
				OnStoppedLeading: func() {},
			},
		})
		if err != nil {
			return err
		}
		elector.Run(ctx)
	}
	return nil
}

func (c *Controller) notify() {
	select {
	case c.kick <- struct{}{}:
	default:
	}
}

// lead runs while this candidate holds the Lease: on every change it
// decides with the health it has, and every ProbeInterval (or when a
// failover timer ends) it observes health first.
func (c *Controller) lead(ctx context.Context) {
	c.leading.Store(true)
	defer c.leading.Store(false)
	c.log.Info("leading: this router decides failover", "identity", c.o.Identity, "lease", c.o.LeaseNamespace+"/"+c.o.LeaseName)
	defer c.log.Info("no longer leading", "identity", c.o.Identity)
	if !c.o.Cache.WaitForCacheSync(ctx) {
		return
	}
	health := newHealthTracker()
	alive := map[string]bool{}
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		observe := false
		select {
		case <-ctx.Done():
			return
		case <-c.kick:
		case <-timer.C:
			observe = true
		}
		wait, err := c.pass(ctx, health, alive, observe)
		if err != nil && ctx.Err() == nil {
			c.log.Error("failover pass failed; retrying", "err", err)
		}
		if observe {
			timer.Reset(wait)
		}
	}
}

// pass decides every ShardMap once and returns how long to wait before the
// next observation. observe refreshes the active health checks.
func (c *Controller) pass(ctx context.Context, health *healthTracker, alive map[string]bool, observe bool) (time.Duration, error) {
	wait := c.o.ProbeInterval
	st, err := kube.ReadState(ctx, c.o.Cache, c.o.Namespaces)
	if err != nil {
		return wait, err
	}
	if observe && c.o.Probe {
		clear(alive) // endpoints that went away are forgotten
		for addr, ok := range probe(ctx, readyAddresses(st), c.o.ProbeInterval) {
			alive[addr] = ok
		}
	}
	isAlive := func(addr string) bool {
		ok, probed := alive[addr]
		return !c.o.Probe || !probed || ok
	}
	now := time.Now()
	keep := map[string]bool{}
	var errs []error
	for i := range st.ShardMaps {
		sm := &st.ShardMaps[i]
		key := kube.Key(sm.Namespace, sm.Name)
		keep[key] = true
		policy, problems := PolicyFor(sm.Annotations, c.o.Policy)
		for _, p := range problems {
			c.log.Warn("ShardMap annotation ignored", "shardMap", key, "why", p)
		}
		units := make([]string, 0, len(sm.Spec.Units))
		for _, u := range sm.Spec.Units {
			units = append(units, u.Name)
		}
		observed := UnitHealth(units, st.RoutesUsing(key), st.Endpoints, isAlive)
		unitHealth := health.observe(key, observed, now)
		recheck, err := c.decide(ctx, sm, unitHealth, policy, now)
		if err != nil {
			errs = append(errs, fmt.Errorf("ShardMap %s: %w", key, err))
		}
		if recheck > 0 && recheck < wait {
			wait = recheck
		}
	}
	health.forget(keep)
	errs = append(errs, c.writeRouteStatus(ctx, st.Routes)...)
	return wait, errors.Join(errs...)
}

// decide runs Decide and writes its status. A conflict means another
// writer (an old leader, or a spec change) got there first: it re-reads
// from the API server and decides again, never overwriting what it did not
// read.
func (c *Controller) decide(ctx context.Context, sm *trafficv1alpha1.ShardMap, health map[string]Health, policy Policy, now time.Time) (time.Duration, error) {
	current := sm.DeepCopy()
	for attempt := 1; ; attempt++ {
		d := Decide(Input{Generation: current.Generation, Spec: current.Spec, Status: current.Status, Health: health, Policy: policy, Now: now})
		if !d.Changed {
			return d.Recheck, nil
		}
		next := current.DeepCopy()
		next.Status = d.Status
		err := c.o.Client.Status().Update(ctx, next)
		if err == nil {
			c.logDecision(current, next, d)
			return d.Recheck, nil
		}
		if !apierrors.IsConflict(err) || attempt == maxWriteAttempts {
			return 0, fmt.Errorf("write status: %w", err)
		}
		current = &trafficv1alpha1.ShardMap{}
		if err := c.o.APIReader.Get(ctx, types.NamespacedName{Namespace: sm.Namespace, Name: sm.Name}, current); err != nil {
			return 0, fmt.Errorf("re-read after a write conflict: %w", err)
		}
	}
}

func (c *Controller) logDecision(before, after *trafficv1alpha1.ShardMap, d Decision) {
	key := kube.Key(after.Namespace, after.Name)
	for _, m := range d.Moves {
		c.log.Info("failover decision", "shardMap", key, "epoch", after.Status.Epoch, "move", m)
	}
	if v := meta.FindStatusCondition(after.Status.Conditions, trafficv1alpha1.ShardMapValid); v != nil && v.Status != metav1.ConditionTrue {
		c.log.Error("ShardMap spec invalid; routers keep the last valid map", "shardMap", key, "generation", after.Generation, "epoch", after.Status.Epoch, "problems", v.Message)
	}
	if after.Status.Epoch != before.Status.Epoch {
		c.log.Info("ShardMap stamped", "shardMap", key, "generation", after.Generation, "epoch", after.Status.Epoch, "previousEpoch", before.Status.Epoch)
	}
}

// writeRouteStatus brings each Route's Accepted condition up to date. A
// conflict is left for the next pass, which reads the Route again.
func (c *Controller) writeRouteStatus(ctx context.Context, routes []kube.Acceptance) []error {
	var errs []error
	for _, a := range routes {
		want := a.Condition()
		have := meta.FindStatusCondition(a.Route.Status.Conditions, want.Type)
		if have != nil && have.Status == want.Status && have.Reason == want.Reason && have.Message == want.Message && have.ObservedGeneration == want.ObservedGeneration &&
			a.Route.Status.ObservedGeneration == a.Route.Generation {
			continue
		}
		next := a.Route.DeepCopy()
		next.Status.ObservedGeneration = next.Generation
		meta.SetStatusCondition(&next.Status.Conditions, want)
		if err := c.o.Client.Status().Update(ctx, next); err != nil && !apierrors.IsConflict(err) && !apierrors.IsNotFound(err) {
			errs = append(errs, fmt.Errorf("Route %s/%s status: %w", next.Namespace, next.Name, err))
		}
	}
	return errs
}

// readyAddresses lists every ready endpoint of every accepted route once,
// sorted.
func readyAddresses(st *kube.State) []string {
	seen := map[string]bool{}
	var out []string
	for _, eps := range st.Endpoints {
		for _, e := range eps {
			if e.Ready && !seen[e.Address] {
				seen[e.Address] = true
				out = append(out, e.Address)
			}
		}
	}
	sort.Strings(out)
	return out
}
