package inplaceset

import (
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	appsv1alpha1 "github.com/cafe-dev/cafe/api/apps/v1alpha1"
)

func TestExpectations(t *testing.T) {
	set := &appsv1alpha1.InPlaceSet{ObjectMeta: metav1.ObjectMeta{UID: "set"}}
	t0 := time.Unix(1000, 0)
	pod := func(uid types.UID, rv string, terminating bool) *corev1.Pod {
		p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "pay-0", UID: uid, ResourceVersion: rv}}
		if terminating {
			p.DeletionTimestamp = &metav1.Time{Time: t0}
		}
		return p
	}
	none := map[string]*corev1.Pod{}
	one := func(p *corev1.Pod) map[string]*corev1.Pod { return map[string]*corev1.Pod{"pay-0": p} }

	cases := []struct {
		name            string
		expect          func(e *expectations)
		pods            map[string]*corev1.Pod
		at              time.Duration
		wantMet         bool
		wantUnconfirmed types.UID
	}{
		{"nothing expected", func(e *expectations) {}, none, 0, true, ""},
		{"create not yet cached", func(e *expectations) {
			e.creating(set, "pay-0", 0, "rev-1", t0)
			e.created(set, "pay-0", "u1")
		}, none, time.Second, false, ""},
		{"create cached", func(e *expectations) {
			e.creating(set, "pay-0", 0, "rev-1", t0)
			e.created(set, "pay-0", "u1")
		}, one(pod("u1", "5", false)), time.Second, true, ""},
		{"create unseen for long is handed to the API check", func(e *expectations) {
			e.creating(set, "pay-0", 0, "rev-1", t0)
			e.created(set, "pay-0", "u1")
		}, none, unconfirmedAfter, false, "u1"},
		{"create still in flight is never handed over", func(e *expectations) {
			e.creating(set, "pay-0", 0, "rev-1", t0)
		}, none, time.Hour, false, ""},
		{"delete not yet cached", func(e *expectations) { e.deleted(set, "pay-0", t0) }, one(pod("u1", "5", false)), 0, false, ""},
		{"delete cached as terminating", func(e *expectations) { e.deleted(set, "pay-0", t0) }, one(pod("u1", "6", true)), 0, true, ""},
		{"delete cached as gone", func(e *expectations) { e.deleted(set, "pay-0", t0) }, none, 0, true, ""},
		{"change not yet cached", func(e *expectations) { e.changed(set, "pay-0", "5", t0) }, one(pod("u1", "5", false)), 0, false, ""},
		{"change cached", func(e *expectations) { e.changed(set, "pay-0", "5", t0) }, one(pod("u1", "6", false)), 0, true, ""},
		{"changed pod gone", func(e *expectations) { e.changed(set, "pay-0", "5", t0) }, none, 0, true, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := newExpectations()
			c.expect(e)
			pending, unconfirmed := e.pending(set, c.pods, t0.Add(c.at))
			if met := len(pending) == 0; met != c.wantMet {
				t.Errorf("met = %v, want %v (pending %v)", met, c.wantMet, pending)
			}
			if got := unconfirmed["pay-0"]; got != c.wantUnconfirmed {
				t.Errorf("unconfirmed = %q, want %q", got, c.wantUnconfirmed)
			}
		})
	}
}

// A pod created and deleted again before the cache was read never shows
// there; once the API server confirms it is gone the set may go on.
func TestExpectationsOfAPodGoneAgain(t *testing.T) {
	set := &appsv1alpha1.InPlaceSet{ObjectMeta: metav1.ObjectMeta{UID: "set"}}
	t0 := time.Unix(1000, 0)
	e := newExpectations()
	e.creating(set, "pay-0", 0, "rev-1", t0)
	e.created(set, "pay-0", "u1")
	e.gone(set, "pay-0", "other") // another pod under that name: not ours
	if pending, _ := e.pending(set, nil, t0.Add(unconfirmedAfter)); len(pending) == 0 {
		t.Fatal("a different UID must not clear the expectation")
	}
	e.gone(set, "pay-0", "u1")
	if pending, unconfirmed := e.pending(set, nil, t0.Add(unconfirmedAfter)); len(pending) != 0 || len(unconfirmed) != 0 {
		t.Fatalf("pending=%v unconfirmed=%v after the API server said the pod is gone", pending, unconfirmed)
	}
}
