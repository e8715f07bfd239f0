package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"

	"github.com/go-logr/logr"
	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/sync/errgroup"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/klog/v2"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/cafe-dev/cafe/internal/router/failover"
	"github.com/cafe-dev/cafe/internal/router/kube"
	"github.com/cafe-dev/cafe/internal/router/proxy"
)

// kubeSource is Kubernetes mode: a watch cache feeding the proxy and,
// with --failover, a candidate for the failover controller sharing it.
type kubeSource struct {
	cache      cache.Cache
	watcher    *kube.Watcher
	controller *failover.Controller
}

func newKubeSource(o options, h *proxy.Handler, reg prometheus.Registerer, log *slog.Logger) (*kubeSource, error) {
	// client-go and controller-runtime log through the router's logger.
	klog.SetSlogLogger(log)
	ctrllog.SetLogger(logr.FromSlogHandler(log.Handler()))
	cfg, err := restConfig(o.kubeconfig)
	if err != nil {
		return nil, err
	}
	c, err := kube.NewCache(cfg, o.namespaces)
	if err != nil {
		return nil, err
	}
	direct, err := client.New(cfg, client.Options{Scheme: kube.Scheme()})
	if err != nil {
		return nil, err
	}
	w, err := kube.NewWatcher(kube.WatcherOptions{
		Cache: c, APIReader: direct, Namespaces: o.namespaces, Unit: o.unit, Handler: h,
		Logger: log, Registerer: reg, RefreshInterval: o.refreshInterval,
	})
	if err != nil {
		return nil, err
	}
	s := &kubeSource{cache: c, watcher: w}
	if o.failover {
		host, _ := os.Hostname()
		s.controller, err = failover.NewController(failover.ControllerOptions{
			Config: cfg, Cache: c, Client: direct, APIReader: direct, Namespaces: o.namespaces,
			Policy: o.policy, Probe: o.probe, ProbeInterval: o.probeInterval,
			LeaseNamespace: o.leaseNS, LeaseName: o.leaseName,
			Identity:      fmt.Sprintf("%s_%s_%d", o.unit, host, os.Getpid()),
			LeaseDuration: o.leaseDuration, RenewDeadline: o.renewDeadline, RetryPeriod: o.retryPeriod,
			Logger: log,
		})
		if err != nil {
			return nil, err
		}
	}
	return s, nil
}

func (s *kubeSource) run(ctx context.Context) error {
	g, ctx := errgroup.WithContext(ctx)
	g.Go(func() error { return s.cache.Start(ctx) })
	g.Go(func() error { return s.watcher.Run(ctx) })
	if s.controller != nil {
		g.Go(func() error { return s.controller.Run(ctx) })
	}
	return g.Wait()
}

func (s *kubeSource) ready() bool { return s.watcher.Ready() }

func (s *kubeSource) newerEpoch(ev proxy.NewerEpoch) { s.watcher.NewerEpoch(ev) }

// restConfig loads --kubeconfig, else the in-cluster config, else the
// usual $KUBECONFIG / ~/.kube/config.
func restConfig(kubeconfig string) (*rest.Config, error) {
	if kubeconfig != "" {
		return clientcmd.BuildConfigFromFlags("", kubeconfig)
	}
	if cfg, err := rest.InClusterConfig(); err == nil {
		return cfg, nil
	}
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	cfg, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{}).ClientConfig()
	if err != nil {
		return nil, fmt.Errorf("no Kubernetes configuration (use --kubeconfig, or --config for standalone mode): %w", err)
	}
	return cfg, nil
}
