// Package kwokstages holds the kwok configuration that makes CAFE's simulated
// nodes and pods behave like kubelet's (readiness gates, in-place container
// restarts on image change, one latency model: a sandbox for new pods, a
// container start for new and restarted containers alike).
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
	// SandboxLatency is how long a new pod's sandbox takes before its
	// containers begin to start: kubelet's pod sandbox, network (the pod gets
	// its IP at the end of it) and volumes. An in-place restart keeps the
	// sandbox and does not pay it. Zero by default.
	SandboxLatency time.Duration
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
	if o.SandboxLatency < 0 {
		return "", fmt.Errorf("sandbox latency must not be negative, got %s", o.SandboxLatency)
	}
	if o.NodeLeaseSeconds <= 0 {
		o.NodeLeaseSeconds = 10
	}
	if o.FallbackCIDR == "" {
		return "", fmt.Errorf("a fallback pod CIDR is required")
	}
	return strings.NewReplacer(
		"${START_LATENCY_MS}", strconv.FormatInt(o.StartLatency.Milliseconds(), 10),
		"${SANDBOX_LATENCY_MS}", strconv.FormatInt(o.SandboxLatency.Milliseconds(), 10),
		"${NODE_LEASE_SECONDS}", strconv.Itoa(o.NodeLeaseSeconds),
		"${FALLBACK_CIDR}", o.FallbackCIDR,
	).Replace(stagesTemplate), nil
}
