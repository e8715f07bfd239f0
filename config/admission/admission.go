// Package admission embeds CAFE's admission policies (config/admission) and
// installs them.
package admission

import (
	"bytes"
	"context"
	"embed"
	"fmt"
	"io/fs"

	admissionv1 "k8s.io/api/admissionregistration/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/yaml"
)

//go:embed *.yaml
var policies embed.FS

// Install applies every policy and binding in config/admission server-side.
func Install(ctx context.Context, cfg *rest.Config) error {
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return err
	}
	files, err := fs.Glob(policies, "*.yaml")
	if err != nil {
		return err
	}
	force := true
	opts := metav1.PatchOptions{FieldManager: "cafe", Force: &force}
	for _, f := range files {
		if f == "kustomization.yaml" {
			continue
		}
		data, err := policies.ReadFile(f)
		if err != nil {
			return err
		}
		for _, doc := range bytes.Split(data, []byte("\n---\n")) {
			if err := apply(ctx, cs, f, doc, opts); err != nil {
				return err
			}
		}
	}
	return nil
}

// apply validates one document strictly against its type and applies it.
func apply(ctx context.Context, cs kubernetes.Interface, file string, doc []byte, opts metav1.PatchOptions) error {
	var meta struct {
		Kind     string                `json:"kind"`
		Metadata struct{ Name string } `json:"metadata"`
	}
	if err := yaml.Unmarshal(doc, &meta); err != nil {
		return fmt.Errorf("%s: %w", file, err)
	}
	body, err := yaml.YAMLToJSON(doc)
	if err != nil {
		return fmt.Errorf("%s: %w", file, err)
	}
	switch meta.Kind {
	case "ValidatingAdmissionPolicy":
		if err := yaml.UnmarshalStrict(doc, &admissionv1.ValidatingAdmissionPolicy{}); err != nil {
			return fmt.Errorf("%s: %w", file, err)
		}
		_, err = cs.AdmissionregistrationV1().ValidatingAdmissionPolicies().Patch(ctx, meta.Metadata.Name, types.ApplyPatchType, body, opts)
	case "ValidatingAdmissionPolicyBinding":
		if err := yaml.UnmarshalStrict(doc, &admissionv1.ValidatingAdmissionPolicyBinding{}); err != nil {
			return fmt.Errorf("%s: %w", file, err)
		}
		_, err = cs.AdmissionregistrationV1().ValidatingAdmissionPolicyBindings().Patch(ctx, meta.Metadata.Name, types.ApplyPatchType, body, opts)
	default:
		return fmt.Errorf("%s: unexpected kind %q", file, meta.Kind)
	}
	if err != nil {
		return fmt.Errorf("install %s %s: %w", meta.Kind, meta.Metadata.Name, err)
	}
	return nil
}
