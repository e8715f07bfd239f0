// Command cafe-controller runs CAFE's controllers in a cluster.
package main

import (
	"flag"
	"os"

	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	"github.com/cafe-dev/cafe/internal/manager"
)

func main() {
	var o manager.Options
	var qps float64
	flag.StringVar(&o.MetricsAddr, "metrics-bind-address", ":8080", "address of the Prometheus metrics endpoint (0 disables)")
	flag.StringVar(&o.HealthAddr, "health-probe-bind-address", ":8081", "address of /healthz and /readyz (0 disables)")
	flag.BoolVar(&o.LeaderElection, "leader-elect", true, "elect one active replica with a Lease")
	flag.StringVar(&o.LeaderElectionNamespace, "leader-election-namespace", "", "namespace of the leader Lease (default: the pod's namespace)")
	flag.StringVar(&o.Namespace, "namespace", "", "watch only this namespace (a namespace-scoped install); empty watches all")
	flag.IntVar(&o.Concurrency, "concurrency", 8, "parallel reconciles per controller")
	flag.Float64Var(&qps, "kube-api-qps", 100, "client QPS to the API server, for each controller on its own")
	flag.IntVar(&o.Burst, "kube-api-burst", 200, "client burst to the API server, for each controller on its own")
	zapOpts := zap.Options{}
	zapOpts.BindFlags(flag.CommandLine)
	flag.Parse()
	o.QPS = float32(qps)
	ctrl.SetLogger(zap.New(zap.UseFlagOptions(&zapOpts)))
	log := ctrl.Log.WithName("cafe-controller")

	mgr, err := manager.New(ctrl.GetConfigOrDie(), o)
	if err != nil {
		log.Error(err, "cannot start")
		os.Exit(1)
	}
	if o.HealthAddr != "0" {
		_ = mgr.AddHealthzCheck("healthz", healthz.Ping)
		_ = mgr.AddReadyzCheck("readyz", healthz.Ping)
	}
	if err := mgr.Start(ctrl.SetupSignalHandler()); err != nil {
		log.Error(err, "stopped")
		os.Exit(1)
	}
}
