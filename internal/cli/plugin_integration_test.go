//go:build integration

package cli

import (
	"bytes"
	"context"
	"errors"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cafe-dev/cafe/internal/testenv"
)

// kubectl finds kubectl-cafe, built from this checkout, on PATH and runs it
// as `kubectl cafe`: it prints what the in-process command prints, and its
// errors reach the user with a failing exit code.
func TestKubectlRunsThePluginFromPath(t *testing.T) {
	ns := env.Namespace(t)
	createCompleted(t, ns, workloadSpec(ns, 3, "pay:v1", oneBatchStrategy))
	pluginDir := t.TempDir()
	build := exec.Command("go", "build", "-o", filepath.Join(pluginDir, "kubectl-cafe"), "./cmd/kubectl-cafe")
	build.Dir = testenv.RepoRoot()
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/kubectl-cafe: %v\n%s", err, out)
	}

	kubectl := func(args ...string) (stdout, stderr string, err error) {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, filepath.Join(testenv.BinDir(), "kubectl"), args...)
		// Only the fresh build on PATH: a kubectl-cafe elsewhere (bin/ has
		// one) must not answer instead.
		cmd.Env = []string{"PATH=" + pluginDir, "HOME=" + t.TempDir()}
		var o, e bytes.Buffer
		cmd.Stdout, cmd.Stderr = &o, &e
		err = cmd.Run()
		return o.String(), e.String(), err
	}

	stdout, stderr, err := kubectl("cafe", "get", "pay", "--kubeconfig", env.Platform.KubeconfigPath(), "-n", ns)
	if err != nil {
		t.Fatalf("kubectl cafe get pay: %v\n%s%s", err, stdout, stderr)
	}
	if want := mustCafe(t, ns, "get", "pay"); stdout != want {
		t.Errorf("kubectl cafe get pay printed\n%s\nwant what the command prints in-process:\n%s", stdout, want)
	}
	if !strings.HasPrefix(stdout, "CafeDeployment:  pay in namespace "+ns+"\n") {
		t.Errorf("kubectl cafe get pay printed\n%s", stdout)
	}

	stdout, stderr, err = kubectl("cafe", "get", "pya", "--kubeconfig", env.Platform.KubeconfigPath(), "-n", ns)
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 1 {
		t.Errorf("kubectl cafe get pya: %v, want exit code 1\n%s%s", err, stdout, stderr)
	}
	if want := `error: no CafeDeployment named "pya" in namespace "` + ns + `"`; !strings.HasPrefix(stderr, want) {
		t.Errorf("kubectl cafe get pya wrote to stderr %q, want it to start %q", stderr, want)
	}
}
