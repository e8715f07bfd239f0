// Package revision names and stores pod-template revisions in
// ControllerRevisions, for InPlaceSets and CafeDeployments alike.
package revision

import (
	"encoding/json"
	"fmt"
	"hash/fnv"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/rand"
)

// Hash is a short, stable hash of a pod template. Equal templates hash
// equally, so going back to an old template finds its old revision.
func Hash(t *corev1.PodTemplateSpec) string {
	data, _ := json.Marshal(t)
	h := fnv.New32a()
	h.Write(data)
	return rand.SafeEncodeString(fmt.Sprint(h.Sum32()))
}

// Name is the revision name of owner's template: "<owner>-<hash>".
func Name(owner string, t *corev1.PodTemplateSpec) string { return owner + "-" + Hash(t) }

// Template decodes the pod template a ControllerRevision holds.
func Template(rev *appsv1.ControllerRevision) (*corev1.PodTemplateSpec, error) {
	var t corev1.PodTemplateSpec
	if err := json.Unmarshal(rev.Data.Raw, &t); err != nil {
		return nil, fmt.Errorf("revision %s is corrupt: %w", rev.Name, err)
	}
	return &t, nil
}

// Data encodes a template for a ControllerRevision.
func Data(t *corev1.PodTemplateSpec) ([]byte, error) { return json.Marshal(t) }
