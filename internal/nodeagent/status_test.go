package nodeagent

import (
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
)

func TestPodStatusFollowsKubeletRules(t *testing.T) {
	now := time.Unix(1000, 0)
	const gate corev1.PodConditionType = "example.com/gate"
	running := func(ready bool) containerState {
		return containerState{Name: "app", Image: "cafe/demo:v1", Running: true, Ready: ready, StartedAt: now}
	}
	gated := func(status corev1.ConditionStatus) *corev1.Pod {
		p := &corev1.Pod{Spec: corev1.PodSpec{ReadinessGates: []corev1.PodReadinessGate{{ConditionType: gate}}}}
		if status != "" {
			p.Status.Conditions = []corev1.PodCondition{{Type: gate, Status: status}}
		}
		return p
	}
	cases := []struct {
		name            string
		pod             *corev1.Pod
		containers      []containerState
		phase           corev1.PodPhase
		containersReady bool
		ready           bool
		reason          string
	}{
		{"not started", &corev1.Pod{}, []containerState{{Name: "app"}}, corev1.PodPending, false, false, "ContainersNotReady"},
		{"running, probe not passed", &corev1.Pod{}, []containerState{running(false)}, corev1.PodRunning, false, false, "ContainersNotReady"},
		{"running and ready", &corev1.Pod{}, []containerState{running(true)}, corev1.PodRunning, true, true, ""},
		{"one of two ready", &corev1.Pod{}, []containerState{running(true), {Name: "side", Running: true}}, corev1.PodRunning, false, false, "ContainersNotReady"},
		{"gate missing", gated(""), []containerState{running(true)}, corev1.PodRunning, true, false, "ReadinessGatesNotReady"},
		{"gate False", gated(corev1.ConditionFalse), []containerState{running(true)}, corev1.PodRunning, true, false, "ReadinessGatesNotReady"},
		{"gate True", gated(corev1.ConditionTrue), []containerState{running(true)}, corev1.PodRunning, true, true, ""},
		{"gate True, container not ready", gated(corev1.ConditionTrue), []containerState{running(false)}, corev1.PodRunning, false, false, "ContainersNotReady"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := podStatus(c.pod, "100.96.1.2", "100.96.1.1", c.containers, now)
			if s.Phase != c.phase {
				t.Errorf("phase %s, want %s", s.Phase, c.phase)
			}
			got := map[corev1.PodConditionType]corev1.PodCondition{}
			for _, cond := range s.Conditions {
				got[cond.Type] = cond
			}
			if (got[corev1.ContainersReady].Status == corev1.ConditionTrue) != c.containersReady {
				t.Errorf("ContainersReady %s, want %v", got[corev1.ContainersReady].Status, c.containersReady)
			}
			if r := got[corev1.PodReady]; (r.Status == corev1.ConditionTrue) != c.ready || r.Reason != c.reason {
				t.Errorf("Ready %s (%s), want %v (%s)", r.Status, r.Reason, c.ready, c.reason)
			}
			if _, ok := got[gate]; ok {
				t.Error("the agent reported a readiness gate: gates belong to their owners")
			}
		})
	}
}

func TestConditionKeepsItsTransitionTime(t *testing.T) {
	then, now := time.Unix(1000, 0), time.Unix(2000, 0)
	pod := &corev1.Pod{}
	first := podStatus(pod, "ip", "host", []containerState{{Name: "app", Running: true, Ready: true}}, then)
	pod.Status = first
	again := podStatus(pod, "ip", "host", []containerState{{Name: "app", Running: true, Ready: true}}, now)
	for i, c := range again.Conditions {
		if !c.LastTransitionTime.Equal(&first.Conditions[i].LastTransitionTime) {
			t.Errorf("%s moved its transition time without a change", c.Type)
		}
	}
	if fingerprint(first) != fingerprint(again) {
		t.Error("an unchanged status has a new fingerprint: the agent would rewrite it")
	}
	changed := podStatus(pod, "ip", "host", []containerState{{Name: "app", Running: true}}, now)
	if fingerprint(changed) == fingerprint(first) {
		t.Error("a container that lost readiness kept the fingerprint: the agent would not report it")
	}
}

func TestFingerprintIgnoresConditionOrder(t *testing.T) {
	a := corev1.PodStatus{Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: "True"}, {Type: corev1.ContainersReady, Status: "True"}, {Type: "example.com/gate", Status: "True"}}}
	b := corev1.PodStatus{Conditions: []corev1.PodCondition{{Type: corev1.ContainersReady, Status: "True"}, {Type: corev1.PodReady, Status: "True"}}}
	if fingerprint(a) != fingerprint(b) {
		t.Errorf("%q != %q", fingerprint(a), fingerprint(b))
	}
}

func TestSplitImage(t *testing.T) {
	for image, want := range map[string][2]string{
		"cafe/demo:v2":                      {"cafe/demo", "v2"},
		"cafe/demo":                         {"cafe/demo", "latest"},
		"registry:5000/cafe/demo":           {"registry:5000/cafe/demo", "latest"},
		"registry:5000/cafe/demo:v3":        {"registry:5000/cafe/demo", "v3"},
		"cafe/demo@sha256:0123456789abcdef": {"cafe/demo", "sha256:0123456789abcdef"},
	} {
		if repo, tag := splitImage(image); repo != want[0] || tag != want[1] {
			t.Errorf("splitImage(%q) = %q, %q; want %q, %q", image, repo, tag, want[0], want[1])
		}
	}
}

func TestParseImageMap(t *testing.T) {
	m, err := ParseImageMap("cafe/demo=bin/cafe-demo, cafe/echo=/usr/bin/echo")
	if err != nil || m["cafe/demo"] != "bin/cafe-demo" || m["cafe/echo"] != "/usr/bin/echo" {
		t.Fatalf("got %v, %v", m, err)
	}
	for _, bad := range []string{"cafe/demo", "=bin", "cafe/demo="} {
		if _, err := ParseImageMap(bad); err == nil {
			t.Errorf("ParseImageMap(%q) accepted a malformed entry", bad)
		}
	}
	if _, err := newImages(m).resolve("other/app:v1"); err == nil {
		t.Error("an unmapped image resolved")
	}
}

func TestAddressPool(t *testing.T) {
	pool, err := newAddressPool("100.96.1.0/29")
	if err != nil {
		t.Fatal(err)
	}
	// .0 network, .1 the node, .7 broadcast: five pod addresses.
	var got []string
	for i := 0; i < 5; i++ {
		ip, err := pool.allocate(string(rune('a' + i)))
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, ip)
	}
	if got[0] != "100.96.1.2" || got[4] != "100.96.1.6" {
		t.Errorf("allocated %v", got)
	}
	if _, err := pool.allocate("f"); err == nil {
		t.Error("allocated past the end of the range")
	}
	pool.release("100.96.1.4")
	if ip, _ := pool.allocate("g"); ip != "100.96.1.4" {
		t.Errorf("after release got %s, want the freed 100.96.1.4", ip)
	}
	if pool.claim("h", "100.96.1.2") {
		t.Error("claimed another pod's address")
	}
	if !pool.claim("a", "100.96.1.2") || pool.claim("x", "100.96.2.9") || pool.claim("x", "100.96.1.1") {
		t.Error("claim: own address refused, or a foreign or reserved one accepted")
	}
	if _, err := newAddressPool("100.96.1.0/30"); err == nil {
		t.Error("accepted a range too small for pods")
	}
}

func TestContainerEnv(t *testing.T) {
	pod := &corev1.Pod{}
	pod.Name, pod.Namespace = "pay-0", "bank"
	pod.Labels = map[string]string{"app": "pay"}
	c := &corev1.Container{Name: "app", Image: "cafe/demo:v2", Env: []corev1.EnvVar{
		{Name: "PLAIN", Value: "x"},
		{Name: "MY_IP", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "status.podIP"}}},
		{Name: "APP", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.labels['app']"}}},
	}}
	env, err := containerEnv(pod, c, "100.96.1.2", "100.96.1.1", "unit-a", resolvedImage{Tag: "v2"})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{"PLAIN=x": true, "MY_IP=100.96.1.2": true, "APP=pay": true, "CAFE_IMAGE_TAG=v2": true, "POD_NAME=pay-0": true, "CAFE_UNIT=unit-a": true}
	for _, e := range env {
		delete(want, e)
	}
	if len(want) > 0 {
		t.Errorf("missing %v in %v", want, env)
	}
	c.Env = []corev1.EnvVar{{Name: "SECRET", ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{Key: "k"}}}}
	if _, err := containerEnv(pod, c, "", "", "", resolvedImage{}); err == nil {
		t.Error("a secret reference was accepted on a live node")
	}
}

func TestExpandVars(t *testing.T) {
	defined := map[string]string{"POD_IP": "100.96.1.2", "TAG": "v2"}
	for in, want := range map[string]string{
		"$(POD_IP):8080": "100.96.1.2:8080",
		"version-$(TAG)": "version-v2",
		"$$(POD_IP)":     "$(POD_IP)",
		"$(MISSING)-x":   "$(MISSING)-x",
		"cost $5":        "cost $5",
		"open $(POD_IP":  "open $(POD_IP",
		"$(TAG)$(TAG)":   "v2v2",
		"trailing $":     "trailing $",
	} {
		if got := expandVars(in, defined); got != want {
			t.Errorf("expandVars(%q) = %q, want %q", in, got, want)
		}
	}
}
