package nodeagent

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	appsv1alpha1 "github.com/cafe-dev/cafe/api/apps/v1alpha1"
)

// LiveLabel marks live nodes, so a workload can ask for them with a node
// selector (simulated nodes carry cafe.dev/simulated=true instead).
const LiveLabel = "cafe.dev/live"

// Heartbeats: the lease is what kube-controller-manager watches (a node
// whose lease is not renewed for its grace period turns NotReady); the
// status heartbeat is kubelet's slower one.
const (
	leaseSeconds      = 40
	leaseRenewEvery   = 10 * time.Second
	statusReportEvery = time.Minute
)

// register creates the node, or takes over one registered before, and marks
// it Ready.
func (a *Agent) register(ctx context.Context) error {
	labels := map[string]string{
		appsv1alpha1.UnitTopologyLabel: a.cfg.Unit,
		corev1.LabelTopologyZone:       a.cfg.Zone,
		corev1.LabelHostname:           a.cfg.NodeName,
		corev1.LabelOSStable:           "linux",
		corev1.LabelArchStable:         "amd64",
		LiveLabel:                      "true",
	}
	for k, v := range a.cfg.Labels {
		labels[k] = v
	}
	node := &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: a.cfg.NodeName, Labels: labels},
		Spec:       corev1.NodeSpec{PodCIDR: a.cfg.PodCIDR, PodCIDRs: []string{a.cfg.PodCIDR}},
	}
	_, err := a.cs.CoreV1().Nodes().Create(ctx, node, metav1.CreateOptions{})
	if apierrors.IsAlreadyExists(err) {
		var existing *corev1.Node
		if existing, err = a.cs.CoreV1().Nodes().Get(ctx, a.cfg.NodeName, metav1.GetOptions{}); err == nil && existing.Spec.PodCIDR != a.cfg.PodCIDR {
			return fmt.Errorf("node %s is registered with podCIDR %s, not %s: delete the node object or keep its range", a.cfg.NodeName, existing.Spec.PodCIDR, a.cfg.PodCIDR)
		}
		if err == nil {
			patch, _ := json.Marshal(map[string]any{"metadata": map[string]any{"labels": labels}})
			_, err = a.cs.CoreV1().Nodes().Patch(ctx, a.cfg.NodeName, types.StrategicMergePatchType, patch, metav1.PatchOptions{})
		}
	}
	if err != nil {
		return fmt.Errorf("register node %s: %w", a.cfg.NodeName, err)
	}
	return a.reportNodeStatus(ctx)
}

// reportNodeStatus writes the node's capacity, address and conditions.
func (a *Agent) reportNodeStatus(ctx context.Context) error {
	now := metav1.Now()
	cond := func(t corev1.NodeConditionType, status corev1.ConditionStatus, reason, message string) corev1.NodeCondition {
		return corev1.NodeCondition{Type: t, Status: status, Reason: reason, Message: message, LastHeartbeatTime: now, LastTransitionTime: now}
	}
	status := corev1.NodeStatus{
		Capacity:    a.cfg.Capacity,
		Allocatable: a.cfg.Capacity,
		Addresses: []corev1.NodeAddress{
			{Type: corev1.NodeInternalIP, Address: a.cfg.NodeIP},
			{Type: corev1.NodeHostName, Address: a.cfg.NodeName},
		},
		Conditions: []corev1.NodeCondition{
			cond(corev1.NodeReady, corev1.ConditionTrue, "KubeletReady", "cafe-node runs pods as local processes"),
			cond(corev1.NodeMemoryPressure, corev1.ConditionFalse, "KubeletHasSufficientMemory", ""),
			cond(corev1.NodeDiskPressure, corev1.ConditionFalse, "KubeletHasNoDiskPressure", ""),
			cond(corev1.NodePIDPressure, corev1.ConditionFalse, "KubeletHasSufficientPID", ""),
			cond(corev1.NodeNetworkUnavailable, corev1.ConditionFalse, "RouteCreated", "pods are addresses in network namespace "+a.cfg.Netns),
		},
		NodeInfo: corev1.NodeSystemInfo{
			KubeletVersion:          "v1.34.2-cafe-node",
			OperatingSystem:         "linux",
			Architecture:            "amd64",
			ContainerRuntimeVersion: "cafe-local://processes",
		},
	}
	patch, err := json.Marshal(map[string]any{"status": status})
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	_, err = a.cs.CoreV1().Nodes().Patch(ctx, a.cfg.NodeName, types.StrategicMergePatchType, patch, metav1.PatchOptions{}, "status")
	return err
}

// heartbeat renews the node's lease and re-reports its status until ctx
// ends.
func (a *Agent) heartbeat(ctx context.Context) {
	leaseTick := time.NewTicker(leaseRenewEvery)
	defer leaseTick.Stop()
	statusTick := time.NewTicker(statusReportEvery)
	defer statusTick.Stop()
	for {
		if err := a.renewLease(ctx); err != nil && ctx.Err() == nil {
			a.log.Error("renew node lease", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-leaseTick.C:
		case <-statusTick.C:
			if err := a.reportNodeStatus(ctx); err != nil && ctx.Err() == nil {
				a.log.Error("report node status", "err", err)
			}
		}
	}
}

func (a *Agent) renewLease(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	leases := a.cs.CoordinationV1().Leases(corev1.NamespaceNodeLease)
	now := metav1.NewMicroTime(time.Now())
	lease, err := leases.Get(ctx, a.cfg.NodeName, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		holder, seconds := a.cfg.NodeName, int32(leaseSeconds)
		_, err = leases.Create(ctx, &coordinationv1.Lease{
			ObjectMeta: metav1.ObjectMeta{Name: a.cfg.NodeName, Namespace: corev1.NamespaceNodeLease},
			Spec:       coordinationv1.LeaseSpec{HolderIdentity: &holder, LeaseDurationSeconds: &seconds, RenewTime: &now},
		}, metav1.CreateOptions{})
		return err
	}
	if err != nil {
		return err
	}
	lease.Spec.RenewTime = &now
	_, err = leases.Update(ctx, lease, metav1.UpdateOptions{})
	return err
}
