// Package admission embeds CAFE's admission policies (config/admission) and
// installs them.
package admission

import (
	"bytes"
	"context"
	_ "embed"
	"fmt"

	admissionv1 "k8s.io/api/admissionregistration/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/yaml"
)

//go:embed pod-protection.yaml
var podProtection []byte

// Install applies the pod-protection policy and its binding server-side.
func Install(ctx context.Context, cfg *rest.Config) error {
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return err
	}
	docs := bytes.Split(podProtection, []byte("\n---\n"))
	if len(docs) != 2 {
		return fmt.Errorf("pod-protection.yaml: want a policy and a binding, got %d documents", len(docs))
	}
	force := true
	opts := metav1.PatchOptions{FieldManager: "cafe", Force: &force}
	var policy admissionv1.ValidatingAdmissionPolicy
	if err := yaml.UnmarshalStrict(docs[0], &policy); err != nil {
		return fmt.Errorf("pod-protection policy: %w", err)
	}
	var binding admissionv1.ValidatingAdmissionPolicyBinding
	if err := yaml.UnmarshalStrict(docs[1], &binding); err != nil {
		return fmt.Errorf("pod-protection binding: %w", err)
	}
	for _, d := range docs {
		body, err := yaml.YAMLToJSON(d)
		if err != nil {
			return err
		}
		var meta struct {
			Kind     string                `json:"kind"`
			Metadata struct{ Name string } `json:"metadata"`
		}
		if err := yaml.Unmarshal(d, &meta); err != nil {
			return err
		}
		switch meta.Kind {
		case "ValidatingAdmissionPolicy":
			_, err = cs.AdmissionregistrationV1().ValidatingAdmissionPolicies().Patch(ctx, meta.Metadata.Name, types.ApplyPatchType, body, opts)
		case "ValidatingAdmissionPolicyBinding":
			_, err = cs.AdmissionregistrationV1().ValidatingAdmissionPolicyBindings().Patch(ctx, meta.Metadata.Name, types.ApplyPatchType, body, opts)
		}
		if err != nil {
			return fmt.Errorf("install %s %s: %w", meta.Kind, meta.Metadata.Name, err)
		}
	}
	return nil
}
