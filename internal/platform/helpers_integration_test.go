//go:build integration

package platform_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"

	"github.com/cafe-dev/cafe/internal/platform"
	"github.com/cafe-dev/cafe/internal/testenv"
)

func condition(p *corev1.Pod, t corev1.PodConditionType) corev1.ConditionStatus {
	for _, c := range p.Status.Conditions {
		if c.Type == t {
			return c.Status
		}
	}
	return ""
}

func status(p *corev1.Pod, container string) *corev1.ContainerStatus {
	for i := range p.Status.ContainerStatuses {
		if p.Status.ContainerStatuses[i].Name == container {
			return &p.Status.ContainerStatuses[i]
		}
	}
	return nil
}

func getPod(t *testing.T, ns, name string) *corev1.Pod {
	t.Helper()
	p, err := env.Kube.CoreV1().Pods(ns).Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func waitPod(t *testing.T, ns, name, what string, ok func(*corev1.Pod) bool) *corev1.Pod {
	t.Helper()
	return waitPodOf(t, env.Kube.CoreV1().Pods(ns), name, what, ok)
}

// waitPodOf polls pod name of pods (of any platform) until ok, every 20ms so
// that tests can time how long it took.
func waitPodOf(t *testing.T, pods typedcorev1.PodInterface, name, what string, ok func(*corev1.Pod) bool) *corev1.Pod {
	t.Helper()
	var last *corev1.Pod
	deadline := time.Now().Add(time.Minute)
	for {
		p, err := pods.Get(context.Background(), name, metav1.GetOptions{})
		if err == nil {
			last = p
			if ok(p) {
				return p
			}
		}
		if time.Now().After(deadline) {
			data, _ := json.Marshal(last)
			t.Fatalf("timed out waiting for pod %s: %s (%v): %s", name, what, err, data)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func setCondition(t *testing.T, ns, name string, typ corev1.PodConditionType, s corev1.ConditionStatus) {
	t.Helper()
	patch := fmt.Sprintf(`{"status":{"conditions":[{"type":%q,"status":%q,"lastTransitionTime":%q}]}}`, typ, s, time.Now().UTC().Format(time.RFC3339))
	if _, err := env.Kube.CoreV1().Pods(ns).Patch(context.Background(), name, types.StrategicMergePatchType, []byte(patch), metav1.PatchOptions{}, "status"); err != nil {
		t.Fatal(err)
	}
}

func setImage(t *testing.T, ns, name string, index int, image string) {
	t.Helper()
	patch := fmt.Sprintf(`[{"op":"replace","path":"/spec/containers/%d/image","value":%q}]`, index, image)
	if _, err := env.Kube.CoreV1().Pods(ns).Patch(context.Background(), name, types.JSONPatchType, []byte(patch), metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
}

func platformHasRoute(cidr string) bool {
	out, err := exec.Command("ip", "route", "show", "type", "unreachable", "exact", cidr).Output()
	return err == nil && strings.TrimSpace(string(out)) != ""
}

// components are the platform's children that listen on ports: etcd on
// its client and peer ports, the others on one each (kwok: its kubelet
// endpoint).
var components = map[string]int{"etcd": 2, "kube-apiserver": 1, "kube-controller-manager": 1, "kube-scheduler": 1, "kwok": 1}

// recordFootprint takes, while p runs, the footprint of its children once
// every component listens on its ports (kube-controller-manager and
// kube-scheduler open theirs a moment after Start returns), so that
// assertGone has all of them to look for.
func recordFootprint(t *testing.T, p *platform.Platform) testenv.Footprint {
	t.Helper()
	var f testenv.Footprint
	testenv.Eventually(t, 30*time.Second, "every component to listen on its ports", func() (bool, string) {
		f = testenv.RecordFootprint(p.PIDs())
		if f.Ports[p.APIServerPort()] != "kube-apiserver" {
			return false, fmt.Sprintf("the API server's port %d is not among %v", p.APIServerPort(), f.Ports)
		}
		for name, want := range components {
			if got := f.PortsOf(name); len(got) < want {
				return false, fmt.Sprintf("%s listens on ports %v, want at least %d", name, got, want)
			}
		}
		return true, ""
	})
	return f
}

// assertGone checks that a stopped platform left no process (children and
// whatever they started), listening port or guard route behind.
func assertGone(t *testing.T, f testenv.Footprint, cidr string) {
	t.Helper()
	for _, left := range f.Left() {
		t.Errorf("after Stop: %s", left)
	}
	if platformHasRoute(cidr) {
		t.Errorf("guard route %s still there after Stop", cidr)
	}
}

func lastIP(n *net.IPNet) net.IP {
	ip := make(net.IP, len(n.IP))
	for i := range n.IP {
		ip[i] = n.IP[i] | ^n.Mask[i]
	}
	return ip
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// podRangeSlot is the slot S of a platform's pod range 100.(64+S).0.0/16.
func podRangeSlot(cidr string) int {
	var second int
	fmt.Sscanf(cidr, "100.%d.", &second)
	return second - 64
}
