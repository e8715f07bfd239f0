package main

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// timeline follows a release from the pods' side: when each pod first runs
// the new image and when it is Ready on it. It separates the time the pods
// took from the time the workload's status took to say so, and shows how
// many pods were changing at once (the budget is 25 %).
type timeline struct {
	mu       sync.Mutex
	start    time.Time
	image    string
	changed  map[string]time.Duration // pod → first seen on the new image
	ready    map[string]time.Duration // pod → Ready on the new image
	inFlight []int                    // per 500 ms since start: pods changed but not yet Ready again
}

// followRelease watches the namespace's pods until ctx ends.
func followRelease(ctx context.Context, cs kubernetes.Interface, ns, image string, start time.Time) (*timeline, error) {
	now, err := cs.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{Limit: 1})
	if err != nil {
		return nil, err
	}
	w, err := cs.CoreV1().Pods(ns).Watch(ctx, metav1.ListOptions{ResourceVersion: now.ResourceVersion})
	if err != nil {
		return nil, err
	}
	t := &timeline{start: start, image: image, changed: map[string]time.Duration{}, ready: map[string]time.Duration{}}
	go func() {
		defer w.Stop()
		tick := time.NewTicker(500 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
				t.mu.Lock()
				t.inFlight = append(t.inFlight, len(t.changed)-len(t.ready))
				t.mu.Unlock()
			case ev, ok := <-w.ResultChan():
				if !ok {
					return
				}
				if pod, isPod := ev.Object.(*corev1.Pod); isPod {
					t.observe(pod)
				}
			}
		}
	}()
	return t, nil
}

func (t *timeline) observe(pod *corev1.Pod) {
	if len(pod.Spec.Containers) == 0 || pod.Spec.Containers[0].Image != t.image {
		return
	}
	at := time.Since(t.start)
	t.mu.Lock()
	defer t.mu.Unlock()
	if _, seen := t.changed[pod.Name]; !seen {
		t.changed[pod.Name] = at
	}
	if _, seen := t.ready[pod.Name]; !seen && podIsReady(pod) {
		t.ready[pod.Name] = at
	}
}

func podIsReady(pod *corev1.Pod) bool {
	for _, c := range pod.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// report prints when the pods changed and became Ready against when the
// release was reported complete.
func (t *timeline) report(completed time.Duration) {
	t.mu.Lock()
	defer t.mu.Unlock()
	var firstChange, lastReady time.Duration
	for _, at := range t.changed {
		if firstChange == 0 || at < firstChange {
			firstChange = at
		}
	}
	for _, at := range t.ready {
		lastReady = max(lastReady, at)
	}
	var series []string
	for _, n := range t.inFlight {
		series = append(series, fmt.Sprint(n))
	}
	fmt.Printf("  pods: first changed at %.1fs, last Ready on the new image at %.1fs; reported complete at %.1fs\n",
		firstChange.Seconds(), lastReady.Seconds(), completed.Seconds())
	fmt.Printf("  pods changing at once, every 0.5s: %s\n", strings.Join(series, " "))
}
