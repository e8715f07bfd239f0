package main

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"time"

	dto "github.com/prometheus/client_model/go"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	appsv1alpha1 "github.com/cafe-dev/cafe/api/apps/v1alpha1"
)

// scaleScenario creates -scale-workloads CafeDeployments of -pods pods,
// reports the process's peak RSS once all serve (the controller's caches of
// every pod dominate it), and then counts reconciles while nothing changes
// but node heartbeats.
func scaleScenario(ctx context.Context, c client.Client, cs kubernetes.Interface) error {
	ns := "bench-scale"
	if err := namespace(ctx, c, ns); err != nil {
		return err
	}
	all := intstr.FromString("100%")
	start := time.Now()
	for i := 0; i < *scale; i++ {
		cd := &appsv1alpha1.CafeDeployment{
			ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("w%02d", i), Namespace: ns},
			Spec: appsv1alpha1.CafeDeploymentSpec{
				Replicas: ptr.To(int32(*pods)),
				Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": fmt.Sprintf("w%02d", i)}},
				Topology: appsv1alpha1.Topology{Units: []appsv1alpha1.UnitSpec{{Name: "unit-a"}, {Name: "unit-b"}, {Name: "unit-c"}}},
				Strategy: appsv1alpha1.CafeDeploymentStrategy{Type: appsv1alpha1.ReleaseBatch, BatchSize: &all,
					TrafficHandoff: appsv1alpha1.TrafficHandoff{DrainSeconds: ptr.To[int32](0), MaxWaitSeconds: ptr.To[int32](60)}},
				Template: corev1.PodTemplateSpec{
					ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": fmt.Sprintf("w%02d", i)}},
					Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "bench:v1"}}},
				},
			},
		}
		if err := c.Create(ctx, cd); err != nil {
			return err
		}
	}
	want := int32(*pods * *scale)
	var progress string
	if err := waitFor(ctx, "every workload serving", func() (bool, error) {
		var list appsv1alpha1.CafeDeploymentList
		if err := c.List(ctx, &list, client.InNamespace(ns)); err != nil {
			return false, err
		}
		var ready int32
		var behind []string
		for _, cd := range list.Items {
			if cd.Status.Release.Phase == appsv1alpha1.ReleaseCompleted {
				ready += cd.Status.ReadyReplicas
			}
			if cd.Status.Release.Phase != appsv1alpha1.ReleaseCompleted || cd.Status.ReadyReplicas != int32(*pods) {
				behind = append(behind, fmt.Sprintf("%s (%s, %d ready)", cd.Name, cd.Status.Release.Phase, cd.Status.ReadyReplicas))
			}
		}
		progress = fmt.Sprintf("%d of %d pods ready in completed workloads; not there yet: %s", ready, want, strings.Join(behind, ", "))
		return ready == want, nil
	}); err != nil {
		return fmt.Errorf("%w (%s)", err, progress)
	}
	fmt.Printf("scale: %d pods in %d CafeDeployments serving after %.0fs\n", want, *scale, time.Since(start).Seconds())
	fmt.Printf("  peak RSS of the process running CAFE's controllers: %d MiB (target 300 MiB)\n", peakRSSKiB()/1024)
	if *heapProfile != "" {
		if err := writeHeapProfile(*heapProfile); err != nil {
			return err
		}
	}
	// Let the last status refreshes land before counting.
	time.Sleep(10 * time.Second)
	wctx, stopWatching := context.WithCancel(ctx)
	defer stopWatching()
	writers, err := watchIdleWriters(wctx, cs, ns)
	if err != nil {
		return err
	}
	before := reconciles()
	time.Sleep(*idle)
	after := reconciles()
	stopWatching()
	total := 0.0
	for k, v := range after {
		total += v - before[k]
	}
	fmt.Printf("  controller_runtime_reconcile_total over %s idle (node heartbeats only): %+.0f\n", *idle, total)
	for k, v := range after {
		if d := v - before[k]; d != 0 {
			fmt.Printf("    %s: %+.0f\n", k, d)
		}
	}
	writers.report()
	return nil
}

// peakRSSKiB reads VmHWM, the process's peak resident set size.
func peakRSSKiB() int {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(line, "VmHWM:") {
			n, _ := strconv.Atoi(strings.Fields(line)[1])
			return n
		}
	}
	return 0
}

// reconciles returns controller_runtime_reconcile_total by controller and
// result.
func reconciles() map[string]float64 {
	out := map[string]float64{}
	eachMetric(func(family string, m *dto.Metric, label map[string]string) {
		if family == "controller_runtime_reconcile_total" {
			out[label["controller"]+"/"+label["result"]] += m.GetCounter().GetValue()
		}
	})
	return out
}

// writeHeapProfile records the live heap after a collection, to show what
// the controllers' caches hold once every pod serves.
func writeHeapProfile(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	runtime.GC()
	return pprof.WriteHeapProfile(f)
}
