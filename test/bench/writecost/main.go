// Command writecost measures the API server's CPU per pod write, by kind of
// write (create, delete, a patch or a PUT of the spec or of the status), on
// the local platform: what a release by recreation (a ReplicaSet's delete
// and create) and one in place (a patch) cost the API server per pod.
//
//	go run ./test/bench/writecost -pods 500
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"

	"github.com/cafe-dev/cafe/internal/platform"
	"github.com/cafe-dev/cafe/internal/testenv"
)

var (
	pods   = flag.Int("pods", 500, "pods written per round")
	rounds = flag.Int("rounds", 3, "rounds per kind of write")
	binDir = flag.String("bin-dir", "bin", "directory with the control-plane binaries")
)

func main() {
	flag.Parse()
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "error:", err)
		os.Exit(1)
	}
}

func run() error {
	ctx := context.Background()
	p, cfg, stop, err := platform.StartThrowaway(ctx, platform.Options{BinDir: *binDir})
	if err != nil {
		return err
	}
	defer stop()
	cfg.QPS, cfg.Burst = -1, -1
	pcfg := rest.CopyConfig(cfg)
	pcfg.ContentType = runtime.ContentTypeProtobuf
	pcfg.AcceptContentTypes = runtime.ContentTypeProtobuf + "," + runtime.ContentTypeJSON
	cs, err := kubernetes.NewForConfig(pcfg)
	if err != nil {
		return err
	}
	ns := "default"
	api := p.PIDs()["kube-apiserver"]
	// A node no kubelet (nor kwok) runs: its pods are written by no one but
	// this command, and, the node existing, the pod garbage collector leaves
	// them alone.
	if _, err := cs.CoreV1().Nodes().Create(ctx, &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: nodeName}}, metav1.CreateOptions{}); err != nil {
		return err
	}
	create := func(round int) error {
		return eachIndex(*pods, func(i int) error {
			_, err := cs.CoreV1().Pods(ns).Create(ctx, newPod(round, i), metav1.CreateOptions{})
			return err
		})
	}
	remove := func(round int) error {
		return eachIndex(*pods, func(i int) error {
			return cs.CoreV1().Pods(ns).Delete(ctx, newPod(round, i).Name, metav1.DeleteOptions{GracePeriodSeconds: ptr.To[int64](0)})
		})
	}
	// Pod creation and deletion, as a ReplicaSet's rolling update makes them.
	var creates, deletes []float64
	for r := 0; r < *rounds; r++ {
		perCreate, err := measure(api, func() error { return create(r) })
		if err != nil {
			return fmt.Errorf("create: %w", err)
		}
		perDelete, err := measure(api, func() error { return remove(r) })
		if err != nil {
			return fmt.Errorf("delete: %w", err)
		}
		creates, deletes = append(creates, perCreate), append(deletes, perDelete)
	}
	if err := create(*rounds); err != nil {
		return err
	}

	n := 0
	kinds := []struct {
		name  string
		write func(pod *corev1.Pod) error
	}{
		// No write carries a resourceVersion: kube-controller-manager
		// marks the pods of a node without a kubelet not ready after a
		// while, and the writes are measured, not that race.
		{"spec: strategic merge patch (JSON)", func(pod *corev1.Pod) error {
			b, _ := json.Marshal(map[string]any{"metadata": map[string]any{"annotations": map[string]string{"n": strconv.Itoa(n)}}})
			_, err := cs.CoreV1().Pods(ns).Patch(ctx, pod.Name, types.StrategicMergePatchType, b, metav1.PatchOptions{})
			return err
		}},
		{"spec: PUT, protobuf", func(pod *corev1.Pod) error {
			pod = pod.DeepCopy()
			pod.Annotations = map[string]string{"n": strconv.Itoa(n)}
			pod.ResourceVersion = ""
			_, err := cs.CoreV1().Pods(ns).Update(ctx, pod, metav1.UpdateOptions{})
			return err
		}},
		{"status: strategic merge patch (JSON)", func(pod *corev1.Pod) error {
			b, _ := json.Marshal(map[string]any{"status": map[string]any{"conditions": []any{map[string]any{"type": "example.com/c", "status": cond(n), "lastTransitionTime": time.Now().UTC().Format(time.RFC3339)}}}})
			_, err := cs.CoreV1().Pods(ns).Patch(ctx, pod.Name, types.StrategicMergePatchType, b, metav1.PatchOptions{}, "status")
			return err
		}},
		{"status: PUT, protobuf", func(pod *corev1.Pod) error {
			pod = pod.DeepCopy()
			setCondition(pod, corev1.PodCondition{Type: "example.com/c", Status: corev1.ConditionStatus(cond(n)), LastTransitionTime: metav1.Now()})
			pod.ResourceVersion = ""
			_, err := cs.CoreV1().Pods(ns).UpdateStatus(ctx, pod, metav1.UpdateOptions{})
			return err
		}},
	}
	fmt.Printf("API server CPU per write, %d pods, %d rounds each (median)\n", *pods, *rounds)
	fmt.Printf("  %-40s %.2f ms  (%s)\n", "create", median(creates), join(creates))
	fmt.Printf("  %-40s %.2f ms  (%s)\n", "delete (grace period 0)", median(deletes), join(deletes))
	for _, k := range kinds {
		var per []float64
		for r := 0; r < *rounds; r++ {
			n++
			list, err := cs.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
			if err != nil {
				return err
			}
			v, err := measure(api, func() error {
				return eachIndex(len(list.Items), func(i int) error { return k.write(&list.Items[i]) })
			})
			if err != nil {
				return fmt.Errorf("%s: %w", k.name, err)
			}
			per = append(per, v)
		}
		fmt.Printf("  %-40s %.2f ms  (%s)\n", k.name, median(per), join(per))
	}
	return nil
}

func cond(n int) string {
	if n%2 == 0 {
		return "True"
	}
	return "False"
}

func setCondition(pod *corev1.Pod, c corev1.PodCondition) {
	for i := range pod.Status.Conditions {
		if pod.Status.Conditions[i].Type == c.Type {
			pod.Status.Conditions[i] = c
			return
		}
	}
	pod.Status.Conditions = append(pod.Status.Conditions, c)
}

// eachIndex calls write for 0..n-1, 32 at a time, and returns the first
// error.
func eachIndex(n int, write func(int) error) error {
	var wg sync.WaitGroup
	var mu sync.Mutex
	var first error
	sem := make(chan struct{}, 32)
	for i := 0; i < n; i++ {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			if err := write(i); err != nil {
				mu.Lock()
				if first == nil {
					first = err
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return first
}

// measure runs n writes on a quiet API server and returns its CPU per
// write, in milliseconds, including the watch events the writes caused.
func measure(api int, writes func() error) (float64, error) {
	time.Sleep(time.Second)
	before, err := testenv.CPUTime(api)
	if err != nil {
		return 0, err
	}
	if err := writes(); err != nil {
		return 0, err
	}
	time.Sleep(500 * time.Millisecond) // let the watch fan-out finish
	after, err := testenv.CPUTime(api)
	if err != nil {
		return 0, err
	}
	return float64(after-before) / float64(time.Millisecond) / float64(*pods), nil
}

// nodeName is the node without a kubelet that the measured pods are bound to.
const nodeName = "writecost-no-kubelet"

// newPod is a pod bound to a node without a kubelet, so that no controller,
// scheduler or simulated kubelet writes it in turn: what is measured is the
// write alone. It carries what CAFE's pods carry (labels,
// an owner, a readiness gate, node affinity).
func newPod(round, i int) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("w-%d-%d", round, i), Labels: map[string]string{"app": "w", "apps.cafe.dev/unit": "unit-a", "apps.cafe.dev/revision": "w-1"}},
		Spec: corev1.PodSpec{NodeName: nodeName,
			ReadinessGates: []corev1.PodReadinessGate{{ConditionType: "apps.cafe.dev/serving"}},
			Containers:     []corev1.Container{{Name: "app", Image: "w:v1"}}},
	}
}

func median(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	return s[len(s)/2]
}

func join(v []float64) string {
	var out []string
	for _, x := range v {
		out = append(out, fmt.Sprintf("%.2f", x))
	}
	return strings.Join(out, ", ")
}
