//go:build integration

package install

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestImagesAreRunnableNonRootOCILayouts runs `make images`' script and
// reads every layout it writes with nothing but the OCI image-layout
// specification: every blob matches its digest and size, the config runs
// the binary as a non-root user, and the binary taken out of the layer runs.
// (hack/tools/imagebuild also validates each layout with go-containerregistry
// before the script succeeds.) A second build must give the same digests.
func TestImagesAreRunnableNonRootOCILayouts(t *testing.T) {
	const version = "v0.0.0-test"
	out := t.TempDir()
	buildImages(t, out, version)

	for _, name := range inClusterBinaries(t) {
		t.Run(name, func(t *testing.T) {
			layout := ociLayout{dir: filepath.Join(out, name)}
			var marker struct {
				Version string `json:"imageLayoutVersion"`
			}
			layout.readJSON(t, "oci-layout", &marker)
			if marker.Version != "1.0.0" {
				t.Errorf("oci-layout version = %q", marker.Version)
			}
			var index ociIndex
			layout.readJSON(t, "index.json", &index)
			if index.SchemaVersion != 2 || len(index.Manifests) != 1 {
				t.Fatalf("index.json: schemaVersion %d with %d manifests, want 2 with one", index.SchemaVersion, len(index.Manifests))
			}
			desc := index.Manifests[0]
			if desc.MediaType != "application/vnd.oci.image.manifest.v1+json" {
				t.Errorf("manifest media type = %q", desc.MediaType)
			}
			if desc.Platform == nil || desc.Platform.OS != "linux" || desc.Platform.Architecture != runtime.GOARCH {
				t.Errorf("platform = %+v, want linux/%s", desc.Platform, runtime.GOARCH)
			}
			if ref := desc.Annotations["org.opencontainers.image.ref.name"]; ref != version {
				t.Errorf("reference name = %q, want %q", ref, version)
			}

			var manifest ociManifest
			if err := json.Unmarshal(layout.blob(t, desc), &manifest); err != nil {
				t.Fatal(err)
			}
			if manifest.Config.MediaType != "application/vnd.oci.image.config.v1+json" || len(manifest.Layers) != 1 {
				t.Fatalf("manifest: config %q and %d layers, want an OCI config and one layer", manifest.Config.MediaType, len(manifest.Layers))
			}
			var config ociConfig
			if err := json.Unmarshal(layout.blob(t, manifest.Config), &config); err != nil {
				t.Fatal(err)
			}
			checkNonRoot(t, config.Config.User)
			if !slices.Equal(config.Config.Entrypoint, []string{"/" + name}) {
				t.Errorf("entrypoint = %v, want [/%s]", config.Config.Entrypoint, name)
			}
			for label, want := range map[string]string{
				"org.opencontainers.image.source":  "https://github.com/cafe-dev/cafe",
				"org.opencontainers.image.version": version,
			} {
				if got := config.Config.Labels[label]; got != want {
					t.Errorf("label %s = %q, want %q", label, got, want)
				}
			}

			layer := manifest.Layers[0]
			if layer.MediaType != "application/vnd.oci.image.layer.v1.tar+gzip" {
				t.Errorf("layer media type = %q", layer.MediaType)
			}
			tarball := gunzip(t, layout.blob(t, layer))
			if len(config.RootFS.DiffIDs) != 1 || config.RootFS.DiffIDs[0] != sha256Digest(tarball) {
				t.Errorf("config diff_ids %v do not match the uncompressed layer %s", config.RootFS.DiffIDs, sha256Digest(tarball))
			}
			files := untar(t, tarball)
			bundle := files["etc/ssl/certs/ca-certificates.crt"]
			if bundle == nil || !bytes.Contains(bundle.data, []byte("-----BEGIN CERTIFICATE-----")) {
				t.Error("the layer has no CA bundle at /etc/ssl/certs/ca-certificates.crt")
			}
			binary := files[name]
			if binary == nil || binary.mode&0o111 == 0 {
				t.Fatalf("the layer has no executable /%s", name)
			}
			runHelp(t, name, binary.data)
		})
	}

	again := t.TempDir()
	buildImages(t, again, version)
	for _, name := range inClusterBinaries(t) {
		first, _ := os.ReadFile(filepath.Join(out, name, "index.json"))
		second, _ := os.ReadFile(filepath.Join(again, name, "index.json"))
		if !bytes.Equal(first, second) {
			t.Errorf("%s: two builds of the same source differ:\n%s\n%s", name, first, second)
		}
	}
}

func buildImages(t *testing.T, out, version string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", "hack/images.sh")
	cmd.Dir = repoPath()
	cmd.Env = append(os.Environ(), "CAFE_IMAGES_OUT="+out, "VERSION="+version, "SOURCE_DATE_EPOCH=1700000000",
		"REVISION=0123456789abcdef0123456789abcdef01234567", "GOARCH="+runtime.GOARCH)
	output, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("hack/images.sh: %v\n%s", err, output)
	}
	t.Logf("hack/images.sh:\n%s", output)
}

// checkNonRoot accepts "uid" or "uid:gid" with numeric, non-zero ids:
// runAsNonRoot can only verify a numeric user.
func checkNonRoot(t *testing.T, user string) {
	t.Helper()
	for _, id := range strings.Split(user, ":") {
		n, err := strconv.Atoi(id)
		if err != nil || n == 0 {
			t.Errorf("image user %q is not a numeric non-root user", user)
			return
		}
	}
}

// runHelp runs the binary taken from the image with --help: a static
// binary runs on this machine as it would in the image.
func runHelp(t *testing.T, name string, binary []byte) {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, binary, 0o755); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	output, err := exec.CommandContext(ctx, path, "--help").CombinedOutput()
	if err != nil {
		t.Fatalf("/%s --help from the image: %v\n%s", name, err, output)
	}
	if !strings.Contains(strings.ToLower(string(output)), "usage") {
		t.Errorf("/%s --help printed no usage:\n%s", name, output)
	}
}

type ociDescriptor struct {
	MediaType   string            `json:"mediaType"`
	Digest      string            `json:"digest"`
	Size        int64             `json:"size"`
	Annotations map[string]string `json:"annotations"`
	Platform    *struct {
		OS           string `json:"os"`
		Architecture string `json:"architecture"`
	} `json:"platform"`
}

type ociIndex struct {
	SchemaVersion int             `json:"schemaVersion"`
	Manifests     []ociDescriptor `json:"manifests"`
}

type ociManifest struct {
	Config ociDescriptor   `json:"config"`
	Layers []ociDescriptor `json:"layers"`
}

type ociConfig struct {
	Config struct {
		User       string            `json:"User"`
		Entrypoint []string          `json:"Entrypoint"`
		Labels     map[string]string `json:"Labels"`
	} `json:"config"`
	RootFS struct {
		DiffIDs []string `json:"diff_ids"`
	} `json:"rootfs"`
}

type ociLayout struct{ dir string }

func (l ociLayout) readJSON(t *testing.T, name string, into any) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(l.dir, name))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, into); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
}

// blob reads a descriptor's blob and checks its size and digest.
func (l ociLayout) blob(t *testing.T, d ociDescriptor) []byte {
	t.Helper()
	algorithm, hexDigest, ok := strings.Cut(d.Digest, ":")
	if !ok || algorithm != "sha256" {
		t.Fatalf("digest %q is not sha256", d.Digest)
	}
	data, err := os.ReadFile(filepath.Join(l.dir, "blobs", "sha256", hexDigest))
	if err != nil {
		t.Fatalf("blob %s: %v", d.Digest, err)
	}
	if int64(len(data)) != d.Size {
		t.Errorf("blob %s has %d bytes, its descriptor says %d", d.Digest, len(data), d.Size)
	}
	if got := sha256Digest(data); got != d.Digest {
		t.Errorf("blob %s hashes to %s", d.Digest, got)
	}
	return data
}

func sha256Digest(data []byte) string {
	sum := sha256.Sum256(data)
	return "sha256:" + hex.EncodeToString(sum[:])
}

func gunzip(t *testing.T, data []byte) []byte {
	t.Helper()
	r, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	out, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

type tarFile struct {
	mode int64
	data []byte
}

// untar returns the regular files of a tar by path.
func untar(t *testing.T, data []byte) map[string]*tarFile {
	t.Helper()
	files := map[string]*tarFile{}
	r := tar.NewReader(bytes.NewReader(data))
	for {
		h, err := r.Next()
		if errors.Is(err, io.EOF) {
			return files
		}
		if err != nil {
			t.Fatal(err)
		}
		if h.Typeflag != tar.TypeReg {
			continue
		}
		body, err := io.ReadAll(r)
		if err != nil {
			t.Fatal(fmt.Errorf("%s: %w", h.Name, err))
		}
		files[strings.TrimPrefix(h.Name, "/")] = &tarFile{mode: h.Mode, data: body}
	}
}
