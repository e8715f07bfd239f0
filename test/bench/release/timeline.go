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
	"k8s.io/client-go/kubernetes"

	appsv1alpha1 "github.com/cafe-dev/cafe/api/apps/v1alpha1"
)

// podSteps are the moments, since the release began, at which one pod was
// first seen out of traffic, on the new image in its spec, running it with
// its containers ready, and Ready again.
type podSteps struct {
	out, changed, running, ready time.Duration
}

// timeline follows a release from the pods' side. It separates the time the
// pods took from the time the workload's status took to say so, shows how
// long each step of a pod's change took, and how many pods were changing at
// once (the budget is 25 %).
type timeline struct {
	mu       sync.Mutex
	start    time.Time
	image    string
	pods     map[string]*podSteps
	inFlight []int // per 500 ms since start: pods changing, out of traffic or not yet Ready again
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
	t := &timeline{start: start, image: image, pods: map[string]*podSteps{}}
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
				n := 0
				for _, s := range t.pods {
					if (s.out != 0 || s.changed != 0) && s.ready == 0 {
						n++
					}
				}
				t.inFlight = append(t.inFlight, n)
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
	at := time.Since(t.start)
	t.mu.Lock()
	defer t.mu.Unlock()
	s := t.pods[pod.Name]
	if s == nil {
		s = &podSteps{}
		t.pods[pod.Name] = s
	}
	if s.out == 0 && condition(pod, appsv1alpha1.ServingCondition) == corev1.ConditionFalse {
		s.out = at
	}
	if len(pod.Spec.Containers) == 0 || pod.Spec.Containers[0].Image != t.image {
		return
	}
	if s.changed == 0 {
		s.changed = at
	}
	if s.running == 0 && len(pod.Status.ContainerStatuses) > 0 && pod.Status.ContainerStatuses[0].Image == t.image &&
		condition(pod, corev1.ContainersReady) == corev1.ConditionTrue {
		s.running = at
	}
	if s.running != 0 && s.ready == 0 && condition(pod, corev1.PodReady) == corev1.ConditionTrue {
		s.ready = at
	}
}

func condition(pod *corev1.Pod, t corev1.PodConditionType) corev1.ConditionStatus {
	for _, c := range pod.Status.Conditions {
		if c.Type == t {
			return c.Status
		}
	}
	return ""
}

// report prints when the pods changed and became Ready against when the
// release was reported complete, and the median time of each step.
func (t *timeline) report(completed time.Duration) {
	t.mu.Lock()
	defer t.mu.Unlock()
	var first, last time.Duration
	var outToChange, changeToRunning, runningToReady []time.Duration
	for _, s := range t.pods {
		if s.changed == 0 {
			continue
		}
		begin := s.changed
		if s.out != 0 && s.out < begin {
			begin = s.out
			outToChange = append(outToChange, s.changed-s.out)
		}
		if first == 0 || begin < first {
			first = begin
		}
		last = max(last, s.ready)
		if s.running != 0 {
			changeToRunning = append(changeToRunning, s.running-s.changed)
		}
		if s.ready != 0 {
			runningToReady = append(runningToReady, s.ready-s.running)
		}
	}
	var series []string
	for _, n := range t.inFlight {
		series = append(series, fmt.Sprint(n))
	}
	fmt.Printf("  pods: first touched at %.1fs, last Ready on the new image at %.1fs; reported complete at %.1fs\n",
		first.Seconds(), last.Seconds(), completed.Seconds())
	fmt.Printf("  median per pod: out of traffic → spec changed %s; spec changed → running it, ready %s; → pod Ready %s\n",
		median(outToChange), median(changeToRunning), median(runningToReady))
	fmt.Printf("  pods changing at once, every 0.5s: %s\n", strings.Join(series, " "))
}

func median(d []time.Duration) string {
	if len(d) == 0 {
		return "-"
	}
	sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
	return d[len(d)/2].Round(time.Millisecond).String()
}
