package install

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"testing"

	"sigs.k8s.io/yaml"
)

// The installs pick up generated files through copies and lists that
// hack/generate.sh writes; these tests fail, naming the fix, when someone
// regenerated CRDs or RBAC without it.

func TestCRDKustomizationListsEveryBase(t *testing.T) {
	var k struct {
		Resources []string `json:"resources"`
	}
	readYAML(t, repoPath("config", "crd", "kustomization.yaml"), &k)
	files, err := filepath.Glob(repoPath("config", "crd", "bases", "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, f := range files {
		want = append(want, "bases/"+filepath.Base(f))
	}
	got := slices.Clone(k.Resources)
	sort.Strings(got)
	if !slices.Equal(got, want) {
		t.Errorf("config/crd/kustomization.yaml lists %v, config/crd/bases holds %v: run hack/generate.sh", got, want)
	}
}

func TestChartCopiesAreCurrent(t *testing.T) {
	pairs := map[string]string{ // chart copy: source
		"charts/cafe/files/controller-role.yaml": "config/rbac/role.yaml",
	}
	for _, dir := range []struct{ copies, sources, pattern string }{
		{"charts/cafe/crds", "config/crd/bases", "*.yaml"},
		{"charts/cafe/files/user-roles", "config/rbac/users", "cafe_*_role.yaml"},
	} {
		sources, _ := filepath.Glob(repoPath(dir.sources, dir.pattern))
		copies, _ := filepath.Glob(repoPath(dir.copies, "*.yaml"))
		if len(sources) == 0 || len(sources) != len(copies) {
			t.Errorf("%s holds %d files, %s %d: run hack/generate.sh", dir.copies, len(copies), dir.sources, len(sources))
		}
		for _, s := range sources {
			pairs[filepath.ToSlash(filepath.Join(dir.copies, filepath.Base(s)))] = filepath.ToSlash(filepath.Join(dir.sources, filepath.Base(s)))
		}
	}
	for copied, source := range pairs {
		want, err := os.ReadFile(repoPath(source))
		if err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(repoPath(copied))
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("%s is not a copy of %s: run hack/generate.sh", copied, source)
		}
	}
}

// TestChartRulesFileIsOneRole: the chart reads the rules with fromYaml,
// which takes one document; controller-gen writes more than one if a
// marker ever names a namespace.
func TestChartRulesFileIsOneRole(t *testing.T) {
	data, err := os.ReadFile(repoPath("config", "rbac", "role.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	objs := parseManifests(t, data)
	if len(objs) != 1 || objs[0].GetKind() != "ClusterRole" || objs[0].GetName() != "cafe-controller" {
		t.Fatalf("config/rbac/role.yaml holds %s, want only ClusterRole cafe-controller", describe(objs))
	}
	var role map[string]any
	if err := yaml.Unmarshal(data, &role); err != nil || role["rules"] == nil {
		t.Fatalf("config/rbac/role.yaml does not read as one document with rules: %v", err)
	}
}
