//go:build integration

// Package cli_test runs kubectl cafe against a cluster without CAFE's CRDs,
// which needs a platform of its own: internal/cli's tests install them.
package cli_test

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/cafe-dev/cafe/internal/cli"
	"github.com/cafe-dev/cafe/internal/testenv"
)

var env *testenv.Env

func TestMain(m *testing.M) {
	testenv.Main(m, testenv.Options{}, &env)
}

func TestCommandsSayTheCRDsAreMissing(t *testing.T) {
	const want = "CAFE's CRDs are not installed in this cluster (it does not know CafeDeployment): " +
		"run make run for a local platform, or kubectl apply --server-side -k config/crd"
	for _, args := range [][]string{
		{"get"},
		{"get", "pay"},
		{"get", "pay", "--watch"},
		{"confirm", "pay", "--batch", "1"},
		{"pause", "pay"},
		{"rollback", "pay"},
		{"history", "pay"},
	} {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		var out bytes.Buffer
		cmd := cli.NewCommand(genericiooptions.IOStreams{In: strings.NewReader(""), Out: &out, ErrOut: &out})
		cmd.SetArgs(append([]string{"--kubeconfig", env.Platform.KubeconfigPath(), "-n", "default"}, args...))
		err := cmd.ExecuteContext(ctx)
		cancel()
		if err == nil || err.Error() != want {
			t.Errorf("kubectl cafe %s: error %v, want %q\n%s", strings.Join(args, " "), err, want, out.String())
		}
	}
}
