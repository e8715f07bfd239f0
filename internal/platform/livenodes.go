package platform

import (
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"strconv"
	"time"

	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/cafe-dev/cafe/internal/nodeagent"
)

// liveNodeIdentity is the user live nodes authenticate as.
const liveNodeIdentity = "cafe-node"

// LiveLabel marks live nodes (cafe-node sets it).
const LiveLabel = nodeagent.LiveLabel

// LiveNodeName is the name of a unit's i-th live node.
func LiveNodeName(unit string, i int) string { return fmt.Sprintf("%s-live-%d", unit, i) }

// startLiveNodes builds the units' network and starts one cafe-node per
// live node, each in its unit's namespace with a podCIDR of its own.
func (p *Platform) startLiveNodes(ctx context.Context, cs kubernetes.Interface) error {
	if p.opts.LiveNodesPerUnit == 0 {
		return nil
	}
	if !IsRoot() {
		p.opts.Log("not running as root: no live nodes (they need network namespaces); pods run on simulated nodes only")
		return nil
	}
	binary := p.opts.NodeAgentBinary
	if err := bindLiveNodeRole(ctx, cs); err != nil {
		return err
	}
	net, err := setupUnitNetwork(p.podRange.slot, p.opts.Units)
	if err != nil {
		return err
	}
	p.unitNet = net
	k := 0
	for _, unit := range p.opts.Units {
		for i := 0; i < p.opts.LiveNodesPerUnit; i++ {
			name := LiveNodeName(unit, i)
			if err := net.addNodeAddress(unit, k); err != nil {
				return err
			}
			args := []string{
				"--kubeconfig=" + p.componentKubeconfig(liveNodeIdentity),
				"--node-name=" + name,
				"--unit=" + unit,
				"--netns=" + net.Netns(unit),
				"--pod-cidr=" + net.NodeCIDR(k),
				"--node-ip=" + net.NodeIP(k),
				"--images=" + p.opts.LiveImages,
				"--data-dir=" + filepath.Join(p.opts.DataDir, "live-nodes", name),
				"--pods=" + strconv.Itoa(p.opts.NodePods),
			}
			if _, err := p.startNamed(name, binary, args); err != nil {
				return err
			}
			k++
		}
	}
	return nil
}

// bindLiveNodeRole gives live nodes kubelet's permissions (the built-in
// system:node role).
func bindLiveNodeRole(ctx context.Context, cs kubernetes.Interface) error {
	binding := &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "cafe:live-nodes"},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "system:node"},
		Subjects:   []rbacv1.Subject{{APIGroup: rbacv1.GroupName, Kind: rbacv1.UserKind, Name: liveNodeIdentity}},
	}
	_, err := cs.RbacV1().ClusterRoleBindings().Create(ctx, binding, metav1.CreateOptions{})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("let live nodes act as nodes: %w", err)
	}
	return nil
}

// liveNodeCount is how many live nodes Start waits for.
func (p *Platform) liveNodeCount() int {
	if p.unitNet == nil {
		return 0
	}
	return len(p.opts.Units) * p.opts.LiveNodesPerUnit
}

// UnitNetns is unit's network namespace, where its live pods run; empty
// without live nodes.
func (p *Platform) UnitNetns(unit string) string {
	if p.unitNet == nil {
		return ""
	}
	return p.unitNet.Netns(unit)
}

// UnitAddress is unit's own address in the units' fabric (for services a
// unit hosts beside its pods, such as a store's member); empty without live
// nodes.
func (p *Platform) UnitAddress(unit string) string {
	if p.unitNet == nil {
		return ""
	}
	for u, name := range p.opts.Units {
		if name == unit {
			return p.unitNet.UnitAddress(u)
		}
	}
	return ""
}

// LiveCIDR is the range of live pods and units; empty without live nodes.
func (p *Platform) LiveCIDR() string {
	if p.unitNet == nil {
		return ""
	}
	return liveCIDR(p.unitNet.slot)
}

// StartInUnit runs binary as a child of the platform called name, inside
// unit's network namespace (or in the root namespace when unit is empty),
// for services that belong to a unit besides its pods, such as a store's
// member or a unit's router. The platform stops it with everything else;
// its log is name.log in the log directory.
func (p *Platform) StartInUnit(name, unit, binary string, args []string) (pid int, err error) {
	if unit != "" {
		ns := p.UnitNetns(unit)
		if ns == "" {
			return 0, fmt.Errorf("unit %q has no network namespace: the platform runs without live nodes", unit)
		}
		args = append([]string{"netns", "exec", ns, binary}, args...)
		binary = "/usr/sbin/ip"
		if path, err := exec.LookPath("ip"); err == nil {
			binary = path
		}
	}
	proc, err := p.startNamed(name, binary, args)
	if err != nil {
		return 0, err
	}
	return proc.pid(), nil
}

// KillChild ends the named child at once with SIGKILL, as a crash would
// (for outage drills); it returns when the child is gone.
func (p *Platform) KillChild(name string) error {
	target := p.child(name)
	if target == nil {
		return fmt.Errorf("no child called %s", name)
	}
	target.kill()
	return nil
}

// StopChild ends the named child as Stop does (SIGTERM, then SIGKILL after
// ten seconds).
func (p *Platform) StopChild(name string) error {
	c := p.child(name)
	if c == nil {
		return fmt.Errorf("no child called %s", name)
	}
	c.stop(10 * time.Second)
	return nil
}

// child is the newest child called name.
func (p *Platform) child(name string) *process {
	p.mu.Lock()
	defer p.mu.Unlock()
	var found *process
	for _, c := range p.children {
		if c.name == name {
			found = c
		}
	}
	return found
}

// BinDir holds the platform's binaries.
func (p *Platform) BinDir() string { return p.opts.BinDir }

// NodeAgentBinary is the live nodes' program.
func (p *Platform) NodeAgentBinary() string { return p.opts.NodeAgentBinary }

// CutUnit cuts unit's network silently: packets from its namespace into the
// fabric are dropped (see unitNetwork.cut). RestoreUnit mends it.
func (p *Platform) CutUnit(unit string) error {
	if p.UnitNetns(unit) == "" {
		return fmt.Errorf("unit %q has no network namespace", unit)
	}
	return p.unitNet.cut(unit)
}

// RestoreUnit undoes CutUnit.
func (p *Platform) RestoreUnit(unit string) error {
	if p.UnitNetns(unit) == "" {
		return fmt.Errorf("unit %q has no network namespace", unit)
	}
	return p.unitNet.restore(unit)
}

// LiveNodesPerUnit is how many live nodes each unit runs.
func (p *Platform) LiveNodesPerUnit() int { return p.opts.LiveNodesPerUnit }
