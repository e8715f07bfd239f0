package platform

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

// NodeName is the name of a unit's i-th simulated node.
func NodeName(unit string, i int) string { return fmt.Sprintf("%s-node-%d", unit, i) }

// ensureNodes registers every simulated node that is missing, each with its
// own podCIDR inside the platform's pod range, and clears node leases left by
// an earlier kwok so the new one takes the nodes over at once.
func (p *Platform) ensureNodes(ctx context.Context, cfg *rest.Config) error {
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return err
	}
	existing, err := cs.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		return err
	}
	usedCIDR := map[string]bool{}
	have := map[string]bool{}
	for _, n := range existing.Items {
		usedCIDR[n.Spec.PodCIDR] = true
		have[n.Name] = true
	}
	next := 0
	nextCIDR := func() (string, error) {
		for ; next < maxNodesPerRange; next++ {
			if c := p.podRange.NodeCIDR(next); !usedCIDR[c] {
				usedCIDR[c] = true
				return c, nil
			}
		}
		return "", fmt.Errorf("pod range %s has no free node CIDR left", p.podRange.CIDR())
	}
	capacity := corev1.ResourceList{
		corev1.ResourceCPU:    resource.MustParse(p.opts.NodeCPU),
		corev1.ResourceMemory: resource.MustParse(p.opts.NodeMemory),
		corev1.ResourcePods:   *resource.NewQuantity(int64(p.opts.NodePods), resource.DecimalSI),
	}
	for _, unit := range p.opts.Units {
		for i := 0; i < p.opts.NodesPerUnit; i++ {
			name := NodeName(unit, i)
			if have[name] {
				continue
			}
			cidr, err := nextCIDR()
			if err != nil {
				return err
			}
			node := &corev1.Node{
				ObjectMeta: metav1.ObjectMeta{
					Name: name,
					Labels: map[string]string{
						UnitLabel:                 unit,
						ZoneLabel:                 unit,
						SimulatedLabel:            "true",
						corev1.LabelHostname:      name,
						corev1.LabelOSStable:      "linux",
						corev1.LabelArchStable:    "amd64",
						"node.kubernetes.io/role": "simulated",
					},
					Annotations: map[string]string{"kwok.x-k8s.io/node": "fake"},
				},
				Spec: corev1.NodeSpec{PodCIDR: cidr, PodCIDRs: []string{cidr}},
				Status: corev1.NodeStatus{
					Capacity:    capacity,
					Allocatable: capacity,
				},
			}
			if _, err := cs.CoreV1().Nodes().Create(ctx, node, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
				return fmt.Errorf("register node %s: %w", name, err)
			}
		}
	}
	if err := cs.CoordinationV1().Leases(corev1.NamespaceNodeLease).DeleteCollection(ctx, metav1.DeleteOptions{}, metav1.ListOptions{}); err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("clear old node leases: %w", err)
	}
	return nil
}

// waitNodesReady waits until kwok has marked every simulated node Ready.
func (p *Platform) waitNodesReady(ctx context.Context, cfg *rest.Config) error {
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return err
	}
	want := len(p.opts.Units)*p.opts.NodesPerUnit + p.liveNodeCount()
	var ready int
	for {
		nodes, err := cs.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
		if err == nil {
			ready = 0
			for _, n := range nodes.Items {
				for _, c := range n.Status.Conditions {
					if c.Type == corev1.NodeReady && c.Status == corev1.ConditionTrue {
						ready++
					}
				}
			}
			if ready >= want {
				return nil
			}
		}
		for _, c := range p.children {
			if done, exitErr := c.exited(); done {
				return fmt.Errorf("%s exited (%v) while nodes were registering; see %s", c.name, exitErr, c.logPath)
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("timed out waiting for nodes: %d of %d Ready; see %s", ready, want, p.logDir())
		case <-time.After(100 * time.Millisecond):
		}
	}
}
