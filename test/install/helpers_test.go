// Package install tests how CAFE is installed on a cluster: the kustomize
// configuration in config/, the Helm chart in charts/cafe and the images
// hack/images.sh builds. Unit tests render and inspect; the integration
// tests (build tag integration) build the images and install on a real API
// server.
package install

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"
)

// repoPath is a path relative to the repository root (tests run in
// test/install).
func repoPath(elem ...string) string {
	return filepath.Join(append([]string{"..", ".."}, elem...)...)
}

// parseManifests decodes a multi-document YAML stream into objects,
// skipping empty documents. Every object must have a kind and a name.
func parseManifests(t testing.TB, stream []byte) []*unstructured.Unstructured {
	t.Helper()
	var objs []*unstructured.Unstructured
	decoder := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(stream), 4096)
	for {
		var doc map[string]any
		if err := decoder.Decode(&doc); err != nil {
			if errors.Is(err, io.EOF) {
				return objs
			}
			t.Fatalf("manifests are not valid YAML: %v", err)
		}
		if len(doc) == 0 {
			continue
		}
		obj := &unstructured.Unstructured{Object: doc}
		if obj.GetKind() == "" || obj.GetName() == "" {
			t.Fatalf("a manifest has no kind or name: %v", doc)
		}
		objs = append(objs, obj)
	}
}

// find returns the one object of kind and name, failing the test if there
// is none or more than one.
func find(t testing.TB, objs []*unstructured.Unstructured, kind, name string) *unstructured.Unstructured {
	t.Helper()
	var found []*unstructured.Unstructured
	for _, o := range objs {
		if o.GetKind() == kind && o.GetName() == name {
			found = append(found, o)
		}
	}
	if len(found) != 1 {
		t.Fatalf("want one %s %q, found %d among: %s", kind, name, len(found), describe(objs))
	}
	return found[0]
}

// has reports whether objs hold an object of kind and name.
func has(objs []*unstructured.Unstructured, kind, name string) bool {
	return slices.ContainsFunc(objs, func(o *unstructured.Unstructured) bool {
		return o.GetKind() == kind && o.GetName() == name
	})
}

func describe(objs []*unstructured.Unstructured) string {
	var names []string
	for _, o := range objs {
		names = append(names, o.GetKind()+"/"+o.GetName())
	}
	sort.Strings(names)
	return strings.Join(names, ", ")
}

// typed converts an unstructured object into a typed one.
func typed[T any](t testing.TB, obj *unstructured.Unstructured) *T {
	t.Helper()
	out := new(T)
	if err := runtime.DefaultUnstructuredConverter.FromUnstructuredWithValidation(obj.Object, out, true); err != nil {
		t.Fatalf("%s %s does not decode as %T: %v", obj.GetKind(), obj.GetName(), out, err)
	}
	return out
}

// clusterScopedKinds are the cluster-scoped kinds an install may create.
var clusterScopedKinds = map[string]bool{
	"Namespace": true, "CustomResourceDefinition": true, "ClusterRole": true, "ClusterRoleBinding": true,
	"ValidatingAdmissionPolicy": true, "ValidatingAdmissionPolicyBinding": true,
}

// admissionPolicies are CAFE's ValidatingAdmissionPolicies, sorted, each with
// a binding of the same name (config/admission).
var admissionPolicies = []string{"cafe-approver-scope", "cafe-pod-protection", "cafe-release-approver", "cafe-selector-matches-template", "cafe-shardmap-ranges"}

// generatedRules are the controller's rules controller-gen wrote into
// config/rbac/role.yaml.
func generatedRules(t testing.TB) []rbacv1.PolicyRule {
	t.Helper()
	var role rbacv1.ClusterRole
	readYAML(t, repoPath("config", "rbac", "role.yaml"), &role)
	if len(role.Rules) == 0 {
		t.Fatal("config/rbac/role.yaml has no rules")
	}
	return role.Rules
}

// generatedCRDs are the CRDs in config/crd/bases, by file name.
func generatedCRDs(t testing.TB) map[string]*apiextensionsv1.CustomResourceDefinition {
	t.Helper()
	files, err := filepath.Glob(repoPath("config", "crd", "bases", "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no CRDs in config/crd/bases (%v)", err)
	}
	crds := map[string]*apiextensionsv1.CustomResourceDefinition{}
	for _, f := range files {
		var crd apiextensionsv1.CustomResourceDefinition
		readYAML(t, f, &crd)
		crds[filepath.Base(f)] = &crd
	}
	return crds
}

// crdNames are the names of the CRDs in config/crd/bases, sorted.
func crdNames(t testing.TB) []string {
	var names []string
	for _, crd := range generatedCRDs(t) {
		names = append(names, crd.Name)
	}
	sort.Strings(names)
	return names
}

func readYAML(t testing.TB, path string, into any) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(data, into); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

// namesOfKind lists the names of objs' objects of kind, sorted.
func namesOfKind(objs []*unstructured.Unstructured, kind string) []string {
	var names []string
	for _, o := range objs {
		if o.GetKind() == kind {
			names = append(names, o.GetName())
		}
	}
	sort.Strings(names)
	return names
}

// container is the Deployment's container called name.
func container(t testing.TB, d *appsv1.Deployment, name string) *corev1.Container {
	t.Helper()
	for i := range d.Spec.Template.Spec.Containers {
		if c := &d.Spec.Template.Spec.Containers[i]; c.Name == name {
			return c
		}
	}
	t.Fatalf("deployment %s has no container named %s", d.Name, name)
	return nil
}
