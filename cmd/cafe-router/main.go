// Command cafe-router is CAFE's unit router: one per unit, it serves the
// unit's shards from the unit's endpoints and forwards other units' shards
// to their routers in one hop. Configuration comes from the Kubernetes API
// (ShardMaps, Routes, EndpointSlices) or, beside VM apps, from a file.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"syscall"
	"time"

	"github.com/cafe-dev/cafe/internal/router/failover"
	"github.com/cafe-dev/cafe/internal/router/kube"
	"github.com/cafe-dev/cafe/internal/router/proxy"
)

type options struct {
	unit            string
	listen          string
	tlsCertFile     string
	tlsKeyFile      string
	kubeconfig      string
	configFile      string
	namespaces      []string
	metricsListen   string
	pprof           bool
	accessLogSample float64
	logLevel        slog.Level
	reloadInterval  time.Duration
	refreshInterval time.Duration
	bodyIdleTimeout time.Duration

	failover      bool
	policy        failover.Policy
	probe         bool
	probeInterval time.Duration
	leaseNS       string
	leaseName     string
	leaseDuration time.Duration
	renewDeadline time.Duration
	retryPeriod   time.Duration
}

func parseFlags(args []string) (options, error) {
	var o options
	var namespaces string
	fs := flag.NewFlagSet("cafe-router", flag.ContinueOnError)
	fs.StringVar(&o.unit, "unit", "", "this router's unit, as named in the shard maps (required)")
	fs.StringVar(&o.listen, "listen", ":8080", "address of the routed listener: HTTP/1.1 and HTTP/2 (h2c with prior knowledge, or h2 over TLS)")
	fs.StringVar(&o.tlsCertFile, "tls-cert-file", "", "serve TLS on --listen with this PEM certificate chain (HTTP/2 and HTTP/1.1 by ALPN); needs --tls-key-file")
	fs.StringVar(&o.tlsKeyFile, "tls-key-file", "", "PEM private key of --tls-cert-file")
	fs.StringVar(&o.kubeconfig, "kubeconfig", "", "kubeconfig file (default: in-cluster config, else $KUBECONFIG or ~/.kube/config)")
	fs.StringVar(&o.configFile, "config", "", "standalone mode: read shard maps, routes and endpoints from this YAML file instead of the Kubernetes API")
	fs.StringVar(&namespaces, "namespace", "default", "comma-separated namespaces whose ShardMaps, Routes and EndpointSlices this router serves")
	fs.StringVar(&o.metricsListen, "metrics-listen", ":9090", "address of /metrics, /readyz, /healthz (and /debug/pprof with --pprof); empty disables")
	fs.BoolVar(&o.pprof, "pprof", false, "serve /debug/pprof on the metrics listener")
	fs.Float64Var(&o.accessLogSample, "access-log-sample", 0.01, "fraction of requests written to the access log, 0 to 1")
	fs.TextVar(&o.logLevel, "log-level", slog.LevelInfo, "log level: debug, info, warn or error")
	fs.DurationVar(&o.reloadInterval, "reload-interval", 250*time.Millisecond, "standalone mode: how often the config file is checked for changes (SIGHUP reloads at once)")
	fs.DurationVar(&o.refreshInterval, "refresh-interval", kube.DefaultRefreshInterval, "at most one shard-map read per this interval when a peer router shows a newer epoch")
	fs.DurationVar(&o.bodyIdleTimeout, "body-idle-timeout", proxy.DefaultBodyIdleTimeout, "a write of a response body to a client, or a read of one from an upstream, that makes no progress this long ends the exchange and both connections")
	fs.BoolVar(&o.failover, "failover", false, "also be a candidate for the leader-elected failover controller, which writes ShardMap status (Kubernetes mode)")
	fs.DurationVar(&o.policy.FailoverAfter, "failover-after", failover.DefaultFailoverAfter, "a unit unhealthy this long is failed over (per unit; annotation "+failover.AnnotationFailoverAfter+" overrides per ShardMap)")
	fs.DurationVar(&o.policy.FailbackAfter, "failback-after", failover.DefaultFailbackAfter, "a failed-over unit healthy this long takes its shards back (annotation "+failover.AnnotationFailbackAfter+" overrides)")
	fs.BoolVar(&o.probe, "health-probe", true, "the failover leader dials every endpoint over TCP to check health, besides EndpointSlice readiness")
	fs.DurationVar(&o.probeInterval, "health-probe-interval", failover.DefaultProbeInterval, "how often the failover leader checks unit health")
	fs.StringVar(&o.leaseNS, "lease-namespace", "", "namespace of the failover Lease (default: the first --namespace)")
	fs.StringVar(&o.leaseName, "lease-name", failover.DefaultLeaseName, "name of the failover Lease")
	fs.DurationVar(&o.leaseDuration, "lease-duration", failover.DefaultLeaseDuration, "failover leader election: lease duration")
	fs.DurationVar(&o.renewDeadline, "lease-renew-deadline", failover.DefaultRenewDeadline, "failover leader election: renew deadline")
	fs.DurationVar(&o.retryPeriod, "lease-retry-period", failover.DefaultRetryPeriod, "failover leader election: retry period")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	for _, ns := range strings.Split(namespaces, ",") {
		if ns = strings.TrimSpace(ns); ns != "" {
			o.namespaces = append(o.namespaces, ns)
		}
	}
	switch {
	case o.unit == "":
		return o, errors.New("--unit is required: name this router's unit as the shard maps do")
	case o.configFile != "" && o.kubeconfig != "":
		return o, errors.New("--config (standalone) and --kubeconfig (Kubernetes) exclude each other")
	case o.configFile != "" && o.failover:
		return o, errors.New("--failover needs the Kubernetes API; in standalone mode fail a unit over by editing the file (state: Down) and raising its epoch")
	case o.configFile == "" && len(o.namespaces) == 0:
		return o, errors.New("--namespace needs at least one namespace")
	case (o.tlsCertFile == "") != (o.tlsKeyFile == ""):
		return o, errors.New("--tls-cert-file and --tls-key-file go together")
	case o.bodyIdleTimeout <= 0:
		return o, fmt.Errorf("--body-idle-timeout %v must be positive", o.bodyIdleTimeout)
	case o.accessLogSample < 0 || o.accessLogSample > 1:
		return o, fmt.Errorf("--access-log-sample %v is outside 0..1", o.accessLogSample)
	}
	if o.leaseNS == "" && len(o.namespaces) > 0 {
		o.leaseNS = o.namespaces[0]
	}
	return o, nil
}

// defaultGCPercent is the router's garbage-collection target when GOGC is
// not set. Its live heap is small (tables, pooled buffers), so Go's default
// of 100 collects several times a second under load, and each collection
// takes a share of the router's CPU while requests wait: 400 cut the added
// p99 latency by about 0.2 ms in docs/benchmarks.md's runs, for a heap of
// at most five times the live one. GOGC (and GOMEMLIMIT) still apply.
const defaultGCPercent = 400

func setGCPercent() {
	if _, set := os.LookupEnv("GOGC"); !set {
		debug.SetGCPercent(defaultGCPercent)
	}
}

func main() {
	o, err := parseFlags(os.Args[1:])
	if errors.Is(err, flag.ErrHelp) {
		os.Exit(0)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "cafe-router:", err)
		os.Exit(2)
	}
	logger := slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: o.logLevel})).With("unit", o.unit)
	setGCPercent()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, o, logger); err != nil {
		logger.Error("cafe-router stopped", "err", err)
		os.Exit(1)
	}
}
