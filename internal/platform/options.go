package platform

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"time"

	"k8s.io/client-go/rest"

	appsv1alpha1 "github.com/cafe-dev/cafe/api/apps/v1alpha1"
)

// Options describe one local platform.
type Options struct {
	// DataDir holds etcd's data, the PKI, logs and the kubeconfig. Running
	// again on the same directory brings back the same cluster state.
	DataDir string
	// BinDir holds kube-apiserver, kube-controller-manager, kube-scheduler,
	// etcd and kwok (built by `make tools`).
	BinDir string
	// APIServerPort is the API server's port on 127.0.0.1; 0 picks a free one.
	APIServerPort int
	// Units are the names of the units; each gets NodesPerUnit nodes.
	Units        []string
	NodesPerUnit int
	// Node capacity of every simulated node.
	NodeCPU    string
	NodeMemory string
	NodePods   int
	// LiveNodesPerUnit is how many live nodes each unit gets besides its
	// simulated ones: cafe-node processes that run pods' containers as local
	// processes in the unit's network namespace. Needs root; without it the
	// platform runs simulated nodes only and says why.
	LiveNodesPerUnit int
	// NodeAgentBinary is the live nodes' program; default <BinDir>/cafe-node
	// (built by `make build`).
	NodeAgentBinary string
	// LiveImages maps image repositories to the binaries live nodes run for
	// them ("repo=binary,..."); default: cafe/demo=<BinDir>/cafe-demo.
	LiveImages string
	// StartLatency is the simulated container start time (new pod and
	// in-place restart alike).
	StartLatency time.Duration
	// SandboxLatency is the simulated time a new pod's sandbox (network,
	// volumes) takes before its containers start; in-place restarts keep
	// theirs.
	SandboxLatency time.Duration
	// ControllerManagerQPS is kube-controller-manager's client QPS (its
	// default of 20 makes large tests crawl).
	ControllerManagerQPS int
	// Profiling serves the API server's /debug/pprof (for benchmarks that
	// look at where its CPU goes); off by default.
	Profiling bool
	// BeforeControllers runs once the API server is ready and before
	// kube-controller-manager starts, for example to install CRDs so that the
	// controllers' discovery (the disruption controller's scale lookups, the
	// garbage collector) knows them from the start.
	BeforeControllers func(ctx context.Context, cfg *rest.Config) error
	// Log receives progress lines; nil discards them.
	Log func(format string, args ...any)
}

// DefaultUnits are the units of the embedded default platform.
var DefaultUnits = []string{"unit-a", "unit-b", "unit-c"}

// UnitLabel and ZoneLabel are set on every simulated node.
const (
	UnitLabel      = appsv1alpha1.UnitTopologyLabel
	ZoneLabel      = "topology.kubernetes.io/zone"
	SimulatedLabel = "cafe.dev/simulated"
)

var unitName = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]{0,40}[a-z0-9])?$`)

// withDefaults fills unset options and validates the rest.
func (o Options) withDefaults() (Options, error) {
	if o.DataDir == "" {
		o.DataDir = ".cafe"
	}
	abs, err := filepath.Abs(o.DataDir)
	if err != nil {
		return o, err
	}
	o.DataDir = abs
	if o.BinDir == "" {
		o.BinDir = "bin"
	}
	if o.BinDir, err = filepath.Abs(o.BinDir); err != nil {
		return o, err
	}
	if len(o.Units) == 0 {
		o.Units = DefaultUnits
	}
	seen := map[string]bool{}
	for _, u := range o.Units {
		if !unitName.MatchString(u) {
			return o, fmt.Errorf("unit name %q is not valid: use lower-case letters, digits and '-', at most 42 characters", u)
		}
		if seen[u] {
			return o, fmt.Errorf("unit %q is listed twice", u)
		}
		seen[u] = true
	}
	if o.NodesPerUnit < 0 {
		return o, fmt.Errorf("nodes per unit must not be negative, got %d", o.NodesPerUnit)
	}
	if o.NodesPerUnit == 0 {
		o.NodesPerUnit = 2
	}
	if o.LiveNodesPerUnit < 0 {
		return o, fmt.Errorf("live nodes per unit must not be negative, got %d", o.LiveNodesPerUnit)
	}
	if len(o.Units)*o.LiveNodesPerUnit > maxLiveNodes {
		return o, fmt.Errorf("%d units × %d live nodes is more than the %d live nodes one platform holds", len(o.Units), o.LiveNodesPerUnit, maxLiveNodes)
	}
	if len(o.Units) > maxLiveUnits && o.LiveNodesPerUnit > 0 {
		return o, fmt.Errorf("live nodes work with at most %d units, not %d", maxLiveUnits, len(o.Units))
	}
	if o.NodeAgentBinary == "" {
		o.NodeAgentBinary = filepath.Join(o.BinDir, "cafe-node")
	}
	if o.LiveImages == "" {
		o.LiveImages = "cafe/demo=" + filepath.Join(o.BinDir, "cafe-demo")
	}
	if len(o.Units)*o.NodesPerUnit > maxNodesPerRange {
		return o, fmt.Errorf("%d units × %d nodes is more than the %d nodes one pod range holds", len(o.Units), o.NodesPerUnit, maxNodesPerRange)
	}
	if o.NodeCPU == "" {
		o.NodeCPU = "32"
	}
	if o.NodeMemory == "" {
		o.NodeMemory = "128Gi"
	}
	if o.NodePods == 0 {
		o.NodePods = 110
	}
	if o.StartLatency < 0 {
		return o, fmt.Errorf("start latency must not be negative, got %s", o.StartLatency)
	}
	if o.SandboxLatency < 0 {
		return o, fmt.Errorf("sandbox latency must not be negative, got %s", o.SandboxLatency)
	}
	if o.ControllerManagerQPS == 0 {
		o.ControllerManagerQPS = 500
	}
	if o.Log == nil {
		o.Log = func(string, ...any) {}
	}
	if err := os.MkdirAll(o.DataDir, 0o755); err != nil {
		return o, fmt.Errorf("data directory %s is not usable: %w (choose another with --data-dir)", o.DataDir, err)
	}
	probe := filepath.Join(o.DataDir, ".write-test")
	if err := os.WriteFile(probe, nil, 0o600); err != nil {
		return o, fmt.Errorf("data directory %s is not writable: %w (choose another with --data-dir)", o.DataDir, err)
	}
	os.Remove(probe)
	return o, nil
}
