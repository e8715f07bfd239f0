package podset

import (
	"encoding/json"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
)

// InPlaceUpdatable reports whether a pod made from template old can be
// switched to template updated without a new pod: true when the two differ
// only in labels, annotations and the images of containers and init
// containers, which the API server lets a running pod change.
//
// A running pod's kubelet restarts a container whose image changed, but it
// does not run completed init containers again: a new init-container image
// takes effect the next time the pod initializes. Sidecar init containers
// (restartPolicy Always) restart like ordinary containers.
func InPlaceUpdatable(old, updated corev1.PodTemplateSpec) bool {
	return equality.Semantic.DeepEqual(withoutInPlaceFields(old), withoutInPlaceFields(updated))
}

// withoutInPlaceFields returns a copy of the template with every field an
// in-place update may change blanked out.
func withoutInPlaceFields(t corev1.PodTemplateSpec) *corev1.PodTemplateSpec {
	c := t.DeepCopy()
	c.Labels = nil
	c.Annotations = nil
	for i := range c.Spec.Containers {
		c.Spec.Containers[i].Image = ""
	}
	for i := range c.Spec.InitContainers {
		c.Spec.InitContainers[i].Image = ""
	}
	return c
}

// PodPatchForInPlace returns the strategic merge patch that switches pod to
// template updated, which replaced template old (the pod's current
// revision's template): it sets the labels and annotations updated adds or
// changes, removes the ones old had and updated dropped (labels and
// annotations other controllers put on the pod are left alone), sets the
// revision label, and sets the image of every container and init container
// whose image differs from the pod's. It names only what changes, so it
// neither resets fields others manage nor fights the kubelet.
//
// The patch carries the pod's UID and resourceVersion, so it fails instead
// of changing a pod that was recreated under the same name, or changed at
// all (put back into traffic, say), since it was observed.
// Send it with types.StrategicMergePatchType. The caller must have checked
// InPlaceUpdatable(old, updated).
func PodPatchForInPlace(pod *corev1.Pod, old, updated *corev1.PodTemplateSpec, revisionLabel, revision string) ([]byte, error) {
	wantLabels := map[string]string{revisionLabel: revision}
	for k, v := range updated.Labels {
		if k != revisionLabel {
			wantLabels[k] = v
		}
	}
	metadata := map[string]any{}
	if pod.UID != "" {
		metadata["uid"] = pod.UID
	}
	if pod.ResourceVersion != "" {
		metadata["resourceVersion"] = pod.ResourceVersion
	}
	if m := mapPatch(pod.Labels, old.Labels, wantLabels); len(m) > 0 {
		metadata["labels"] = m
	}
	if m := mapPatch(pod.Annotations, old.Annotations, updated.Annotations); len(m) > 0 {
		metadata["annotations"] = m
	}

	spec := map[string]any{}
	if c := imagePatch(pod.Spec.Containers, updated.Spec.Containers); len(c) > 0 {
		spec["containers"] = c
	}
	if c := imagePatch(pod.Spec.InitContainers, updated.Spec.InitContainers); len(c) > 0 {
		spec["initContainers"] = c
	}

	patch := map[string]any{"metadata": metadata}
	if len(spec) > 0 {
		patch["spec"] = spec
	}
	return json.Marshal(patch)
}

// mapPatch returns the merge-patch entries that take have to want: changed
// or new keys with their values, and keys the old template set but want
// lacks as null (deletions).
func mapPatch(have, old, want map[string]string) map[string]any {
	m := map[string]any{}
	for k, v := range want {
		if cur, ok := have[k]; !ok || cur != v {
			m[k] = v
		}
	}
	for k := range old {
		if _, keep := want[k]; !keep {
			if _, present := have[k]; present {
				m[k] = nil
			}
		}
	}
	return m
}

// imagePatch lists, by name (the strategic merge key of container lists),
// the containers whose image must change.
func imagePatch(have, want []corev1.Container) []map[string]string {
	current := map[string]string{}
	for _, c := range have {
		current[c.Name] = c.Image
	}
	var out []map[string]string
	for _, c := range want {
		if image, ok := current[c.Name]; ok && image != c.Image {
			out = append(out, map[string]string{"name": c.Name, "image": c.Image})
		}
	}
	return out
}
