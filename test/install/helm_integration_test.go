//go:build integration

package install

import (
	"testing"

	"helm.sh/helm/v3/pkg/action"
	"helm.sh/helm/v3/pkg/chart"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/yaml"
)

// helmActions is what `helm <command> -n namespace` acts with: the Helm Go
// library's real install, upgrade and uninstall against the test's API
// server, releases stored in Secrets as the helm CLI stores them.
func helmActions(t *testing.T, namespace string) *action.Configuration {
	t.Helper()
	flags := genericclioptions.NewConfigFlags(false)
	flags.KubeConfig = ptr.To(env.Platform.KubeconfigPath())
	flags.Namespace = ptr.To(namespace)
	cfg := new(action.Configuration)
	if err := cfg.Init(flags, namespace, "secret", t.Logf); err != nil {
		t.Fatalf("helm: %v", err)
	}
	return cfg
}

// helmValues parses values given as YAML, as --set or -f would give them.
func helmValues(t *testing.T, values string) map[string]any {
	t.Helper()
	vals := map[string]any{}
	if err := yaml.Unmarshal([]byte(values), &vals); err != nil {
		t.Fatalf("test values are not YAML: %v", err)
	}
	return vals
}

// replaceChartFile swaps the content of one of the chart's files (its
// crds/ included), failing if the chart has no such file.
func replaceChartFile(t *testing.T, ch *chart.Chart, name string, data []byte) {
	t.Helper()
	for _, f := range ch.Files {
		if f.Name == name {
			f.Data = data
			return
		}
	}
	t.Fatalf("the chart has no file %s", name)
}
