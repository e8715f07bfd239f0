package platform

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
)

// Live pods' address plan (see docs/local-platform.md). The platform holding
// slot S (0..31) owns 100.(96+S).0.0/16, outside every simulated pod range:
//
//	100.(96+S).0.1        the root namespace's side of the units' fabric
//	                      (bridge cafebr<S>)
//	100.(96+S).0.(10+u)   unit u's own address (etcd members and the like)
//	100.(96+S).(1+k).0/24 live node k's podCIDR; .1 is the node's address
//
// Each unit is a network namespace, "cafe<S>-<unit>", joined to the bridge by
// a veth pair (root side cafe<S>u<u>, namespace side eth0). The bridge has no
// physical port, so these addresses are reachable from the root namespace
// and from every unit and from nowhere else; an unreachable route of low
// priority for the whole /16 keeps it so if the bridge is ever gone.
const (
	liveRangeBase = 96
	guardMetric   = "4000"
	maxLiveNodes  = 250 // node k's /24 is 100.(96+S).(1+k).0
	maxLiveUnits  = 200 // unit u's address is 100.(96+S).0.(10+u)
)

// unitNetwork is one platform's unit namespaces and their bridge.
type unitNetwork struct {
	slot  int
	units []string
}

// LiveCIDR is the live pods' range of slot's platform.
func liveCIDR(slot int) string { return fmt.Sprintf("100.%d.0.0/16", liveRangeBase+slot) }

func (n *unitNetwork) bridge() string { return fmt.Sprintf("cafebr%d", n.slot) }

// Netns is unit's network namespace.
func (n *unitNetwork) Netns(unit string) string { return fmt.Sprintf("cafe%d-%s", n.slot, unit) }

func (n *unitNetwork) hostVeth(u int) string { return fmt.Sprintf("cafe%du%d", n.slot, u) }

// UnitAddress is unit u's own address.
func (n *unitNetwork) UnitAddress(u int) string {
	return fmt.Sprintf("100.%d.0.%d", liveRangeBase+n.slot, 10+u)
}

// NodeCIDR is live node k's pod range and NodeIP its own address.
func (n *unitNetwork) NodeCIDR(k int) string {
	return fmt.Sprintf("100.%d.%d.0/24", liveRangeBase+n.slot, 1+k)
}

func (n *unitNetwork) NodeIP(k int) string {
	return fmt.Sprintf("100.%d.%d.1", liveRangeBase+n.slot, 1+k)
}

// setupUnitNetwork builds the namespaces of units, after removing whatever a
// killed platform of the same slot left.
func setupUnitNetwork(slot int, units []string) (*unitNetwork, error) {
	n := &unitNetwork{slot: slot, units: units}
	removeUnitNetwork(slot)
	cidr := liveCIDR(slot)
	gateway := strings.TrimSuffix(cidr, "0.0/16") + "0.1/16"
	steps := [][]string{
		{"route", "replace", "unreachable", cidr, "metric", guardMetric},
		{"link", "add", n.bridge(), "type", "bridge"},
		{"addr", "add", gateway, "dev", n.bridge()},
		{"link", "set", n.bridge(), "up"},
	}
	for u, unit := range units {
		ns := n.Netns(unit)
		steps = append(steps,
			[]string{"netns", "add", ns},
			[]string{"link", "add", n.hostVeth(u), "type", "veth", "peer", "name", "eth0", "netns", ns},
			[]string{"link", "set", n.hostVeth(u), "master", n.bridge(), "up"},
			[]string{"-n", ns, "addr", "add", n.UnitAddress(u) + "/16", "dev", "eth0"},
			[]string{"-n", ns, "link", "set", "eth0", "up"},
			[]string{"-n", ns, "link", "set", "lo", "up"},
		)
	}
	for _, s := range steps {
		if err := ipCommand(s...); err != nil {
			removeUnitNetwork(slot)
			return nil, fmt.Errorf("build the units' network: %w", err)
		}
	}
	return n, nil
}

// addNodeAddress puts a live node's own address on its unit's interface.
func (n *unitNetwork) addNodeAddress(unit string, k int) error {
	return ipCommand("-n", n.Netns(unit), "addr", "replace", n.NodeIP(k)+"/32", "dev", "eth0")
}

// Close removes the namespaces (their veths go with them), the bridge and
// the guard route.
func (n *unitNetwork) Close() { removeUnitNetwork(n.slot) }

// removeUnitNetwork removes slot's namespaces, bridge and guard route, if
// any. Processes still running in a namespace keep it alive until they end.
func removeUnitNetwork(slot int) {
	n := &unitNetwork{slot: slot}
	entries, _ := os.ReadDir("/var/run/netns")
	prefix := n.Netns("")
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), prefix) {
			_ = ipCommand("netns", "del", e.Name())
		}
	}
	if _, err := os.Stat("/sys/class/net/" + n.bridge()); err == nil {
		_ = ipCommand("link", "del", n.bridge())
	}
	if out, err := exec.Command("ip", "route", "show", "type", "unreachable", "exact", liveCIDR(slot)).Output(); err == nil && len(out) > 0 {
		_ = ipCommand("route", "del", "unreachable", liveCIDR(slot), "metric", guardMetric)
	}
}

func ipCommand(args ...string) error {
	out, err := exec.Command("ip", args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("ip %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}

// cut drops, silently, every packet unit sends into the units' fabric:
// blackhole routes more specific than the fabric's /16 win over it, so
// peers' packets still arrive but no answer ever leaves. Peers see silence
// (timeouts), not refusals, as when a data center's links are cut.
func (n *unitNetwork) cut(unit string) error {
	for _, half := range n.halves() {
		if err := ipCommand("-n", n.Netns(unit), "route", "replace", "blackhole", half); err != nil {
			return err
		}
	}
	return nil
}

// restore undoes cut.
func (n *unitNetwork) restore(unit string) error {
	for _, half := range n.halves() {
		if err := ipCommand("-n", n.Netns(unit), "route", "del", "blackhole", half); err != nil && !strings.Contains(err.Error(), "No such process") {
			return err
		}
	}
	return nil
}

// halves are the two /17s of the live range.
func (n *unitNetwork) halves() []string {
	b := liveRangeBase + n.slot
	return []string{fmt.Sprintf("100.%d.0.0/17", b), fmt.Sprintf("100.%d.128.0/17", b)}
}
