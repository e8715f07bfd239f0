// Package kwokstages holds the kwok configuration that makes CAFE's simulated
// nodes and pods behave like kubelet's (readiness gates, in-place container
// restarts on image change, one start-latency model).
package kwokstages

import (
	_ "embed"
	"fmt"
	"strconv"
	"strings"
	"time"
)

//go:embed stages.yaml.tmpl
var stagesTemplate string

// Options are the parameters of the simulated-pod model.
type Options struct {
	// StartLatency is how long a container takes to start, for a new pod and
	// for an in-place restart alike. Zero by default.
	StartLatency time.Duration
	// NodeLeaseSeconds is the node lease duration kwok uses. Short leases let
	// a restarted kwok take its nodes back quickly.
	NodeLeaseSeconds int
	// FallbackCIDR is where kwok takes pod IPs for a node without a podCIDR.
	// CAFE gives every node a podCIDR; this only keeps kwok's default
	// (10.0.0.0/24) out of the picture.
	FallbackCIDR string
}

// Render returns the kwok configuration file's content.
func Render(o Options) (string, error) {
	if o.StartLatency < 0 {
		return "", fmt.Errorf("start latency must not be negative, got %s", o.StartLatency)
	}
	if o.NodeLeaseSeconds <= 0 {
		o.NodeLeaseSeconds = 10
	}
	if o.FallbackCIDR == "" {
		return "", fmt.Errorf("a fallback pod CIDR is required")
	}
	return strings.NewReplacer(
		"${START_LATENCY_MS}", strconv.FormatInt(o.StartLatency.Milliseconds(), 10),
		"${NODE_LEASE_SECONDS}", strconv.Itoa(o.NodeLeaseSeconds),
		"${FALLBACK_CIDR}", o.FallbackCIDR,
	).Replace(stagesTemplate), nil
}
