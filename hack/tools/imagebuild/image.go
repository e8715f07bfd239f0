package main

import (
	"archive/tar"
	"bytes"
	"fmt"
	"io"
	"os"
	"path"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// NonRootUser is the distroless "nonroot" user and group: CAFE's pods run
// with runAsNonRoot, which needs a numeric user in the image.
const NonRootUser = "65532:65532"

// caBundlePath is where Go's crypto/x509 looks first on Linux.
const caBundlePath = "etc/ssl/certs/ca-certificates.crt"

// Spec describes one component's image.
type Spec struct {
	Name     string
	Binary   string
	CABundle string
	OS, Arch string
	Version  string
	Revision string
	Source   string
	Created  time.Time
}

// Image builds the image in memory: scratch, one layer, an OCI manifest and
// config. Every timestamp is spec.Created, so equal inputs give an equal
// digest.
func Image(spec Spec) (v1.Image, error) {
	binary, err := os.ReadFile(spec.Binary)
	if err != nil {
		return nil, fmt.Errorf("read the binary: %w", err)
	}
	bundle, err := os.ReadFile(spec.CABundle)
	if err != nil {
		return nil, fmt.Errorf("read the CA bundle (install the Debian package ca-certificates): %w", err)
	}
	layerBytes, err := layerTar(spec.Created, []file{
		{name: caBundlePath, mode: 0o644, data: bundle},
		{name: spec.Name, mode: 0o755, data: binary},
	})
	if err != nil {
		return nil, err
	}
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(layerBytes)), nil
	}, tarball.WithMediaType(types.OCILayer))
	if err != nil {
		return nil, err
	}

	base := mutate.ConfigMediaType(mutate.MediaType(empty.Image, types.OCIManifestSchema1), types.OCIConfigJSON)
	base, err = mutate.ConfigFile(base, &v1.ConfigFile{
		OS:           spec.OS,
		Architecture: spec.Arch,
		Created:      v1.Time{Time: spec.Created},
		RootFS:       v1.RootFS{Type: "layers"},
		Config: v1.Config{
			User:       NonRootUser,
			Entrypoint: []string{"/" + spec.Name},
			WorkingDir: "/",
			Labels:     labels(spec),
		},
	})
	if err != nil {
		return nil, err
	}
	return mutate.Append(base, mutate.Addendum{
		Layer:     layer,
		MediaType: types.OCILayer,
		History: v1.History{
			Created:   v1.Time{Time: spec.Created},
			CreatedBy: fmt.Sprintf("hack/images.sh: /%s and the CA bundle", spec.Name),
		},
	})
}

func labels(spec Spec) map[string]string {
	l := map[string]string{
		"org.opencontainers.image.title":   spec.Name,
		"org.opencontainers.image.source":  spec.Source,
		"org.opencontainers.image.version": spec.Version,
	}
	if spec.Revision != "" {
		l["org.opencontainers.image.revision"] = spec.Revision
	}
	return l
}

type file struct {
	name string
	mode int64
	data []byte
}

// layerTar writes files, and the directories above them, as a tar owned by
// root (the files are read-only to the non-root user, as they should be).
func layerTar(modTime time.Time, files []file) ([]byte, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	seen := map[string]bool{}
	for _, f := range files {
		for _, dir := range parents(f.name) {
			if seen[dir] {
				continue
			}
			seen[dir] = true
			if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: dir + "/", Mode: 0o755, ModTime: modTime, Format: tar.FormatPAX}); err != nil {
				return nil, err
			}
		}
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: f.name, Mode: f.mode, Size: int64(len(f.data)), ModTime: modTime, Format: tar.FormatPAX}); err != nil {
			return nil, err
		}
		if _, err := tw.Write(f.data); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// parents lists a relative path's ancestor directories, outermost first:
// "etc/ssl/certs/x" gives etc, etc/ssl, etc/ssl/certs.
func parents(name string) []string {
	var dirs []string
	for dir := path.Dir(name); dir != "."; dir = path.Dir(dir) {
		dirs = append([]string{dir}, dirs...)
	}
	return dirs
}
