package install

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// inClusterBinaries are the cmd/cafe-* directories but the local-only ones
// hack/images.sh lists: the binaries that run in a cluster and get an image
// (hack/images.sh builds the same list).
func inClusterBinaries(t testing.TB) []string {
	t.Helper()
	dirs, err := filepath.Glob(repoPath("cmd", "cafe-*"))
	if err != nil || len(dirs) == 0 {
		t.Fatalf("no cmd/cafe-* binaries (%v)", err)
	}
	localOnly := localOnlyBinaries(t)
	var names []string
	for _, d := range dirs {
		if info, err := os.Stat(d); err == nil && info.IsDir() && !localOnly[filepath.Base(d)] {
			names = append(names, filepath.Base(d))
		}
	}
	return names
}

// localOnlyBinaries reads hack/images.sh's local_only list.
func localOnlyBinaries(t testing.TB) map[string]bool {
	t.Helper()
	script, err := os.ReadFile(repoPath("hack", "images.sh"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^local_only=\(([^)]*)\)$`).FindSubmatch(script)
	if m == nil {
		t.Fatal("hack/images.sh has no local_only=(...) line")
	}
	out := map[string]bool{}
	for _, name := range strings.Fields(string(m[1])) {
		if _, err := os.Stat(repoPath("cmd", name)); err != nil {
			t.Errorf("hack/images.sh lists %s as local-only, but there is no cmd/%s", name, name)
		}
		out[name] = true
	}
	return out
}

// TestEveryInClusterBinaryHasADockerfile: docs/install.md promises a
// Dockerfile per component for those who build with Docker. CI cannot run
// Docker here, so this checks what the image must be: a static build of the
// component on scratch, with the CA bundle, as user 65532, entrypoint the
// binary, the same as `make images` assembles.
func TestEveryInClusterBinaryHasADockerfile(t *testing.T) {
	for _, name := range inClusterBinaries(t) {
		path := repoPath("build", name+".Dockerfile")
		data, err := os.ReadFile(path)
		if err != nil {
			t.Errorf("cmd/%s has no build/%s.Dockerfile (copy build/cafe-controller.Dockerfile): %v", name, name, err)
			continue
		}
		text := string(data)
		for _, want := range []string{
			"CGO_ENABLED=0",
			"-trimpath",
			"./cmd/" + name + "\n",
			"FROM scratch",
			"COPY --from=build /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt",
			"COPY --from=build /out/" + name + " /" + name + "\n",
			"USER 65532:65532",
			`ENTRYPOINT ["/` + name + `"]`,
		} {
			if !strings.Contains(text, want) {
				t.Errorf("build/%s.Dockerfile lacks %q", name, want)
			}
		}
		if _, err := os.Stat(path + ".dockerignore"); err != nil {
			t.Errorf("build/%s.Dockerfile has no .dockerignore keeping bin/ and .cafe/ out of the build context", name)
		}
	}
}
