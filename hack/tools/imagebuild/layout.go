package main

import (
	"fmt"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/validate"
)

// refNameAnnotation names an image inside a layout, so
// `skopeo copy oci:<dir>:<version> docker://…` finds it.
const refNameAnnotation = "org.opencontainers.image.ref.name"

// WriteLayout writes img as the only image of a new OCI layout at dir.
func WriteLayout(dir string, img v1.Image, spec Spec) error {
	p, err := layout.Write(dir, empty.Index)
	if err != nil {
		return fmt.Errorf("create the layout: %w", err)
	}
	return p.AppendImage(img,
		layout.WithPlatform(v1.Platform{OS: spec.OS, Architecture: spec.Arch}),
		layout.WithAnnotations(map[string]string{refNameAnnotation: spec.Version}))
}

// VerifyLayout reads the layout at dir back from disk and validates its
// index and every image in it (digests, sizes, diff IDs, media types). It
// returns the digest of the image manifest.
func VerifyLayout(dir string) (v1.Hash, error) {
	p, err := layout.FromPath(dir)
	if err != nil {
		return v1.Hash{}, err
	}
	index, err := p.ImageIndex()
	if err != nil {
		return v1.Hash{}, err
	}
	if err := validate.Index(index); err != nil {
		return v1.Hash{}, err
	}
	manifest, err := index.IndexManifest()
	if err != nil {
		return v1.Hash{}, err
	}
	if len(manifest.Manifests) != 1 {
		return v1.Hash{}, fmt.Errorf("want one image in the layout, found %d", len(manifest.Manifests))
	}
	digest := manifest.Manifests[0].Digest
	img, err := p.Image(digest)
	if err != nil {
		return v1.Hash{}, err
	}
	return digest, validate.Image(img)
}
