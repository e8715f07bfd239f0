//go:build integration

package nodeagent_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"

	"github.com/cafe-dev/cafe/internal/nodeagent"
	"github.com/cafe-dev/cafe/internal/platform"
	"github.com/cafe-dev/cafe/internal/testenv"
)

var env *testenv.Env

func TestMain(m *testing.M) {
	testenv.Main(m, testenv.Options{
		Units:            []string{"unit-a", "unit-b"},
		NodesPerUnit:     1,
		LiveNodesPerUnit: 1,
		LiveImages:       map[string]string{"cafe/workload": "./internal/nodeagent/testdata/workload"},
	}, &env)
}

const gate corev1.PodConditionType = "example.com/gate"

func livePod(ns, name, unit, tag string, mutate ...func(*corev1.Pod)) *corev1.Pod {
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: corev1.PodSpec{
			NodeSelector:                  map[string]string{nodeagent.LiveLabel: "true", platform.UnitLabel: unit},
			TerminationGracePeriodSeconds: ptr.To[int64](5),
			Containers: []corev1.Container{{
				Name:  "app",
				Image: "cafe/workload:" + tag,
				ReadinessProbe: &corev1.Probe{
					ProbeHandler:     corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/readyz", Port: intstr.FromInt32(8080)}},
					PeriodSeconds:    1,
					FailureThreshold: 1,
				},
			}},
		},
	}
	for _, m := range mutate {
		m(pod)
	}
	return pod
}

func create(t *testing.T, pod *corev1.Pod) {
	t.Helper()
	if _, err := env.Kube.CoreV1().Pods(pod.Namespace).Create(context.Background(), pod, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}

func get(t *testing.T, ns, name string) *corev1.Pod {
	t.Helper()
	pod, err := env.Kube.CoreV1().Pods(ns).Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return pod
}

func condition(pod *corev1.Pod, t corev1.PodConditionType) (corev1.ConditionStatus, string) {
	for _, c := range pod.Status.Conditions {
		if c.Type == t {
			return c.Status, c.Reason
		}
	}
	return "", ""
}

func waitReady(t *testing.T, ns, name string, want corev1.ConditionStatus) *corev1.Pod {
	t.Helper()
	var pod *corev1.Pod
	testenv.Eventually(t, 30*time.Second, name+" Ready="+string(want), func() (bool, string) {
		pod = get(t, ns, name)
		status, reason := condition(pod, corev1.PodReady)
		return status == want, fmt.Sprintf("Ready=%s (%s) phase=%s containers=%+v", status, reason, pod.Status.Phase, pod.Status.ContainerStatuses)
	})
	return pod
}

// fetch asks the pod for its identity from the root namespace.
func fetch(pod *corev1.Pod) (string, error) {
	client := &http.Client{Timeout: 2 * time.Second}
	resp, err := client.Get("http://" + net.JoinHostPort(pod.Status.PodIP, "8080") + "/")
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return strings.TrimSpace(string(body)), err
}

func post(t *testing.T, pod *corev1.Pod, path string) {
	t.Helper()
	resp, err := http.Post("http://"+net.JoinHostPort(pod.Status.PodIP, "8080")+path, "text/plain", nil)
	if err == nil {
		resp.Body.Close()
	}
}

func pidOf(t *testing.T, pod *corev1.Pod) int {
	t.Helper()
	var pid int
	if _, err := fmt.Sscanf(pod.Status.ContainerStatuses[0].ContainerID, "cafe://%d", &pid); err != nil {
		t.Fatalf("container ID %q: %v", pod.Status.ContainerStatuses[0].ContainerID, err)
	}
	return pid
}

func alive(pid int) bool { return syscall.Kill(pid, 0) == nil }

func TestLivePodServesOnItsOwnAddressInItsUnit(t *testing.T) {
	ns := env.Namespace(t)
	create(t, livePod(ns, "web", "unit-a", "v1"))
	pod := waitReady(t, ns, "web", corev1.ConditionTrue)

	_, live, _ := net.ParseCIDR(env.Platform.LiveCIDR())
	node, err := env.Kube.CoreV1().Nodes().Get(context.Background(), pod.Spec.NodeName, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	_, nodeRange, _ := net.ParseCIDR(node.Spec.PodCIDR)
	if ip := net.ParseIP(pod.Status.PodIP); ip == nil || !live.Contains(ip) || !nodeRange.Contains(ip) {
		t.Fatalf("pod IP %q is not in the node's podCIDR %s inside the live range %s", pod.Status.PodIP, node.Spec.PodCIDR, live)
	}
	if pod.Spec.NodeName != platform.LiveNodeName("unit-a", 0) {
		t.Errorf("scheduled to %s, want the live node of unit-a", pod.Spec.NodeName)
	}
	if got, err := fetch(pod); err != nil || got != "v1 web unit-a" {
		t.Fatalf("GET / = %q, %v; want %q", got, err, "v1 web unit-a")
	}
	cs := pod.Status.ContainerStatuses[0]
	if cs.State.Running == nil || cs.Started == nil || !*cs.Started || cs.ImageID == "" || cs.RestartCount != 0 {
		t.Errorf("container status %+v: want running, started, an image ID and no restarts", cs)
	}

	// Another unit reaches it through the units' fabric.
	out, err := exec.Command("ip", "netns", "exec", env.Platform.UnitNetns("unit-b"), "bash", "-c",
		fmt.Sprintf(`exec 3<>/dev/tcp/%s/8080 && printf 'GET / HTTP/1.0\r\n\r\n' >&3 && cat <&3`, pod.Status.PodIP)).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "v1 web unit-a") {
		t.Errorf("from unit-b's namespace: %v: %s", err, out)
	}
}

func TestReadyNeedsEveryReadinessGate(t *testing.T) {
	ns := env.Namespace(t)
	create(t, livePod(ns, "gated", "unit-b", "v1", func(p *corev1.Pod) {
		p.Spec.ReadinessGates = []corev1.PodReadinessGate{{ConditionType: gate}}
	}))
	testenv.Eventually(t, 30*time.Second, "containers ready, pod held by its gate", func() (bool, string) {
		pod := get(t, ns, "gated")
		cr, _ := condition(pod, corev1.ContainersReady)
		ready, reason := condition(pod, corev1.PodReady)
		return cr == corev1.ConditionTrue && ready == corev1.ConditionFalse && reason == "ReadinessGatesNotReady", fmt.Sprintf("ContainersReady=%s Ready=%s (%s)", cr, ready, reason)
	})
	setGate := func(status corev1.ConditionStatus) {
		patch := fmt.Sprintf(`{"status":{"conditions":[{"type":%q,"status":%q}]}}`, gate, status)
		if _, err := env.Kube.CoreV1().Pods(ns).Patch(context.Background(), "gated", types.StrategicMergePatchType, []byte(patch), metav1.PatchOptions{}, "status"); err != nil {
			t.Fatal(err)
		}
	}
	setGate(corev1.ConditionTrue)
	waitReady(t, ns, "gated", corev1.ConditionTrue)
	setGate(corev1.ConditionFalse)
	pod := waitReady(t, ns, "gated", corev1.ConditionFalse)
	if status, _ := condition(pod, gate); status != corev1.ConditionFalse {
		t.Errorf("the agent changed the gate it does not own: %s", status)
	}
}

func TestImageChangeRestartsTheContainerInPlace(t *testing.T) {
	ns := env.Namespace(t)
	create(t, livePod(ns, "upgrade", "unit-a", "v1"))
	before := waitReady(t, ns, "upgrade", corev1.ConditionTrue)
	oldPID := pidOf(t, before)
	patch := `{"spec":{"containers":[{"name":"app","image":"cafe/workload:v2"}]}}`
	if _, err := env.Kube.CoreV1().Pods(ns).Patch(context.Background(), "upgrade", types.StrategicMergePatchType, []byte(patch), metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	var after *corev1.Pod
	testenv.Eventually(t, 30*time.Second, "running v2 and ready", func() (bool, string) {
		after = get(t, ns, "upgrade")
		cs := after.Status.ContainerStatuses[0]
		ready, _ := condition(after, corev1.PodReady)
		return cs.Image == "cafe/workload:v2" && cs.RestartCount == 1 && ready == corev1.ConditionTrue, fmt.Sprintf("%+v Ready=%s", cs, ready)
	})
	if after.UID != before.UID || after.Status.PodIP != before.Status.PodIP {
		t.Errorf("in-place restart changed the pod: UID %s→%s, IP %s→%s", before.UID, after.UID, before.Status.PodIP, after.Status.PodIP)
	}
	cs := after.Status.ContainerStatuses[0]
	if cs.ImageID == before.Status.ContainerStatuses[0].ImageID {
		t.Error("the image ID did not change with the image")
	}
	if last := cs.LastTerminationState.Terminated; last == nil || last.ExitCode != 0 {
		t.Errorf("last state %+v: want the old process's exit 0 after SIGTERM", cs.LastTerminationState)
	}
	if alive(oldPID) {
		t.Errorf("old process %d still runs", oldPID)
	}
	if got, err := fetch(after); err != nil || got != "v2 upgrade unit-a" {
		t.Errorf("GET / = %q, %v; want v2", got, err)
	}
}

func TestCrashedContainerRestartsWithItsExitCode(t *testing.T) {
	ns := env.Namespace(t)
	create(t, livePod(ns, "crash", "unit-b", "v1"))
	pod := waitReady(t, ns, "crash", corev1.ConditionTrue)
	post(t, pod, "/exit?code=3")
	testenv.Eventually(t, 30*time.Second, "restarted after exit 3 and ready", func() (bool, string) {
		pod = get(t, ns, "crash")
		cs := pod.Status.ContainerStatuses[0]
		ready, _ := condition(pod, corev1.PodReady)
		last := cs.LastTerminationState.Terminated
		return cs.RestartCount == 1 && last != nil && last.ExitCode == 3 && ready == corev1.ConditionTrue, fmt.Sprintf("%+v Ready=%s", cs, ready)
	})
}

func TestFailingReadinessProbeTakesThePodOutOfReady(t *testing.T) {
	ns := env.Namespace(t)
	create(t, livePod(ns, "probe", "unit-a", "v1"))
	pod := waitReady(t, ns, "probe", corev1.ConditionTrue)
	post(t, pod, "/unready")
	pod = waitReady(t, ns, "probe", corev1.ConditionFalse)
	if cs := pod.Status.ContainerStatuses[0]; cs.Ready || cs.State.Running == nil || cs.RestartCount != 0 {
		t.Errorf("container %+v: want running, not ready, not restarted", cs)
	}
}

func TestDeletionStopsTheProcessWithinTheGracePeriod(t *testing.T) {
	ns := env.Namespace(t)
	create(t, livePod(ns, "stubborn", "unit-a", "v1", func(p *corev1.Pod) {
		p.Spec.Containers[0].Env = []corev1.EnvVar{{Name: "IGNORE_TERM", Value: "1"}}
		p.Spec.TerminationGracePeriodSeconds = ptr.To[int64](2)
	}))
	pod := waitReady(t, ns, "stubborn", corev1.ConditionTrue)
	pid := pidOf(t, pod)
	began := time.Now()
	if err := env.Kube.CoreV1().Pods(ns).Delete(context.Background(), "stubborn", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, 30*time.Second, "the pod object gone", func() (bool, string) {
		_, err := env.Kube.CoreV1().Pods(ns).Get(context.Background(), "stubborn", metav1.GetOptions{})
		return apierrors.IsNotFound(err), fmt.Sprint(err)
	})
	if took := time.Since(began); took < 2*time.Second {
		t.Errorf("gone after %s: a process that ignores SIGTERM must get its 2 s grace period", took)
	}
	if alive(pid) {
		t.Errorf("process %d outlived its pod", pid)
	}
	out, _ := exec.Command("ip", "-n", env.Platform.UnitNetns("unit-a"), "addr", "show", "dev", "eth0").Output()
	if strings.Contains(string(out), " "+pod.Status.PodIP+"/32") {
		t.Errorf("pod address %s is still on unit-a's interface:\n%s", pod.Status.PodIP, out)
	}
	log, _ := os.ReadFile(fmt.Sprintf("%s/live-nodes/%s/pods/%s_stubborn_%s/app.log", env.Platform.DataDir(), pod.Spec.NodeName, ns, pod.UID))
	if !strings.Contains(string(log), "SIGTERM") {
		t.Errorf("the process never got SIGTERM; its log:\n%s", log)
	}
}
