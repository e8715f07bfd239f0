package main

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
)

// idleWriters tallies, while the workloads should be idle, every pod and
// PodDisruptionBudget change in ns by the field manager that made it, so a
// reconcile count that moves can be traced to the writer that woke it.
type idleWriters struct {
	mu     sync.Mutex
	counts map[string]int
	// pods counts changes per pod; samples keeps the last state of a few,
	// to show what keeps changing.
	pods    map[string]int
	samples map[string]*corev1.Pod
}

// watchIdleWriters watches pods and PodDisruptionBudgets in ns until ctx ends.
func watchIdleWriters(ctx context.Context, cs kubernetes.Interface, ns string) (*idleWriters, error) {
	w := &idleWriters{counts: map[string]int{}, pods: map[string]int{}, samples: map[string]*corev1.Pod{}}
	// A one-item list gives the current resource version, so the watches
	// start now and carry changes only.
	now, err := cs.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{Limit: 1})
	if err != nil {
		return nil, err
	}
	from := metav1.ListOptions{ResourceVersion: now.ResourceVersion}
	pods, err := cs.CoreV1().Pods(ns).Watch(ctx, from)
	if err != nil {
		return nil, err
	}
	pdbs, err := cs.PolicyV1().PodDisruptionBudgets(ns).Watch(ctx, from)
	if err != nil {
		pods.Stop()
		return nil, err
	}
	for kind, watcher := range map[string]watch.Interface{"pod": pods, "pdb": pdbs} {
		go w.tally(ctx, kind, watcher)
	}
	return w, nil
}

func (w *idleWriters) tally(ctx context.Context, kind string, watcher watch.Interface) {
	defer watcher.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case ev, ok := <-watcher.ResultChan():
			if !ok {
				return
			}
			obj, err := metaOf(ev.Object)
			if err != nil {
				continue
			}
			writer := newestWrite(obj.GetManagedFields())
			w.mu.Lock()
			w.counts[fmt.Sprintf("%s %s by %s", kind, strings.ToLower(string(ev.Type)), writer)]++
			if pod, ok := ev.Object.(*corev1.Pod); ok {
				w.pods[pod.Name]++
				if _, kept := w.samples[pod.Name]; kept || len(w.samples) < 3 {
					w.samples[pod.Name] = pod
				}
			}
			w.mu.Unlock()
		}
	}
}

// report prints the tally, largest first.
func (w *idleWriters) report() {
	w.mu.Lock()
	defer w.mu.Unlock()
	keys := make([]string, 0, len(w.counts))
	for k := range w.counts {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return w.counts[keys[i]] > w.counts[keys[j]] })
	if len(keys) == 0 {
		fmt.Println("  object changes while idle: none")
	}
	for _, k := range keys {
		fmt.Printf("  object changes while idle: %s: %d\n", k, w.counts[k])
	}
	if len(w.pods) > 0 {
		fmt.Printf("  pods changed while idle: %d\n", len(w.pods))
	}
	for name, pod := range w.samples {
		fmt.Printf("    %s (%d changes): node %s, ip %q, phase %s, annotations %v\n", name, w.pods[name], pod.Spec.NodeName, pod.Status.PodIP, pod.Status.Phase, pod.Annotations)
		for _, c := range pod.Status.Conditions {
			fmt.Printf("      condition %s=%s since %s (%s)\n", c.Type, c.Status, c.LastTransitionTime.UTC().Format(time.RFC3339), c.Reason)
		}
		for _, c := range pod.Status.ContainerStatuses {
			fmt.Printf("      container %s image %s ready %v restarts %d state %+v\n", c.Name, c.Image, c.Ready, c.RestartCount, c.State)
		}
	}
}

func metaOf(obj any) (metav1.Object, error) {
	o, ok := obj.(metav1.Object)
	if !ok {
		return nil, fmt.Errorf("%T has no object metadata", obj)
	}
	return o, nil
}

// newestWrite names the field manager (and subresource) of the most recent
// managed-fields entry.
func newestWrite(entries []metav1.ManagedFieldsEntry) string {
	writer, at := "unknown", time.Time{}
	for _, e := range entries {
		if e.Time != nil && !e.Time.Time.Before(at) {
			writer, at = e.Manager+" "+string(e.Operation), e.Time.Time
			if e.Subresource != "" {
				writer += " /" + e.Subresource
			}
		}
	}
	return writer
}
