//go:build integration

package cli

import (
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/utils/ptr"

	appsv1alpha1 "github.com/cafe-dev/cafe/api/apps/v1alpha1"
	"github.com/cafe-dev/cafe/internal/testenv"
)

// A release that runs out of room and past its deadline: each pod asks for
// 20 of a node's 32 CPUs, so each unit's two nodes take two of its three
// pods, and the batch misses its two-second deadline. get names, per unit,
// the pod no node has taken, and the missed deadline.
func TestGetSaysTheReleaseWaitsForCapacityPastItsDeadline(t *testing.T) {
	ns := env.Namespace(t)
	strategy := oneBatchStrategy
	strategy.ProgressDeadlineSeconds = ptr.To[int32](2)
	cd := workloadSpec(ns, 9, "pay:v1", strategy)
	cd.Spec.Template.Spec.Containers[0].Resources.Requests = corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("20")}
	if err := env.Client.Create(t.Context(), cd); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, 2*time.Minute, "the release to fail its deadline with three pods unscheduled", func() (bool, string) {
		cd := getWorkload(t, ns)
		v := buildView(&snapshot{workload: cd, pods: workloadPods(t, ns)})
		unschedulable := 0
		for _, u := range v.Units {
			for _, s := range u.Slots {
				if s.Status == statusUnschedulable {
					unschedulable++
				}
			}
		}
		return cd.Status.Release.Phase == appsv1alpha1.ReleaseFailed && unschedulable == 3 && v.Total.Serving == 6,
			fmt.Sprintf("phase %q, %d pods unschedulable, %d serving", cd.Status.Release.Phase, unschedulable, v.Total.Serving)
	})

	out := mustCafe(t, ns, "get", "pay")
	for _, want := range []*regexp.Regexp{
		regexp.MustCompile(`(?m)^Release: +Failed, batch 1 of 1 \(Batch\)$`),
		regexp.MustCompile(`(?m)^Waiting for: +batch 1 of 1 to become available: .*; it is past its progress deadline of 2s$`),
		regexp.MustCompile(`(?m)^ +capacity: unit-a has 1 pod no node has taken: pay-unit-a-[0-2]$`),
		regexp.MustCompile(`(?m)^ +capacity: unit-b has 1 pod no node has taken: pay-unit-b-[0-2]$`),
		regexp.MustCompile(`(?m)^ +capacity: unit-c has 1 pod no node has taken: pay-unit-c-[0-2]$`),
		regexp.MustCompile(`(?m)^ +deadline: batch 1 has not become available within 2s$`),
		regexp.MustCompile(`(?m)^Pods: +9 of 9, 6 ready, 6 serving, 9 at revision 1, 3 pending$`),
	} {
		if !want.MatchString(out) {
			t.Errorf("get should have a line matching %s:\n%s", want, out)
		}
	}
	if n := strings.Count(out, "capacity: "); n != 3 {
		t.Errorf("%d capacity lines, want one per unit:\n%s", n, out)
	}
}
