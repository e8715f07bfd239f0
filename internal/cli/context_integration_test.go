//go:build integration

package cli

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// --context picks the cluster and namespace from a kubeconfig whose current
// context is of no use, and -n overrides the chosen context's namespace.
func TestContextFlagSelectsClusterAndNamespace(t *testing.T) {
	contextNS, otherNS := env.Namespace(t), env.Namespace(t)
	for _, ns := range []string{contextNS, otherNS} {
		if err := env.Client.Create(context.Background(), workloadSpec(ns, 3, "pay:v1", oneBatchStrategy)); err != nil {
			t.Fatal(err)
		}
	}
	kubeconfig := twoContextKubeconfig(t, contextNS)

	run := func(args ...string) (string, error) {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		var out bytes.Buffer
		err := runCafe(ctx, &out, append([]string{"--kubeconfig", kubeconfig}, args...)...)
		return out.String(), err
	}

	// Without --context the current one is used, and its server refuses.
	if out, err := run("get", "pay"); err == nil || !strings.Contains(err.Error(), "cannot reach the API server") {
		t.Fatalf("the current context points nowhere, so get should fail to reach it; error %v\n%s", err, out)
	}
	out, err := run("--context", "platform", "get", "pay")
	if err != nil {
		t.Fatalf("--context platform: %v\n%s", err, out)
	}
	if want := "CafeDeployment:  pay in namespace " + contextNS + "\n"; !strings.HasPrefix(out, want) {
		t.Errorf("--context platform should show pay in the context's namespace %s:\n%s", contextNS, out)
	}
	out, err = run("--context", "platform", "-n", otherNS, "get", "pay")
	if err != nil {
		t.Fatalf("--context platform -n %s: %v\n%s", otherNS, err, out)
	}
	if want := "CafeDeployment:  pay in namespace " + otherNS + "\n"; !strings.HasPrefix(out, want) {
		t.Errorf("-n should override the context's namespace:\n%s", out)
	}
}

// twoContextKubeconfig writes a kubeconfig with the test platform's
// credentials and two contexts: "nowhere", current, whose server refuses
// connections, and "platform", the test platform with namespace ns.
func twoContextKubeconfig(t *testing.T, ns string) string {
	t.Helper()
	cfg, err := clientcmd.LoadFromFile(env.Platform.KubeconfigPath())
	if err != nil {
		t.Fatal(err)
	}
	raw := cfg.Contexts[cfg.CurrentContext]
	if raw == nil {
		t.Fatalf("the platform's kubeconfig has no current context %q", cfg.CurrentContext)
	}
	// Port 1 on the loopback: nothing listens, so a connection is refused
	// at once instead of timing out.
	cfg.Clusters["nowhere"] = &clientcmdapi.Cluster{Server: "https://127.0.0.1:1"}
	cfg.Contexts = map[string]*clientcmdapi.Context{
		"nowhere":  {Cluster: "nowhere", AuthInfo: raw.AuthInfo, Namespace: ns},
		"platform": {Cluster: raw.Cluster, AuthInfo: raw.AuthInfo, Namespace: ns},
	}
	cfg.CurrentContext = "nowhere"
	path := filepath.Join(t.TempDir(), "kubeconfig")
	if err := clientcmd.WriteToFile(*cfg, path); err != nil {
		t.Fatal(err)
	}
	return path
}
