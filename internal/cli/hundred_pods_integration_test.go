//go:build integration

package cli

import (
	"strings"
	"testing"
)

// A hundred real pods over three units: get stays one line per unit with
// its counts, and --pods lists every pod under its unit.
func TestGetAtAHundredPodsShowsOneLinePerUnit(t *testing.T) {
	ns := env.Namespace(t)
	createCompleted(t, ns, workloadSpec(ns, 100, "pay:v1", oneBatchStrategy))

	out := mustCafe(t, ns, "get", "pay")
	// The header (five lines), a blank line, the units' heading and three
	// units.
	if n := strings.Count(out, "\n"); n != 10 {
		t.Errorf("get of 100 pods printed %d lines, want 10, one per unit:\n%s", n, out)
	}
	for _, want := range []string{
		"Pods:            100 of 100, 100 ready, 100 serving, 100 at revision 1, 0 pending\n",
		"\nunit-a  pay-unit-a  34/34  34     34       34/34    0        34/34\n",
		"\nunit-b  pay-unit-b  33/33  33     33       33/33    0        33/33\n",
		"\nunit-c  pay-unit-c  33/33  33     33       33/33    0        33/33\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("get should have the line %q:\n%s", strings.TrimSpace(want), out)
		}
	}
	if strings.Contains(out, "─ pay-unit-") {
		t.Errorf("get without --pods lists pods:\n%s", out)
	}

	out = mustCafe(t, ns, "get", "pay", "--pods")
	listed := map[string]bool{}
	unit := ""
	for _, line := range strings.Split(out, "\n") {
		if strings.HasPrefix(line, "unit-") && strings.Contains(line, " (pay-unit-") {
			unit = strings.Fields(line)[0]
			continue
		}
		if _, rest, ok := strings.Cut(line, "─ "); ok {
			pod := strings.Fields(rest)[0]
			if !strings.HasPrefix(pod, "pay-"+unit+"-") {
				t.Errorf("pod %s listed under %s", pod, unit)
			}
			listed[pod] = true
		}
	}
	if len(listed) != 100 {
		t.Errorf("get --pods listed %d distinct pods, want 100:\n%s", len(listed), out)
	}
}
