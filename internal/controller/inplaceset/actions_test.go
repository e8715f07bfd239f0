package inplaceset

import (
	"reflect"
	"testing"

	"github.com/cafe-dev/cafe/internal/podset"
)

func TestByPodKeepsEachPodsStepsInOrder(t *testing.T) {
	out := podset.SetServing{Name: "web-2", Serving: false, Reason: podset.ServingUpdate}
	update := podset.UpdateInPlace{Name: "web-2", Revision: "v2", Handoff: podset.HandoffDrained}
	other := podset.SetServing{Name: "web-1", Serving: true, Reason: podset.ServingReady}
	createA, createB := podset.CreatePod{Index: 4, Revision: "v2"}, podset.CreatePod{Index: 5, Revision: "v2"}

	got := byPod([]podset.Action{out, createA, other, update, createB})
	want := [][]podset.Action{{out, update}, {createA}, {other}, {createB}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("byPod grouped\n%#v\nwant\n%#v", got, want)
	}
}
