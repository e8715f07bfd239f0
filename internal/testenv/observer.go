package testenv

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"

	appsv1alpha1 "github.com/cafe-dev/cafe/api/apps/v1alpha1"
)

// EventKind is something that happened to a pod, as an outside observer sees
// it through watches.
type EventKind string

// What the observer records.
const (
	PodCreated      EventKind = "Created"
	PodDeleted      EventKind = "Deleted"
	ServingFalse    EventKind = "ServingFalse"
	ServingTrue     EventKind = "ServingTrue"
	ContainersReady EventKind = "ContainersReady"
	SpecChanged     EventKind = "SpecChanged"
	Listed          EventKind = "Listed"   // in some EndpointSlice as ready or serving
	Unlisted        EventKind = "Unlisted" // in no EndpointSlice as ready or serving
)

// PodEvent is one observation.
type PodEvent struct {
	At   time.Time
	Pod  string
	UID  types.UID
	Kind EventKind
	// Revision is the revision label of the pod created or deleted.
	Revision string
	Detail   string
}

// Observer watches a namespace's pods and EndpointSlices and records every
// change that matters to traffic hand-off, to check afterwards that CAFE
// changed each pod only after draining it.
type Observer struct {
	mu     sync.Mutex
	events []PodEvent
	// per pod name: current state
	pods     map[string]*corev1.Pod
	unitOf   map[string]string          // pod → its unit label
	listedBy map[string]map[string]bool // pod → slice names listing it
	cancel   context.CancelFunc
	done     sync.WaitGroup
}

// Observe starts recording ns until the test ends (or Stop).
func (e *Env) Observe(t testing.TB, ns string) *Observer {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	o := &Observer{pods: map[string]*corev1.Pod{}, unitOf: map[string]string{}, listedBy: map[string]map[string]bool{}, cancel: cancel}
	podWatch, err := e.Kube.CoreV1().Pods(ns).Watch(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	sliceWatch, err := e.Kube.DiscoveryV1().EndpointSlices(ns).Watch(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	o.done.Add(2)
	go o.run(podWatch, o.onPod)
	go o.run(sliceWatch, o.onSlice)
	t.Cleanup(o.Stop)
	return o
}

// Stop ends the watches.
func (o *Observer) Stop() {
	o.cancel()
	o.done.Wait()
}

func (o *Observer) run(w watch.Interface, handle func(watch.Event)) {
	defer o.done.Done()
	defer w.Stop()
	for ev := range w.ResultChan() {
		handle(ev)
	}
}

func (o *Observer) record(pod string, uid types.UID, kind EventKind, detail string) {
	o.events = append(o.events, PodEvent{At: time.Now(), Pod: pod, UID: uid, Kind: kind, Detail: detail})
}

// recordLife records a pod's creation or deletion with its revision.
func (o *Observer) recordLife(pod *corev1.Pod, kind EventKind, detail string) {
	rev := pod.Labels[appsv1alpha1.RevisionLabel]
	o.events = append(o.events, PodEvent{At: time.Now(), Pod: pod.Name, UID: pod.UID, Kind: kind, Revision: rev,
		Detail: strings.TrimSpace(detail + " revision " + rev)})
}

func (o *Observer) onPod(ev watch.Event) {
	pod, ok := ev.Object.(*corev1.Pod)
	if !ok {
		return
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	old := o.pods[pod.Name]
	if old != nil && old.UID != pod.UID {
		o.recordLife(old, PodDeleted, "")
		old = nil
	}
	if ev.Type == watch.Deleted {
		o.recordLife(pod, PodDeleted, "")
		delete(o.pods, pod.Name)
		return
	}
	if u := pod.Labels[appsv1alpha1.UnitLabel]; u != "" {
		o.unitOf[pod.Name] = u
	}
	if old == nil {
		o.recordLife(pod, PodCreated, images(pod))
		old = &corev1.Pod{}
	}
	if images(old) != "" && images(old) != images(pod) {
		o.record(pod.Name, pod.UID, SpecChanged, images(old)+" → "+images(pod))
	}
	if a, b := condition(old, appsv1alpha1.ServingCondition), condition(pod, appsv1alpha1.ServingCondition); a != b {
		switch b {
		case corev1.ConditionTrue:
			o.record(pod.Name, pod.UID, ServingTrue, "")
		case corev1.ConditionFalse:
			o.record(pod.Name, pod.UID, ServingFalse, "")
		}
	}
	if a, b := condition(old, corev1.ContainersReady), condition(pod, corev1.ContainersReady); a != b && b == corev1.ConditionTrue {
		o.record(pod.Name, pod.UID, ContainersReady, images(pod))
	}
	o.pods[pod.Name] = pod.DeepCopy()
}

func (o *Observer) onSlice(ev watch.Event) {
	slice, ok := ev.Object.(*discoveryv1.EndpointSlice)
	if !ok {
		return
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	now := map[string]bool{}
	if ev.Type != watch.Deleted {
		for _, ep := range slice.Endpoints {
			if ep.TargetRef != nil && ep.TargetRef.Kind == "Pod" &&
				((ep.Conditions.Ready != nil && *ep.Conditions.Ready) || (ep.Conditions.Serving != nil && *ep.Conditions.Serving)) {
				now[ep.TargetRef.Name] = true
			}
		}
	}
	names := map[string]bool{}
	for name := range o.listedBy {
		names[name] = true
	}
	for name := range now {
		names[name] = true
	}
	for name := range names {
		by := o.listedBy[name]
		before := len(by) > 0
		if now[name] {
			if by == nil {
				by = map[string]bool{}
				o.listedBy[name] = by
			}
			by[slice.Name] = true
		} else {
			delete(by, slice.Name)
		}
		after := len(o.listedBy[name]) > 0
		var uid types.UID
		if p := o.pods[name]; p != nil {
			uid = p.UID
		}
		if before != after {
			kind := Unlisted
			if after {
				kind = Listed
			}
			o.record(name, uid, kind, slice.Name)
		}
	}
}

// Events returns a copy of everything recorded so far.
func (o *Observer) Events() []PodEvent {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]PodEvent(nil), o.events...)
}

// CheckHandoff verifies, for every pod that served and was then changed in
// place or deleted: its serving condition went False, then it left every
// endpoint, stayed out for at least drain, and only then changed; and a
// changed pod went back to serving only after its containers were ready
// again. It returns how many changes it checked.

// receiptSkew bounds how much later this observer may stamp an event than
// the controller's cache saw it: events are stamped on receipt, and the
// pod and EndpointSlice watches are separate streams that the API server
// feeds at slightly different moments. A pod changed exactly the drain time
// after the controller saw it leave endpoints may look a few milliseconds
// early here.
const receiptSkew = 50 * time.Millisecond

func (o *Observer) CheckHandoff(t testing.TB, drain time.Duration) int {
	t.Helper()
	events := o.Events()
	type state struct {
		served, servingFalse, listed bool
		unlistedAt                   time.Time
		changedAwaitingReady         bool
		readyAfterChange             bool
	}
	states := map[string]*state{}
	checked := 0
	for _, ev := range events {
		s := states[ev.Pod]
		if s == nil {
			s = &state{}
			states[ev.Pod] = s
		}
		switch ev.Kind {
		case Listed:
			s.listed = true
		case Unlisted:
			s.listed, s.unlistedAt = false, ev.At
		case ServingFalse:
			s.servingFalse = true
		case ServingTrue:
			if s.changedAwaitingReady && !s.readyAfterChange {
				t.Errorf("pod %s went back to serving before its containers were ready after the change\n%s", ev.Pod, history(events, ev.Pod))
			}
			s.served, s.servingFalse, s.changedAwaitingReady = true, false, false
		case ContainersReady:
			if s.changedAwaitingReady {
				s.readyAfterChange = true
			}
		case SpecChanged, PodDeleted:
			if !s.served {
				continue // never in traffic: nothing to drain
			}
			checked++
			switch {
			case !s.servingFalse:
				t.Errorf("pod %s changed (%s) while its serving condition was True\n%s", ev.Pod, ev.Kind, history(events, ev.Pod))
			case s.listed:
				t.Errorf("pod %s changed (%s) while still listed in endpoints\n%s", ev.Pod, ev.Kind, history(events, ev.Pod))
			case ev.At.Sub(s.unlistedAt) < drain-receiptSkew:
				t.Errorf("pod %s changed (%s) %s after leaving endpoints, before the drain time %s\n%s", ev.Pod, ev.Kind, ev.At.Sub(s.unlistedAt), drain, history(events, ev.Pod))
			}
			if ev.Kind == SpecChanged {
				s.changedAwaitingReady, s.readyAfterChange = true, false
			} else {
				*s = state{changedAwaitingReady: true}
			}
		}
	}
	return checked
}

// History lists one pod's recorded events, for a failure message.
func (o *Observer) History(pod string) string { return history(o.Events(), pod) }

func history(events []PodEvent, pod string) string {
	var b strings.Builder
	var start time.Time
	for _, ev := range events {
		if ev.Pod != pod {
			continue
		}
		if start.IsZero() {
			start = ev.At
		}
		fmt.Fprintf(&b, "  +%7.3fs %-16s %s\n", ev.At.Sub(start).Seconds(), ev.Kind, ev.Detail)
	}
	return b.String()
}

// PodNames lists the pods the observer currently sees, sorted.
func (o *Observer) PodNames() []string {
	o.mu.Lock()
	defer o.mu.Unlock()
	var out []string
	for n := range o.pods {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

func images(p *corev1.Pod) string {
	var out []string
	for _, c := range p.Spec.Containers {
		out = append(out, c.Image)
	}
	return strings.Join(out, ",")
}

func condition(p *corev1.Pod, t corev1.PodConditionType) corev1.ConditionStatus {
	for _, c := range p.Status.Conditions {
		if c.Type == t {
			return c.Status
		}
	}
	return ""
}

// MinServingPerUnit replays the events and returns, per unit, the fewest pods
// that served (serving condition True, not deleted) at any moment from from
// until to (zero: the end). Events before from only build up the starting
// state.
func (o *Observer) MinServingPerUnit(from, to time.Time) map[string]int {
	o.mu.Lock()
	defer o.mu.Unlock()
	serving := map[string]bool{}
	count := map[string]int{}
	low := map[string]int{}
	observe := func(at time.Time) {
		if at.Before(from) || !to.IsZero() && !at.Before(to) {
			return
		}
		for u, c := range count {
			if l, ok := low[u]; !ok || c < l {
				low[u] = c
			}
		}
	}
	for _, ev := range o.events {
		unit := o.unitOf[ev.Pod]
		if unit == "" {
			continue
		}
		if _, ok := count[unit]; !ok {
			count[unit] = 0
		}
		was := serving[ev.Pod]
		switch ev.Kind {
		case ServingTrue:
			serving[ev.Pod] = true
		case ServingFalse, PodDeleted:
			serving[ev.Pod] = false
		}
		if was != serving[ev.Pod] {
			if serving[ev.Pod] {
				count[unit]++
			} else {
				count[unit]--
			}
		}
		observe(ev.At)
	}
	return low
}

// Count returns how many events of kind were recorded for each pod.
func (o *Observer) Count(kind EventKind) map[string]int {
	o.mu.Lock()
	defer o.mu.Unlock()
	out := map[string]int{}
	for _, ev := range o.events {
		if ev.Kind == kind {
			out[ev.Pod]++
		}
	}
	return out
}

// WaitFor blocks until an event of kind recorded after since exists, or the
// timeout passes; it reports whether one came.
func (o *Observer) WaitFor(kind EventKind, since time.Time, timeout time.Duration) bool {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		o.mu.Lock()
		for i := len(o.events) - 1; i >= 0 && !o.events[i].At.Before(since); i-- {
			if o.events[i].Kind == kind {
				o.mu.Unlock()
				return true
			}
		}
		o.mu.Unlock()
		time.Sleep(5 * time.Millisecond)
	}
	return false
}
