// Package manager assembles CAFE's controllers into one controller-runtime
// manager: the in-cluster controller binary and `cafe up` both run it.
package manager

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/selection"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	appsv1alpha1 "github.com/cafe-dev/cafe/api/apps/v1alpha1"
	trafficv1alpha1 "github.com/cafe-dev/cafe/api/traffic/v1alpha1"
	"github.com/cafe-dev/cafe/internal/controller/cafedeployment"
	"github.com/cafe-dev/cafe/internal/controller/inplaceset"
	"github.com/cafe-dev/cafe/internal/controller/serving"
	"github.com/cafe-dev/cafe/internal/podindex"
)

// Options configure the manager.
type Options struct {
	// MetricsAddr serves Prometheus metrics ("0" disables).
	MetricsAddr string
	// HealthAddr serves /healthz and /readyz ("0" disables).
	HealthAddr string
	// LeaderElection makes replicas elect one active leader.
	LeaderElection          bool
	LeaderElectionNamespace string
	// Namespace restricts the controllers to one namespace ("" = all).
	Namespace string
	// Concurrency is the number of parallel reconciles per controller.
	Concurrency int
	// QPS and Burst of each controller's API client: like
	// kube-controller-manager's --kube-api-qps, the limit applies to every
	// controller on its own.
	QPS   float32
	Burst int
}

// Scheme knows Kubernetes' built-in kinds and CAFE's.
func Scheme() *runtime.Scheme {
	s := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(s); err != nil {
		panic(err)
	}
	if err := appsv1alpha1.AddToScheme(s); err != nil {
		panic(err)
	}
	if err := trafficv1alpha1.AddToScheme(s); err != nil {
		panic(err)
	}
	return s
}

// New builds the manager with every CAFE controller registered.
func New(cfg *rest.Config, o Options) (ctrl.Manager, error) {
	cfg = rest.CopyConfig(cfg)
	if o.QPS > 0 {
		cfg.QPS, cfg.Burst = o.QPS, o.Burst
	}
	if o.Concurrency <= 0 {
		o.Concurrency = 4
	}
	scheme := Scheme()
	// Only CAFE's pods are cached: a large cluster's other pods cost memory
	// and events for nothing.
	cafePods, err := labels.NewRequirement(appsv1alpha1.InstanceIndexLabel, selection.Exists, nil)
	if err != nil {
		return nil, err
	}
	// Pods and EndpointSlices are the bulk of the cache, and their
	// managedFields (who wrote which field) are read by no controller here:
	// they are dropped before objects are stored. CafeDeployments keep
	// theirs: the release records who confirmed from them.
	stripManagedFields := cache.TransformStripManagedFields()
	cacheOpts := cache.Options{
		ByObject: map[client.Object]cache.ByObject{
			&corev1.Pod{}:                {Label: labels.NewSelector().Add(*cafePods), Transform: stripManagedFields},
			&discoveryv1.EndpointSlice{}: {Transform: stripManagedFields},
		},
	}
	if o.Namespace != "" {
		cacheOpts.DefaultNamespaces = map[string]cache.Config{o.Namespace: {}}
	}
	renew := 10 * time.Second
	mgr, err := ctrl.NewManager(cfg, ctrl.Options{
		Scheme:                        scheme,
		Cache:                         cacheOpts,
		Metrics:                       metricsserver.Options{BindAddress: orDisabled(o.MetricsAddr)},
		HealthProbeBindAddress:        orDisabled(o.HealthAddr),
		LeaderElection:                o.LeaderElection,
		LeaderElectionID:              "cafe-controller.apps.cafe.dev",
		LeaderElectionNamespace:       o.LeaderElectionNamespace,
		LeaderElectionReleaseOnCancel: true,
		RenewDeadline:                 &renew,
	})
	if err != nil {
		return nil, fmt.Errorf("create the controller manager: %w", err)
	}
	pods, err := podindex.NewLister(context.Background(), mgr.GetCache())
	if err != nil {
		return nil, err
	}
	clientFor := func(controller string) (client.Client, error) { return controllerClient(mgr, cfg, controller) }
	ipsClient, err := clientFor("inplaceset-controller")
	if err != nil {
		return nil, err
	}
	ips := &inplaceset.Reconciler{
		Client:    ipsClient,
		Pods:      pods,
		APIReader: mgr.GetAPIReader(),
		Scheme:    scheme,
		Recorder:  mgr.GetEventRecorderFor("inplaceset-controller"),
	}
	if err := ips.SetupWithManager(mgr, o.Concurrency); err != nil {
		return nil, err
	}
	servingClient, err := clientFor("serving-controller")
	if err != nil {
		return nil, err
	}
	if err := (&serving.Reconciler{Client: servingClient, Pods: pods}).SetupWithManager(mgr, o.Concurrency); err != nil {
		return nil, err
	}
	cdClient, err := clientFor("cafedeployment-controller")
	if err != nil {
		return nil, err
	}
	cd := &cafedeployment.Reconciler{
		Client:    cdClient,
		Pods:      pods,
		APIReader: mgr.GetAPIReader(),
		Scheme:    scheme,
		Recorder:  mgr.GetEventRecorderFor("cafedeployment-controller"),
	}
	if err := cd.SetupWithManager(mgr, o.Concurrency); err != nil {
		return nil, err
	}
	return mgr, nil
}

// controllerClient gives one controller an API client of its own that reads
// from the manager's shared cache. Its requests carry the controller's name
// in their user agent, and it has its own QPS budget, as each of
// kube-controller-manager's controllers does: one controller's burst of
// writes does not hold another's back.
func controllerClient(mgr ctrl.Manager, cfg *rest.Config, controller string) (client.Client, error) {
	cfg = rest.CopyConfig(cfg)
	cfg.UserAgent = rest.DefaultKubernetesUserAgent() + "/" + controller
	c, err := client.New(cfg, client.Options{
		Scheme: mgr.GetScheme(),
		Mapper: mgr.GetRESTMapper(),
		Cache:  &client.CacheOptions{Reader: mgr.GetCache()},
	})
	if err != nil {
		return nil, fmt.Errorf("create the %s's API client: %w", controller, err)
	}
	return c, nil
}

func orDisabled(addr string) string {
	if addr == "" {
		return "0"
	}
	return addr
}
