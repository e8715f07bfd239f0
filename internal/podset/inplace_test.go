package podset

import (
	"encoding/json"
	"reflect"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/strategicpatch"
)

func template() corev1.PodTemplateSpec {
	return corev1.PodTemplateSpec{
		ObjectMeta: metav1.ObjectMeta{
			Labels:      map[string]string{"app": "web", "track": "stable"},
			Annotations: map[string]string{"team": "payments"},
		},
		Spec: corev1.PodSpec{
			InitContainers: []corev1.Container{{Name: "migrate", Image: "migrate:1"}},
			Containers: []corev1.Container{
				{Name: "app", Image: "web:1"},
				{Name: "proxy", Image: "envoy:1"},
			},
		},
	}
}

func TestInPlaceUpdatable(t *testing.T) {
	cases := []struct {
		name   string
		change func(*corev1.PodTemplateSpec)
		want   bool
	}{
		{"identical", func(*corev1.PodTemplateSpec) {}, true},
		{"container image", func(t *corev1.PodTemplateSpec) { t.Spec.Containers[1].Image = "envoy:2" }, true},
		{"init container image", func(t *corev1.PodTemplateSpec) { t.Spec.InitContainers[0].Image = "migrate:2" }, true},
		{"labels and annotations", func(t *corev1.PodTemplateSpec) {
			t.Labels["track"] = "canary"
			t.Annotations = nil
		}, true},
		{"environment", func(t *corev1.PodTemplateSpec) {
			t.Spec.Containers[0].Env = []corev1.EnvVar{{Name: "A", Value: "1"}}
		}, false},
		{"resources", func(t *corev1.PodTemplateSpec) {
			t.Spec.Containers[0].Resources.Limits = corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("1")}
		}, false},
		{"a container added", func(t *corev1.PodTemplateSpec) {
			t.Spec.Containers = append(t.Spec.Containers, corev1.Container{Name: "log", Image: "log:1"})
		}, false},
		{"a container renamed", func(t *corev1.PodTemplateSpec) { t.Spec.Containers[0].Name = "main" }, false},
		{"node selector", func(t *corev1.PodTemplateSpec) { t.Spec.NodeSelector = map[string]string{"zone": "a"} }, false},
		{"template name", func(t *corev1.PodTemplateSpec) { t.Name = "other" }, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			old, updated := template(), template()
			c.change(&updated)
			if got := InPlaceUpdatable(old, updated); got != c.want {
				t.Errorf("InPlaceUpdatable = %v, want %v", got, c.want)
			}
			if got := InPlaceUpdatable(updated, old); got != c.want {
				t.Errorf("InPlaceUpdatable (reversed) = %v, want %v", got, c.want)
			}
		})
	}
}

// podFrom is the pod a controller would have made from the template, plus
// what others added: the index label, a label from another controller, and
// a status.
func podFrom(t corev1.PodTemplateSpec) *corev1.Pod {
	p := &corev1.Pod{ObjectMeta: *t.ObjectMeta.DeepCopy(), Spec: *t.Spec.DeepCopy()}
	p.Name, p.UID = "web-0", "uid-1"
	p.Labels["apps.cafe.dev/revision"] = "v1"
	p.Labels["apps.cafe.dev/instance-index"] = "0"
	p.Labels["owned-by-someone-else"] = "yes"
	p.Spec.NodeName = "node-a"
	return p
}

func applyPatch(t *testing.T, pod *corev1.Pod, patch []byte) *corev1.Pod {
	t.Helper()
	original, err := json.Marshal(pod)
	if err != nil {
		t.Fatal(err)
	}
	merged, err := strategicpatch.StrategicMergePatch(original, patch, corev1.Pod{})
	if err != nil {
		t.Fatalf("patch %s does not apply: %v", patch, err)
	}
	var out corev1.Pod
	if err := json.Unmarshal(merged, &out); err != nil {
		t.Fatal(err)
	}
	return &out
}

func TestPodPatchForInPlaceSwitchesThePod(t *testing.T) {
	old, updated := template(), template()
	updated.Spec.Containers[0].Image = "web:2"
	updated.Spec.InitContainers[0].Image = "migrate:2"
	updated.Labels["track"] = "canary"
	updated.Labels["new"] = "label"
	delete(updated.Annotations, "team")
	updated.Annotations["owner"] = "ops"
	pod := podFrom(old)

	patch, err := PodPatchForInPlace(pod, &old, &updated, "apps.cafe.dev/revision", "v2")
	if err != nil {
		t.Fatal(err)
	}
	got := applyPatch(t, pod, patch)

	wantLabels := map[string]string{
		"app": "web", "track": "canary", "new": "label",
		"apps.cafe.dev/revision": "v2", "apps.cafe.dev/instance-index": "0", "owned-by-someone-else": "yes",
	}
	if !reflect.DeepEqual(got.Labels, wantLabels) {
		t.Errorf("labels %v, want %v", got.Labels, wantLabels)
	}
	if want := map[string]string{"owner": "ops"}; !reflect.DeepEqual(got.Annotations, want) {
		t.Errorf("annotations %v, want %v", got.Annotations, want)
	}
	if got.Spec.Containers[0].Image != "web:2" || got.Spec.Containers[1].Image != "envoy:1" {
		t.Errorf("container images %q %q", got.Spec.Containers[0].Image, got.Spec.Containers[1].Image)
	}
	if got.Spec.InitContainers[0].Image != "migrate:2" {
		t.Errorf("init container image %q", got.Spec.InitContainers[0].Image)
	}
	if got.Spec.NodeName != "node-a" || len(got.Spec.Containers) != 2 {
		t.Errorf("patch touched other fields: %+v", got.Spec)
	}
}

func TestPodPatchForInPlaceIsMinimal(t *testing.T) {
	old, updated := template(), template()
	updated.Spec.Containers[1].Image = "envoy:2"
	pod := podFrom(old)

	patch, err := PodPatchForInPlace(pod, &old, &updated, "apps.cafe.dev/revision", "v2")
	if err != nil {
		t.Fatal(err)
	}
	want := `{"metadata":{"labels":{"apps.cafe.dev/revision":"v2"},"uid":"uid-1"},` +
		`"spec":{"containers":[{"image":"envoy:2","name":"proxy"}]}}`
	if string(patch) != want {
		t.Errorf("patch\n got %s\nwant %s", patch, want)
	}
}

func TestPodPatchForInPlaceOnAnUpToDatePodOnlyGuardsTheUID(t *testing.T) {
	tmpl := template()
	pod := podFrom(tmpl)
	pod.Labels["apps.cafe.dev/revision"] = "v2"
	patch, err := PodPatchForInPlace(pod, &tmpl, &tmpl, "apps.cafe.dev/revision", "v2")
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"metadata":{"uid":"uid-1"}}`; string(patch) != want {
		t.Errorf("patch %s, want %s", patch, want)
	}
}

func TestPodPatchForInPlaceCarriesTheUIDAsAGuard(t *testing.T) {
	old, updated := template(), template()
	updated.Spec.Containers[0].Image = "web:2"
	observed := podFrom(old)
	patch, err := PodPatchForInPlace(observed, &old, &updated, "apps.cafe.dev/revision", "v2")
	if err != nil {
		t.Fatal(err)
	}
	var body struct {
		Metadata struct {
			UID string `json:"uid"`
		} `json:"metadata"`
	}
	if err := json.Unmarshal(patch, &body); err != nil {
		t.Fatal(err)
	}
	if body.Metadata.UID != "uid-1" {
		t.Errorf("patch uid %q, want the observed pod's uid-1", body.Metadata.UID)
	}
}
