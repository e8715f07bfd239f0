//go:build integration

package cafedeployment_test

import (
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	appsv1alpha1 "github.com/cafe-dev/cafe/api/apps/v1alpha1"
	"github.com/cafe-dev/cafe/internal/platform"
	"github.com/cafe-dev/cafe/internal/testenv"
)

// A serving pod cannot be deleted directly; break-glass allows it, and the
// pod comes back under its name.
func TestServingPodsAreProtectedFromDirectDeletes(t *testing.T) {
	ns := env.Namespace(t)
	createReleased(t, ns, 3)
	pods := podsByName(t, ns)
	var name string
	for n := range pods {
		name = n
		break
	}
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}}
	var denial error
	testenv.Eventually(t, time.Minute, "the pod-protection policy to refuse a delete", func() (bool, string) {
		denial = env.Client.Delete(context.Background(), pod, client.DryRunAll)
		return denial != nil, fmt.Sprint(denial)
	})
	if !strings.Contains(denial.Error(), "serves traffic") || !strings.Contains(denial.Error(), "break-glass") {
		t.Fatalf("refusal should explain itself and name the break-glass, got: %v", denial)
	}
	patch := []byte(`{"metadata":{"annotations":{"apps.cafe.dev/break-glass":"test: replace a broken pod"}}}`)
	if err := env.Client.Patch(context.Background(), pod, client.RawPatch("application/merge-patch+json", patch)); err != nil {
		t.Fatal(err)
	}
	if err := env.Client.Delete(context.Background(), pod); err != nil {
		t.Fatalf("break-glass delete refused: %v", err)
	}
	testenv.Eventually(t, time.Minute, name+" back under its name", func() (bool, string) {
		p, ok := podsByName(t, ns)[name]
		return ok && p.uid != pods[name].uid && p.ready, fmt.Sprintf("%+v", p)
	})
}

// kubectl drain of a node holding all of a unit's pods never takes that unit
// below its floor: the per-unit PodDisruptionBudget refuses the second
// eviction until the first pod's replacement serves on the other node.
func TestDrainKeepsEveryUnitAboveItsFloor(t *testing.T) {
	ns := env.Namespace(t)
	// Both of unit-a's pods go to its first node: the other is cordoned
	// while they are created, and stays cordoned into the drain, so the
	// first evicted pod's replacement cannot serve before the budget has
	// refused the second eviction.
	node, other := platform.NodeName("unit-a", 0), platform.NodeName("unit-a", 1)
	setNodeSchedulable(t, other, false)
	defer setNodeSchedulable(t, other, true)
	createReleased(t, ns, 6) // two pods per unit, floor 1 per unit
	pods := podsByName(t, ns)
	var list corev1.PodList
	if err := env.Client.List(context.Background(), &list, client.InNamespace(ns)); err != nil {
		t.Fatal(err)
	}
	for _, p := range list.Items {
		if p.Labels[appsv1alpha1.UnitLabel] == "unit-a" && p.Spec.NodeName != node {
			t.Fatalf("pod %s is on %s, want every unit-a pod on %s", p.Name, p.Spec.NodeName, node)
		}
	}
	// The disruption controller must have computed the unit's budget before
	// a drain can evict anything; under load that takes a moment.
	testenv.Eventually(t, 2*time.Minute, "unit-a's PodDisruptionBudget to allow one disruption", func() (bool, string) {
		var pdb policyv1.PodDisruptionBudget
		if err := env.Client.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: "pay-unit-a"}, &pdb); err != nil {
			return false, err.Error()
		}
		return pdb.Status.ObservedGeneration == pdb.Generation && pdb.Status.DisruptionsAllowed == 1,
			fmt.Sprintf("%+v", pdb.Status)
	})
	minServing := map[string]int{"unit-a": 99, "unit-b": 99, "unit-c": 99}
	var mu sync.Mutex
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case <-stop:
				return
			case <-time.After(20 * time.Millisecond):
			}
			serving := map[string]int{}
			for _, p := range podsByName(t, ns) {
				if p.ready {
					serving[p.unit]++
				}
			}
			mu.Lock()
			for u := range minServing {
				minServing[u] = min(minServing[u], serving[u])
			}
			mu.Unlock()
		}
	}()
	kubectl := filepath.Join(testenv.BinDir(), "kubectl")
	var drainOut testenv.SyncBuffer
	drain := exec.Command(kubectl, "--kubeconfig", env.Platform.KubeconfigPath(), "drain", node,
		"--ignore-daemonsets", "--delete-emptydir-data", "--pod-selector", "test-ns="+ns, "--timeout=120s")
	drain.Stdout, drain.Stderr = &drainOut, &drainOut
	if err := drain.Start(); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, time.Minute, "the budget to refuse the second eviction", func() (bool, string) {
		return strings.Contains(drainOut.String(), "disruption budget"), drainOut.String()
	})
	// The replacement may now be scheduled; the drain's retry goes through
	// once it serves.
	setNodeSchedulable(t, other, true)
	err := drain.Wait()
	out := drainOut.String()
	close(stop)
	<-done
	defer exec.Command(kubectl, "--kubeconfig", env.Platform.KubeconfigPath(), "uncordon", node).Run()
	if err != nil {
		var pdbs policyv1.PodDisruptionBudgetList
		_ = env.Client.List(context.Background(), &pdbs, client.InNamespace(ns))
		for _, p := range pdbs.Items {
			t.Logf("budget %s: %+v", p.Name, p.Status)
		}
		t.Fatalf("kubectl drain %s: %v\n%s", node, err, tail(out, 1500))
	}
	t.Cleanup(func() {
		if !t.Failed() {
			return
		}
		var list corev1.PodList
		_ = env.Client.List(context.Background(), &list, client.InNamespace(ns))
		for _, p := range list.Items {
			t.Logf("pod %s node %s phase %s deleting %v conditions %v", p.Name, p.Spec.NodeName, p.Status.Phase, p.DeletionTimestamp != nil, p.Status.Conditions)
		}
		var sets appsv1alpha1.InPlaceSetList
		_ = env.Client.List(context.Background(), &sets, client.InNamespace(ns))
		for _, s := range sets.Items {
			t.Logf("set %s spec replicas %d partition %d status %+v", s.Name, *s.Spec.Replicas, *s.Spec.Partition, s.Status)
		}
	})
	after := waitAll(t, ns, 6, "pay:v1")
	mu.Lock()
	defer mu.Unlock()
	for u, m := range minServing {
		if m < 1 {
			t.Errorf("unit %s dropped to %d serving pods during the drain (floor 1)", u, m)
		}
	}
	for name := range pods {
		if _, ok := after[name]; !ok {
			t.Errorf("pod %s did not come back under its name", name)
		}
	}
	if !strings.Contains(out, "evicted") {
		t.Errorf("drain evicted nothing:\n%s", out)
	}

}

// A release decision must name the user who makes it: the confirmed-by
// annotation is checked against the authenticated user.
func TestReleaseDecisionsNameTheirAuthor(t *testing.T) {
	ns := env.Namespace(t)
	createReleased(t, ns, 3)
	try := func(by string) error {
		cd := get(t, ns)
		cd.Spec.Release.Abort = true
		if by != "" {
			cd.Annotations = map[string]string{appsv1alpha1.ConfirmedByAnnotation: by}
		}
		return env.Client.Update(context.Background(), cd, client.DryRunAll)
	}
	var err error
	testenv.Eventually(t, time.Minute, "the release-approver policy to refuse an unnamed decision", func() (bool, string) {
		err = try("")
		return err != nil, fmt.Sprint(err)
	})
	if !strings.Contains(err.Error(), "apps.cafe.dev/confirmed-by") || !strings.Contains(err.Error(), "cafe-admin") {
		t.Errorf("refusal should say which annotation and which user name: %v", err)
	}
	if err := try("mallory"); err == nil || !strings.Contains(err.Error(), "it says mallory") {
		t.Errorf("a decision in someone else's name was not refused: %v", err)
	}
	if err := try("cafe-admin"); err != nil {
		t.Errorf("a decision in the user's own name was refused: %v", err)
	}
	// Changes that leave spec.release alone need no name.
	cd := get(t, ns)
	cd.Spec.Strategy.Paused = true
	if err := env.Client.Update(context.Background(), cd, client.DryRunAll); err != nil {
		t.Errorf("a pause was refused: %v", err)
	}
}

func tail(s string, n int) string {
	if len(s) > n {
		return "..." + s[len(s)-n:]
	}
	return s
}
