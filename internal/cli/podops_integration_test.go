//go:build integration

package cli

import (
	"context"
	"strings"
	"testing"

	"sigs.k8s.io/controller-runtime/pkg/client"

	appsv1alpha1 "github.com/cafe-dev/cafe/api/apps/v1alpha1"
)

// restart, stop and start keep a pod's name; restart keeps the pod itself.
func TestRestartStopAndStartKeepThePodsIdentity(t *testing.T) {
	ns := env.Namespace(t)
	createCompleted(t, ns, workloadSpec(ns, 6, "pay:v1", betaStrategy))
	before := listPods(t, ns)["pay-unit-a-0"]

	out := mustCafe(t, ns, "restart", "pod/pay-unit-a-0")
	if !strings.HasPrefix(out, "pod/pay-unit-a-0: restart requested\n") || !strings.Contains(out, "pod/pay-unit-a-0: restarted in place and back in traffic (same pod, IP "+before.Status.PodIP+")") {
		t.Errorf("restart said:\n%s", out)
	}
	after := listPods(t, ns)["pay-unit-a-0"]
	if after.UID != before.UID || after.Status.PodIP != before.Status.PodIP || podView(&after, "").Restarts != podView(&before, "").Restarts+1 {
		t.Errorf("restart: uid %s→%s ip %s→%s restarts %d→%d", before.UID, after.UID, before.Status.PodIP, after.Status.PodIP,
			podView(&before, "").Restarts, podView(&after, "").Restarts)
	}

	out = mustCafe(t, ns, "stop", "pod/pay-unit-b-1")
	if !strings.HasPrefix(out, "pod/pay-unit-b-1: stop requested (slot 1 of InPlaceSet pay-unit-b)\n") || !strings.HasSuffix(out, "pod/pay-unit-b-1: stopped; slot 1 of pay-unit-b is kept for kubectl cafe start\n") {
		t.Errorf("stop said:\n%s", out)
	}
	if _, ok := listPods(t, ns)["pay-unit-b-1"]; ok {
		t.Error("the stopped pod still exists")
	}
	if get := mustCafe(t, ns, "get", "pay", "--pods"); !strings.Contains(get, "└─ pay-unit-b-1                Stopped") || !strings.Contains(get, "unit-b  pay-unit-b  1/2, 1 stopped") {
		t.Errorf("get --pods does not show the stopped slot:\n%s", get)
	}
	if out := mustCafe(t, ns, "stop", "pay-unit-b-1"); out != "pod/pay-unit-b-1 is stopped already (kubectl cafe start pod/pay-unit-b-1 brings it back)\n" {
		t.Errorf("second stop said %q", out)
	}

	out = mustCafe(t, ns, "start", "pod/pay-unit-b-1")
	if !strings.Contains(out, "pod/pay-unit-b-1: serving on unit-b-node-") {
		t.Errorf("start said:\n%s", out)
	}
	var set appsv1alpha1.InPlaceSet
	if err := env.Client.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: "pay-unit-b"}, &set); err != nil {
		t.Fatal(err)
	}
	if v, ok := set.Annotations[appsv1alpha1.StoppedSlotsAnnotation]; ok {
		t.Errorf("the stopped-slots annotation is left as %q", v)
	}
	if _, err := cafe(t, ns, "start", "pod/pay-unit-b-1"); err == nil || err.Error() != "nothing to start: pod/pay-unit-b-1 is not stopped" {
		t.Errorf("starting a running pod: %v", err)
	}
	if _, err := cafe(t, ns, "restart", "pod/pay-unit-z-0"); err == nil || !strings.Contains(err.Error(), `no pod named "pay-unit-z-0" in namespace`) {
		t.Errorf("restarting a missing pod: %v", err)
	}
}
