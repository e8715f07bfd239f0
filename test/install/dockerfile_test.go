package install

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// inClusterBinaries are the cmd/cafe-* directories: the binaries that run in
// a cluster and get an image (hack/images.sh builds the same list).
func inClusterBinaries(t testing.TB) []string {
	t.Helper()
	dirs, err := filepath.Glob(repoPath("cmd", "cafe-*"))
	if err != nil || len(dirs) == 0 {
		t.Fatalf("no cmd/cafe-* binaries (%v)", err)
	}
	var names []string
	for _, d := range dirs {
		if info, err := os.Stat(d); err == nil && info.IsDir() {
			names = append(names, filepath.Base(d))
		}
	}
	return names
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
