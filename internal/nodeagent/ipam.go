package nodeagent

import (
	"fmt"
	"net/netip"
	"os/exec"
	"strings"
	"sync"
)

// addressPool hands out the node's pod addresses: every address of its
// podCIDR except the network and broadcast addresses and the first host
// address (kept for the node itself).
type addressPool struct {
	mu     sync.Mutex
	prefix netip.Prefix
	used   map[netip.Addr]string // address → pod UID
}

func newAddressPool(cidr string) (*addressPool, error) {
	prefix, err := netip.ParsePrefix(cidr)
	if err != nil {
		return nil, fmt.Errorf("pod CIDR %q: %w", cidr, err)
	}
	if !prefix.Addr().Is4() || prefix.Bits() > 29 {
		return nil, fmt.Errorf("pod CIDR %s: want an IPv4 prefix of /29 or larger", cidr)
	}
	return &addressPool{prefix: prefix.Masked(), used: map[netip.Addr]string{}}, nil
}

// claim gives uid the address it already has (after an agent restart), if
// it lies in the pool and is free.
func (a *addressPool) claim(uid, ip string) bool {
	addr, err := netip.ParseAddr(ip)
	if err != nil || !a.usable(addr) {
		return false
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if owner, ok := a.used[addr]; ok && owner != uid {
		return false
	}
	a.used[addr] = uid
	return true
}

// allocate gives uid the lowest free address.
func (a *addressPool) allocate(uid string) (string, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for addr := a.prefix.Addr().Next().Next(); a.usable(addr); addr = addr.Next() {
		if owner, ok := a.used[addr]; !ok || owner == uid {
			a.used[addr] = uid
			return addr.String(), nil
		}
	}
	return "", fmt.Errorf("pod CIDR %s has no free address", a.prefix)
}

// release frees uid's address.
func (a *addressPool) release(ip string) {
	addr, err := netip.ParseAddr(ip)
	if err != nil {
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	delete(a.used, addr)
}

// usable: inside the prefix, not the network, the node's or the broadcast
// address.
func (a *addressPool) usable(addr netip.Addr) bool {
	if !a.prefix.Contains(addr) {
		return false
	}
	first := a.prefix.Addr()
	if addr == first || addr == first.Next() {
		return false
	}
	return a.prefix.Contains(addr.Next()) // the last address is the broadcast
}

// netnsAddresses adds and removes pod addresses on the unit namespace's
// interface. Each pod address is a /32: the interface's own prefix already
// routes the fabric, and the kernel answers ARP for every local address.
type netnsAddresses struct {
	netns, iface string
}

func (n netnsAddresses) add(ip string) error {
	return n.ip("addr", "replace", ip+"/32", "dev", n.iface)
}

func (n netnsAddresses) remove(ip string) error {
	err := n.ip("addr", "del", ip+"/32", "dev", n.iface)
	if err != nil && strings.Contains(err.Error(), "Cannot assign requested address") {
		return nil // already gone
	}
	return err
}

func (n netnsAddresses) ip(args ...string) error {
	if n.netns != "" {
		args = append([]string{"-n", n.netns}, args...)
	}
	out, err := exec.Command("ip", args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("ip %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}
