package inplaceset

import (
	"strconv"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"

	appsv1alpha1 "github.com/cafe-dev/cafe/api/apps/v1alpha1"
)

// expectations remember the pod writes a reconcile made until the informer
// cache shows them. Planning on a cache that has not seen our own last write
// could take a second pod out of traffic while the first still looks
// available, breaking maxUnavailable; so such a pod is handed to the planner
// as pending (left alone, counted unavailable) until the cache shows the
// write, while the rest of the set goes on.
type expectations struct {
	mu  sync.Mutex
	all map[types.UID]map[string]expectation
}

type expectation struct {
	kind string // "create", "delete" or "change"
	// olderThan is the resource version the pod had before our change: the
	// cache must show a newer one.
	olderThan string
	// uid is the pod a create made, once the API server answered.
	uid types.UID
	// index and revision are the slot and revision a create fills.
	index    int
	revision string
	// since is when the write was sent.
	since time.Time
}

// unconfirmedAfter is how long a create may stay unseen by the cache before
// the controller asks the API server whether the pod still exists. A pod
// created and deleted again before a reconcile reads the cache never shows
// there, so waiting for it alone could block its set for good.
const unconfirmedAfter = 2 * time.Second

func newExpectations() *expectations {
	return &expectations{all: map[types.UID]map[string]expectation{}}
}

func (e *expectations) set(set *appsv1alpha1.InPlaceSet, pod string, x expectation) {
	e.mu.Lock()
	defer e.mu.Unlock()
	m := e.all[set.UID]
	if m == nil {
		m = map[string]expectation{}
		e.all[set.UID] = m
	}
	m[pod] = x
}

func (e *expectations) creating(set *appsv1alpha1.InPlaceSet, pod string, index int, revision string, now time.Time) {
	e.set(set, pod, expectation{kind: "create", index: index, revision: revision, since: now})
}

// created records the UID of the pod a create made.
func (e *expectations) created(set *appsv1alpha1.InPlaceSet, pod string, uid types.UID) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if x, ok := e.all[set.UID][pod]; ok && x.kind == "create" {
		x.uid = uid
		e.all[set.UID][pod] = x
	}
}

func (e *expectations) deleted(set *appsv1alpha1.InPlaceSet, pod string, now time.Time) {
	e.set(set, pod, expectation{kind: "delete", since: now})
}

func (e *expectations) changed(set *appsv1alpha1.InPlaceSet, pod, resourceVersion string, now time.Time) {
	e.set(set, pod, expectation{kind: "change", olderThan: resourceVersion, since: now})
}

// gone drops a create expectation when the API server no longer has the pod
// it made: the cache will never show that pod.
func (e *expectations) gone(set *appsv1alpha1.InPlaceSet, pod string, uid types.UID) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if x, ok := e.all[set.UID][pod]; ok && x.kind == "create" && x.uid == uid {
		delete(e.all[set.UID], pod)
	}
}

// settle ends a change expectation the cache will never meet: the write
// failed, or changed nothing (the API server answered with the resource
// version the pod had, and sends no event). A write refused as a conflict
// keeps its expectation: the pod changed since it was planned from, and it
// stays pending until the cache shows how, rather than being planned again
// from the same old state.
func (e *expectations) settle(set *appsv1alpha1.InPlaceSet, before, answer *corev1.Pod, err error) {
	if (err != nil && !apierrors.IsConflict(err)) || (err == nil && answer.ResourceVersion == before.ResourceVersion) {
		e.forget(set, before.Name)
	}
}

func (e *expectations) forget(set *appsv1alpha1.InPlaceSet, pod string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	delete(e.all[set.UID], pod)
}

// pending drops the expectations the cached pods meet and returns the rest,
// by pod name; unconfirmed names the creates the cache has not shown for
// unconfirmedAfter, with the UIDs they made, for the caller to check with
// the API server.
func (e *expectations) pending(set *appsv1alpha1.InPlaceSet, pods map[string]*corev1.Pod, now time.Time) (pending map[string]expectation, unconfirmed map[string]types.UID) {
	e.mu.Lock()
	defer e.mu.Unlock()
	m := e.all[set.UID]
	pending = map[string]expectation{}
	for name, x := range m {
		pod, exists := pods[name]
		met := false
		switch x.kind {
		case "create":
			met = exists
		case "delete":
			met = !exists || pod.DeletionTimestamp != nil
		case "change":
			met = !exists || newer(pod.ResourceVersion, x.olderThan)
		}
		if met {
			delete(m, name)
			continue
		}
		pending[name] = x
		if x.kind == "create" && x.uid != "" && now.Sub(x.since) >= unconfirmedAfter {
			if unconfirmed == nil {
				unconfirmed = map[string]types.UID{}
			}
			unconfirmed[name] = x.uid
		}
	}
	return pending, unconfirmed
}

// drop forgets a deleted set.
func (e *expectations) drop(uid types.UID) {
	e.mu.Lock()
	defer e.mu.Unlock()
	delete(e.all, uid)
}

// newer compares resource versions. They are opaque in general, but etcd's
// are increasing integers; anything unparsable counts as newer so a set never
// waits forever.
func newer(rv, than string) bool {
	a, errA := strconv.ParseUint(rv, 10, 64)
	b, errB := strconv.ParseUint(than, 10, 64)
	if errA != nil || errB != nil {
		return rv != than
	}
	return a > b
}
