//go:build integration

package platform_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

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
	var last *corev1.Pod
	testenv.Eventually(t, time.Minute, "pod "+name+": "+what, func() (bool, string) {
		p, err := env.Kube.CoreV1().Pods(ns).Get(context.Background(), name, metav1.GetOptions{})
		if err != nil {
			return false, err.Error()
		}
		last = p
		data, _ := json.Marshal(p.Status)
		return ok(p), string(data)
	})
	return last
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

func assertGone(t *testing.T, pids map[string]int, apiPort int, cidr string) {
	t.Helper()
	if len(pids) < 5 {
		t.Errorf("expected 5 children, knew of %v", pids)
	}
	for name, pid := range pids {
		if syscall.Kill(pid, 0) == nil {
			t.Errorf("%s (pid %d) still runs after Stop", name, pid)
		}
	}
	if c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", apiPort)); err == nil {
		c.Close()
		t.Errorf("API server port %d still accepts connections after Stop", apiPort)
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
