// Package netlab gives router tests and benchmarks backends with real,
// non-loopback addresses (EndpointSlices refuse loopback ones) that never
// leave the machine: one network namespace per unit, joined to the root
// namespace by a veth pair, with a /24 of its own from 198.18.0.0/15, the
// RFC 2544 benchmarking range. The local platform's pod ranges
// (100.64.0.0/10) are not touched.
//
// Address plan: a lab holds slot S (0..127), taken with an flock on
// $TMPDIR/cafe-router-labs/S.lock so parallel runs never collide and a
// killed run's slot is free again. Unit i (i < 4) of the lab gets /24
// number k = 4*S + i: 198.(18 + k/256).(k%256).0/24, the root side .1 and
// the namespace side .2. The namespace is "cafe-rt-S-<unit>" and the
// root-side veth "crtShI". Needs root.
package netlab

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// Slots and units per lab: 128 slots of 4 /24s fill 198.18.0.0/15.
const (
	Slots        = 128
	UnitsPerSlot = 4
)

// Lab is one run's set of unit namespaces.
type Lab struct {
	Slot  int
	Units []*Unit
	lock  *os.File
}

// Unit is one unit's network namespace.
type Unit struct {
	Name string
	// Netns is the namespace's name under /var/run/netns.
	Netns string
	// HostVeth is the root-side interface.
	HostVeth string
	// HostIP is the root side's address; NetnsIP the namespace's, where
	// backends listen.
	HostIP, NetnsIP string
}

// Setup creates a lab for units, after removing what killed runs left.
func Setup(units []string) (*Lab, error) {
	if os.Geteuid() != 0 {
		return nil, errors.New("netlab: creating network namespaces and veth pairs needs root; run the router tests as root (sudo -E go test -tags integration ./test/router/)")
	}
	if len(units) == 0 || len(units) > UnitsPerSlot {
		return nil, fmt.Errorf("netlab: a lab has 1..%d units, not %d", UnitsPerSlot, len(units))
	}
	CleanStale()
	for slot := 0; slot < Slots; slot++ {
		lock, err := tryLock(slot)
		if err != nil {
			continue
		}
		lab := &Lab{Slot: slot, lock: lock}
		removeSlot(slot) // a killed run that held this slot
		for i, name := range units {
			u, err := lab.addUnit(i, name)
			if err != nil {
				lab.Close()
				return nil, err
			}
			lab.Units = append(lab.Units, u)
		}
		return lab, nil
	}
	return nil, fmt.Errorf("netlab: all %d lab slots of 198.18.0.0/15 are held by running tests", Slots)
}

// Unit returns the lab's unit by name, or nil.
func (l *Lab) Unit(name string) *Unit {
	for _, u := range l.Units {
		if u.Name == name {
			return u
		}
	}
	return nil
}

func (l *Lab) addUnit(i int, name string) (*Unit, error) {
	k := UnitsPerSlot*l.Slot + i
	prefix := fmt.Sprintf("198.%d.%d.", 18+k/256, k%256)
	u := &Unit{
		Name:     name,
		Netns:    fmt.Sprintf("%s%d-%s", netnsPrefix, l.Slot, name),
		HostVeth: fmt.Sprintf("crt%dh%d", l.Slot, i),
		HostIP:   prefix + "1",
		NetnsIP:  prefix + "2",
	}
	peer := fmt.Sprintf("crt%dn%d", l.Slot, i)
	steps := [][]string{
		{"netns", "add", u.Netns},
		{"link", "add", u.HostVeth, "type", "veth", "peer", "name", peer, "netns", u.Netns},
		{"addr", "add", u.HostIP + "/24", "dev", u.HostVeth},
		{"link", "set", u.HostVeth, "up"},
		{"-n", u.Netns, "addr", "add", u.NetnsIP + "/24", "dev", peer},
		{"-n", u.Netns, "link", "set", peer, "up"},
		{"-n", u.Netns, "link", "set", "lo", "up"},
	}
	for _, s := range steps {
		if err := ip(s...); err != nil {
			return nil, err
		}
	}
	return u, nil
}

// Close removes the lab's namespaces and veths and frees its slot.
func (l *Lab) Close() error {
	if l.lock == nil {
		return nil
	}
	removeSlot(l.Slot)
	err := l.lock.Close()
	l.lock = nil
	return err
}

// Listen opens a TCP listener on the unit's address inside its namespace.
// The socket stays in the namespace; it can be served from any goroutine.
func (u *Unit) Listen(port int) (net.Listener, error) {
	var l net.Listener
	err := inNetns(u.Netns, func() error {
		var err error
		l, err = net.Listen("tcp", net.JoinHostPort(u.NetnsIP, strconv.Itoa(port)))
		return err
	})
	return l, err
}

// inNetns runs fn on an OS thread switched into the named namespace. It runs
// on its own goroutine: if the thread cannot be switched back, the goroutine
// ends with the thread locked, and the Go runtime discards the thread.
func inNetns(name string, fn func() error) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		home, err := os.Open("/proc/thread-self/ns/net")
		if err != nil {
			runtime.UnlockOSThread()
			errc <- err
			return
		}
		defer home.Close()
		target, err := os.Open(filepath.Join("/var/run/netns", name))
		if err != nil {
			runtime.UnlockOSThread()
			errc <- err
			return
		}
		defer target.Close()
		if err := unix.Setns(int(target.Fd()), unix.CLONE_NEWNET); err != nil {
			runtime.UnlockOSThread()
			errc <- fmt.Errorf("enter network namespace %s: %w", name, err)
			return
		}
		errc <- fn()
		if unix.Setns(int(home.Fd()), unix.CLONE_NEWNET) == nil {
			runtime.UnlockOSThread()
		}
	}()
	return <-errc
}

const netnsPrefix = "cafe-rt-"

// CleanStale removes the namespaces and veths of slots nobody holds: labs
// of runs that were killed before their clean-up.
func CleanStale() {
	for _, slot := range slotsInUse() {
		lock, err := tryLock(slot)
		if err != nil {
			continue // a live run owns it
		}
		removeSlot(slot)
		lock.Close()
	}
}

// slotsInUse lists the slots that have a namespace.
func slotsInUse() []int {
	out, err := exec.Command("ip", "netns", "list").Output()
	if err != nil {
		return nil
	}
	seen := map[int]bool{}
	var slots []int
	for _, line := range strings.Split(string(out), "\n") {
		name, _, _ := strings.Cut(strings.TrimSpace(line), " ")
		rest, ok := strings.CutPrefix(name, netnsPrefix)
		if !ok {
			continue
		}
		num, _, _ := strings.Cut(rest, "-")
		if s, err := strconv.Atoi(num); err == nil && !seen[s] {
			seen[s] = true
			slots = append(slots, s)
		}
	}
	return slots
}

// removeSlot deletes a slot's veths (both ends at once, synchronously)
// and namespaces.
func removeSlot(slot int) {
	for i := 0; i < UnitsPerSlot; i++ {
		_ = exec.Command("ip", "link", "del", fmt.Sprintf("crt%dh%d", slot, i)).Run()
	}
	out, _ := exec.Command("ip", "netns", "list").Output()
	prefix := fmt.Sprintf("%s%d-", netnsPrefix, slot)
	for _, line := range strings.Split(string(out), "\n") {
		name, _, _ := strings.Cut(strings.TrimSpace(line), " ")
		if strings.HasPrefix(name, prefix) {
			_ = exec.Command("ip", "netns", "del", name).Run()
		}
	}
}

func lockDir() string { return filepath.Join(os.TempDir(), "cafe-router-labs") }

func tryLock(slot int) (*os.File, error) {
	if err := os.MkdirAll(lockDir(), 0o777); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(filepath.Join(lockDir(), strconv.Itoa(slot)+".lock"), os.O_CREATE|os.O_RDWR, 0o666)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

func ip(args ...string) error {
	out, err := exec.Command("ip", args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("ip %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}
