package cli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	appsv1alpha1 "github.com/cafe-dev/cafe/api/apps/v1alpha1"
)

// waitingSnapshot is a Beta release of pay:v2 over three units of two,
// waiting for the confirmation of batch 1: one pod per unit is updated, and
// unit-b's second slot is stopped.
func waitingSnapshot(t testing.TB) *snapshot {
	cd := fixtureWorkload(2, appsv1alpha1.ReleaseWaitingForConfirmation, 1, 3, "unit-a", "unit-b", "unit-c")
	return &snapshot{
		workload: cd,
		sets:     []appsv1alpha1.InPlaceSet{fixtureSet("unit-a", ""), fixtureSet("unit-b", "1"), fixtureSet("unit-c", "")},
		pods: []corev1.Pod{
			fixturePod("unit-c", 1, "pay-v2"), fixturePod("unit-c", 0, "pay-v1"),
			fixturePod("unit-a", 1, "pay-v2"), fixturePod("unit-a", 0, "pay-v1"),
			fixturePod("unit-b", 0, "pay-v2"),
		},
		revisions: []appsv1.ControllerRevision{
			fixtureRevision(t, "pay-v1", 1, "pay:v1", ""),
			fixtureRevision(t, "pay-v2", 2, "pay:v2", "image pay:v2"),
		},
	}
}

func TestBuildViewOrdersUnitsAndSlotsAndCounts(t *testing.T) {
	snap := waitingSnapshot(t)
	// A unit that left the spec keeps showing while its set and pods exist.
	snap.sets = append(snap.sets, fixtureSet("unit-0", ""))
	snap.pods = append(snap.pods, fixturePod("unit-0", 0, "pay-v1"))
	v := buildView(snap)

	var order []string
	for _, u := range v.Units {
		order = append(order, u.Name)
	}
	if got := strings.Join(order, " "); got != "unit-a unit-b unit-c unit-0" {
		t.Fatalf("units in order %q, want spec order then the others", got)
	}
	for _, u := range v.Units {
		for i := 1; i < len(u.Slots); i++ {
			if u.Slots[i-1].Index > u.Slots[i].Index {
				t.Errorf("unit %s: slots not sorted by index: %+v", u.Name, u.Slots)
			}
		}
	}
	b := v.Units[1]
	if b.Pods != 1 || b.Stopped != 1 || len(b.Slots) != 2 || b.Slots[1].Status != statusStopped || b.Slots[1].Name != "pay-unit-b-1" {
		t.Errorf("unit-b: want one pod and stopped slot pay-unit-b-1, got %+v", b)
	}
	a := v.Units[0]
	if a.Pods != 2 || a.Ready != 2 || a.Serving != 2 || a.Updated != 1 || a.BatchDone != 1 || a.BatchTarget != 1 || a.Quota != 2 {
		t.Errorf("unit-a counts: %+v", a.Counts)
	}
	if v.Total.Pods != 6 || v.Total.Updated != 3 || v.Total.Stopped != 1 {
		t.Errorf("totals: %+v", v.Total)
	}
	if v.Stable != (RevisionRef{1, "pay-v1"}) || v.Update != (RevisionRef{2, "pay-v2"}) || v.Units[0].Slots[1].Revision.Number != 2 {
		t.Errorf("revisions are not numbered from the ControllerRevisions: stable %v update %v", v.Stable, v.Update)
	}
}

func TestBuildViewCountsPendingAndTerminatingPods(t *testing.T) {
	snap := waitingSnapshot(t)
	snap.pods[0] = fixturePod("unit-c", 1, "pay-v2", unscheduled)
	snap.pods[1] = fixturePod("unit-c", 0, "pay-v1", func(p *corev1.Pod) { p.DeletionTimestamp = &metav1.Time{} })
	c := buildView(snap).Units[2]
	if c.Pods != 1 || c.Pending != 1 || c.Ready != 0 || c.Updated != 1 || len(c.Slots) != 2 {
		t.Errorf("unit-c: a terminating pod is listed but not counted, a pending one counts as pending: %+v", c)
	}
	if c.Slots[0].Status != statusTerminating || c.Slots[1].Status != statusUnschedulable {
		t.Errorf("statuses %s, %s", c.Slots[0].Status, c.Slots[1].Status)
	}
}

// A slot being stopped shows its pod, as Stopping, in the stopped entry's
// place.
func TestBuildViewShowsAPodBeingStopped(t *testing.T) {
	snap := waitingSnapshot(t)
	snap.pods = append(snap.pods, fixturePod("unit-b", 1, "pay-v1", setCondition(appsv1alpha1.ServingCondition, corev1.ConditionFalse, "Stopped")))
	b := buildView(snap).Units[1]
	if len(b.Slots) != 2 || b.Slots[1].Status != statusStopping || b.Stopped != 1 || b.Pods != 2 {
		t.Errorf("unit-b: %+v", b)
	}
}

func TestTreeGolden(t *testing.T) {
	for _, withPods := range []bool{false, true} {
		var buf bytes.Buffer
		if err := renderWorkload(&buf, buildView(waitingSnapshot(t)), withPods); err != nil {
			t.Fatal(err)
		}
		golden(t, fmt.Sprintf("tree-waiting-pods-%v", withPods), buf.String())
	}
}

// At a hundred pods the default view is one line per unit; --pods lists
// them all under their units, and no line grows with the pod count.
func TestTreeStaysReadableAtAHundredPods(t *testing.T) {
	units := []string{"unit-a", "unit-b", "unit-c", "unit-d"}
	cd := fixtureWorkload(25, appsv1alpha1.ReleaseProgressing, 2, 4, units...)
	snap := &snapshot{workload: cd}
	for _, u := range units {
		snap.sets = append(snap.sets, fixtureSet(u, ""))
		for i := 0; i < 25; i++ {
			rev := "pay-v1"
			if i < 10 {
				rev = "pay-v2"
			}
			snap.pods = append(snap.pods, fixturePod(u, i, rev, setCondition(appsv1alpha1.ServingCondition, corev1.ConditionFalse, "Update")))
		}
	}
	v := buildView(snap)
	var short, long bytes.Buffer
	if err := renderWorkload(&short, v, false); err != nil {
		t.Fatal(err)
	}
	if err := renderWorkload(&long, v, true); err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(short.String(), "\n"); n > 20 {
		t.Errorf("default view of 100 pods has %d lines, want one per unit plus the header:\n%s", n, short.String())
	}
	if strings.Contains(short.String(), "─ pay-unit-") {
		t.Errorf("default view lists pods:\n%s", short.String())
	}
	if n := strings.Count(long.String(), "─ pay-unit-"); n != 100 {
		t.Errorf("--pods lists %d pods, want 100", n)
	}
	for _, line := range strings.Split(long.String(), "\n") {
		if len([]rune(line)) > 200 {
			t.Errorf("line of %d characters: %q", len([]rune(line)), line)
		}
	}
	// Pods out of traffic at the old revision drain; updated ones rejoin.
	for _, want := range []string{
		"drain: 60 pods leaving traffic: pay-unit-a-10, pay-unit-a-11, pay-unit-a-12 and 57 more",
		"readiness: 40 pods not ready or not yet back in traffic: pay-unit-a-0, pay-unit-a-1, pay-unit-a-2 and 37 more",
	} {
		if !strings.Contains(short.String(), want) {
			t.Errorf("want the line %q, naming three pods and counting the rest:\n%s", want, short.String())
		}
	}
}

func TestWorkloadViewAsDataKeepsCountsAndSlots(t *testing.T) {
	data, err := json.Marshal(buildView(waitingSnapshot(t)))
	if err != nil {
		t.Fatal(err)
	}
	var back struct {
		Units []struct {
			Pods  int32 `json:"pods"`
			Slots []struct {
				Name string `json:"name"`
			} `json:"slots"`
		} `json:"units"`
	}
	if err := json.Unmarshal(data, &back); err != nil {
		t.Fatal(err)
	}
	if len(back.Units) != 3 || back.Units[0].Pods != 2 || len(back.Units[0].Slots) != 2 || back.Units[0].Slots[0].Name != "pay-unit-a-0" {
		t.Errorf("data lost the unit counts or slots: %s", data)
	}
}

func TestTablePadsShortRowsAndTrimsBlanks(t *testing.T) {
	tb := &table{}
	tb.row("A", "B", "C")
	tb.row("long heading")
	tb.row("x", "", "z")
	tb.row("y", "b")
	var buf bytes.Buffer
	if err := tb.write(&buf); err != nil {
		t.Fatal(err)
	}
	want := "A             B  C\nlong heading\nx                z\ny             b\n"
	if buf.String() != want {
		t.Errorf("got\n%q\nwant\n%q", buf.String(), want)
	}
}
