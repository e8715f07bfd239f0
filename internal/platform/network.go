package platform

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// Address plan of the local platform (see docs/local-platform.md):
//
//	100.64.0.0/10       all CAFE local platforms on this machine (shared
//	                    address space, RFC 6598: never routed on the internet)
//	100.(64+S).0.0/16   the simulated pod range of the platform holding slot
//	                    S (0..31)
//	100.(96+S).0.0/16   that platform's live pods and units (unitnet.go)
//	100.(64+S).N.0/24   the podCIDR of that platform's node N (N < 255)
//	100.(64+S).255.0/24 kwok's fallback range (never used: every node has a podCIDR)
//	10.96.0.0/16        Service cluster IPs (virtual: nothing routes them)
//
// A slot is held with an flock on a file under the lock directory, so
// platforms running in parallel (test packages) never share a range, and a
// killed platform's slot is free again (the kernel drops its lock).
const (
	podRangeSlots    = 32
	serviceCIDR      = "10.96.0.0/16"
	serviceClusterIP = "10.96.0.1"
	maxNodesPerRange = 255
)

// podRange is the pod address range one running platform owns.
type podRange struct {
	slot int
	lock *os.File
}

// CIDR is the whole range, e.g. 100.65.0.0/16.
func (r *podRange) CIDR() string { return fmt.Sprintf("100.%d.0.0/16", 64+r.slot) }

// NodeCIDR is node n's podCIDR.
func (r *podRange) NodeCIDR(n int) string { return fmt.Sprintf("100.%d.%d.0/24", 64+r.slot, n) }

// FallbackCIDR is given to kwok for nodes without a podCIDR.
func (r *podRange) FallbackCIDR() string { return fmt.Sprintf("100.%d.255.0/24", 64+r.slot) }

// Contains reports whether ip lies in this range.
func (r *podRange) Contains(ip string) bool {
	_, n, _ := net.ParseCIDR(r.CIDR())
	parsed := net.ParseIP(ip)
	return parsed != nil && n.Contains(parsed)
}

func (r *podRange) release() {
	if r.lock != nil {
		r.lock.Close()
		r.lock = nil
	}
}

func slotLockDir() string {
	if d := os.Getenv("CAFE_LOCK_DIR"); d != "" {
		return d
	}
	return filepath.Join(os.TempDir(), "cafe-pod-ranges")
}

// tryLockSlot takes slot's lock without waiting.
func tryLockSlot(slot int) (*os.File, error) {
	dir := slotLockDir()
	if err := os.MkdirAll(dir, 0o777); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(filepath.Join(dir, strconv.Itoa(slot)+".lock"), os.O_CREATE|os.O_RDWR, 0o666)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// acquirePodRange takes the slot this data directory used before (node
// podCIDRs cannot change), or else the first free one.
func acquirePodRange(previous int) (*podRange, error) {
	if previous >= 0 {
		f, err := tryLockSlot(previous)
		if err != nil {
			return nil, fmt.Errorf("pod range 100.%d.0.0/16 of this data directory is held by another running CAFE platform; stop it first (%v)", 64+previous, err)
		}
		return &podRange{slot: previous, lock: f}, nil
	}
	for slot := 0; slot < podRangeSlots; slot++ {
		if f, err := tryLockSlot(slot); err == nil {
			return &podRange{slot: slot, lock: f}, nil
		}
	}
	return nil, fmt.Errorf("all %d local pod ranges (100.64.0.0/10) are held by running CAFE platforms; stop one", podRangeSlots)
}

// IsRoot reports whether routes and network namespaces can be managed.
func IsRoot() bool { return os.Geteuid() == 0 }

// guardRoute makes the whole pod range unreachable from the root network
// namespace, so no packet for a simulated pod can ever leave the machine.
func guardRoute(r *podRange) error {
	out, err := exec.Command("ip", "route", "replace", "unreachable", r.CIDR()).CombinedOutput()
	if err != nil {
		return fmt.Errorf("add unreachable route for %s: %v: %s", r.CIDR(), err, strings.TrimSpace(string(out)))
	}
	return nil
}

// removeGuardRoute deletes the route guardRoute added, if it is there.
func removeGuardRoute(cidr string) error {
	if !hasUnreachableRoute(cidr) {
		return nil
	}
	out, err := exec.Command("ip", "route", "del", "unreachable", cidr).CombinedOutput()
	if err != nil {
		return fmt.Errorf("remove unreachable route for %s: %v: %s", cidr, err, strings.TrimSpace(string(out)))
	}
	return nil
}

// hasUnreachableRoute reports whether the root namespace has CAFE's guard
// route for cidr.
func hasUnreachableRoute(cidr string) bool {
	out, err := exec.Command("ip", "route", "show", "type", "unreachable", "exact", cidr).Output()
	return err == nil && strings.Contains(string(out), strings.TrimSuffix(cidr, "/16"))
}

// cleanStaleRoutes removes the guard routes and unit networks that killed
// platforms left behind: a slot whose lock nobody holds has no live owner.
func cleanStaleRoutes() {
	for slot := 0; slot < podRangeSlots; slot++ {
		r := &podRange{slot: slot}
		simulated, live := hasUnreachableRoute(r.CIDR()), hasUnreachableRoute(liveCIDR(slot))
		if !simulated && !live {
			continue
		}
		f, err := tryLockSlot(slot)
		if err != nil {
			continue // a live platform owns it
		}
		if simulated {
			_ = removeGuardRoute(r.CIDR())
		}
		if live {
			removeUnitNetwork(slot)
		}
		f.Close()
	}
}
