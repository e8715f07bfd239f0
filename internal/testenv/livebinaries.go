package testenv

import (
	"fmt"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// buildLiveBinaries builds cafe-node, the packages images map to and the
// extra packages into dir, and returns the agent's path and the image map in
// cafe-node's form.
func buildLiveBinaries(dir string, images map[string]string, extra []string) (agent, imageMap string, err error) {
	if os.Geteuid() != 0 {
		return "", "", fmt.Errorf("live nodes need root (network namespaces); run the tests as root")
	}
	agent = filepath.Join(dir, "cafe-node")
	for _, pkg := range append([]string{"./cmd/cafe-node"}, extra...) {
		if err := goBuild(filepath.Join(dir, path.Base(pkg)), pkg); err != nil {
			return "", "", err
		}
	}
	var entries []string
	for repo, pkg := range images {
		bin := filepath.Join(dir, path.Base(pkg))
		if err := goBuild(bin, pkg); err != nil {
			return "", "", err
		}
		entries = append(entries, repo+"="+bin)
	}
	sort.Strings(entries)
	return agent, strings.Join(entries, ","), nil
}

func goBuild(out, pkg string) error {
	cmd := exec.Command("go", "build", "-o", out, pkg)
	cmd.Dir = RepoRoot()
	if msg, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build %s: %v\n%s", pkg, err, msg)
	}
	return nil
}

// BuildCommand builds a package of this module (e.g. "./cmd/cafe") into a
// temporary directory of t and returns the binary's path, so a test runs
// this checkout's code, never a stale build in bin/.
func BuildCommand(t testing.TB, pkg string) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), path.Base(pkg))
	if err := goBuild(bin, pkg); err != nil {
		t.Fatal(err)
	}
	return bin
}
