package cli

import (
	"math/rand"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"

	appsv1alpha1 "github.com/cafe-dev/cafe/api/apps/v1alpha1"
	"github.com/cafe-dev/cafe/internal/controller/inplaceset"
)

func TestPodArg(t *testing.T) {
	cases := []struct{ arg, want, wantErr string }{
		{arg: "pod/pay-unit-a-0", want: "pay-unit-a-0"},
		{arg: "pods/pay-unit-a-0", want: "pay-unit-a-0"},
		{arg: "po/pay-unit-a-0", want: "pay-unit-a-0"},
		{arg: "pay-unit-a-0", want: "pay-unit-a-0"},
		{arg: "deployment/pay", wantErr: "restart works on pods of CAFE workloads: kubectl cafe restart pod/NAME"},
		{arg: "pod/", wantErr: "restart works on pods"},
	}
	for _, c := range cases {
		got, err := podArg("restart", c.arg)
		if got != c.want || (c.wantErr == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), c.wantErr)) {
			t.Errorf("%s: %q, %v", c.arg, got, err)
		}
	}
}

func TestSlotOf(t *testing.T) {
	pod := fixturePod("unit-a", 7, "pay-v1")
	orphan := fixturePod("unit-a", 7, "pay-v1", func(p *corev1.Pod) { p.OwnerReferences = nil })
	cases := []struct {
		name    string
		pod     *corev1.Pod
		set     string
		index   int
		wantErr string
	}{
		{name: "pay-unit-a-7", pod: &pod, set: "pay-unit-a", index: 7},
		// A stopped pod does not exist: its set and slot come from the name,
		// whose last number is the index even when the set's name ends in one.
		{name: "pay-unit-1-12", set: "pay-unit-1", index: 12},
		{name: "pay-unit-a-07", wantErr: "not a CAFE pod name"},
		{name: "pay-unit-a", wantErr: "not a CAFE pod name"},
		{name: "pay-unit-a-7", pod: &orphan, wantErr: "is not run by an InPlaceSet"},
	}
	for _, c := range cases {
		set, index, err := slotOf(c.name, c.pod)
		if c.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), c.wantErr) {
				t.Errorf("%s: %v, want %q", c.name, err, c.wantErr)
			}
			continue
		}
		if err != nil || set != c.set || index != c.index {
			t.Errorf("%s: %s %d %v", c.name, set, index, err)
		}
	}
}

// Adding a slot then removing it gives the original list back, in the
// order and format the InPlaceSet reads.
func TestWithSlotRoundTrips(t *testing.T) {
	seed := int64(20251125)
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewSource(seed))
	for i := 0; i < 500; i++ {
		var stopped []int
		for n := rng.Intn(6); n > 0; n-- {
			if s := rng.Intn(10); !slices.Contains(stopped, s) {
				stopped = append(stopped, s)
			}
		}
		slices.Sort(stopped)
		index := rng.Intn(10)
		value, changed := withSlot(stopped, index, true)
		if changed == slices.Contains(stopped, index) {
			t.Fatalf("stop %d in %v: changed %v", index, stopped, changed)
		}
		if !changed {
			continue
		}
		after := inplaceset.StoppedSlots(setWithSlots(value))
		if !slices.Contains(after, index) || len(after) != len(stopped)+1 || !slices.IsSorted(after) {
			t.Fatalf("stop %d in %v gave %q", index, stopped, value)
		}
		back, changed := withSlot(after, index, false)
		if !changed || !slices.Equal(inplaceset.StoppedSlots(setWithSlots(back)), stopped) {
			t.Fatalf("start %d in %v gave %q, want %v", index, after, back, stopped)
		}
	}
}

func setWithSlots(value string) *appsv1alpha1.InPlaceSet {
	set := fixtureSet("unit-a", "")
	set.Annotations = map[string]string{appsv1alpha1.StoppedSlotsAnnotation: value}
	return &set
}
