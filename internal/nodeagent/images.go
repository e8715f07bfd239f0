package nodeagent

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"
)

// ImageMap says which local binary runs for an image repository: a live
// node has no container runtime, so `cafe/demo:v2` runs the binary mapped to
// `cafe/demo`, told its tag (v2) in CAFE_IMAGE_TAG.
type ImageMap map[string]string

// ParseImageMap reads "repo=binary,repo=binary".
func ParseImageMap(s string) (ImageMap, error) {
	m := ImageMap{}
	for _, entry := range strings.Split(s, ",") {
		entry = strings.TrimSpace(entry)
		if entry == "" {
			continue
		}
		repo, bin, ok := strings.Cut(entry, "=")
		if !ok || repo == "" || bin == "" {
			return nil, fmt.Errorf("image map entry %q: want repository=binary, for example cafe/demo=bin/cafe-demo", entry)
		}
		m[repo] = bin
	}
	return m, nil
}

// String is the map in ParseImageMap's form, sorted.
func (m ImageMap) String() string {
	var out []string
	for repo, bin := range m {
		out = append(out, repo+"="+bin)
	}
	sort.Strings(out)
	return strings.Join(out, ",")
}

// resolvedImage is what a container's image runs.
type resolvedImage struct {
	Binary string
	Tag    string
	// ID stands in for the image digest: a hash of the binary and the tag,
	// so a rebuilt binary or another tag reports a different imageID.
	ID string
}

// images resolves images to binaries, hashing each binary once per build.
type images struct {
	m       ImageMap
	mu      sync.Mutex
	digests map[string]binaryDigest // by absolute path
}

type binaryDigest struct {
	size    int64
	modTime time.Time
	sum     string
}

func newImages(m ImageMap) *images {
	return &images{m: m, digests: map[string]binaryDigest{}}
}

// resolve maps a container image to its binary. Digests are accepted
// (repo@sha256:...) and resolve like the repository's binary with the digest
// as the tag.
func (im *images) resolve(image string) (resolvedImage, error) {
	m := im.m
	repo, tag := splitImage(image)
	bin, ok := m[repo]
	if !ok {
		known := make([]string, 0, len(m))
		for r := range m {
			known = append(known, r)
		}
		sort.Strings(known)
		return resolvedImage{}, fmt.Errorf("image %s: no local binary is mapped to repository %q on this live node (mapped: %s)", image, repo, strings.Join(known, ", "))
	}
	abs, err := filepath.Abs(bin)
	if err != nil {
		return resolvedImage{}, err
	}
	sum, err := im.digest(abs)
	if err != nil {
		return resolvedImage{}, fmt.Errorf("image %s: binary %s: %w (build it with `make build`)", image, abs, err)
	}
	id := sha256.Sum256([]byte(sum + "\x00" + tag))
	return resolvedImage{Binary: abs, Tag: tag, ID: "cafe-local://" + repo + "@sha256:" + hex.EncodeToString(id[:])}, nil
}

// splitImage splits "registry/repo:tag" or "repo@sha256:..." into repository
// and tag ("latest" when none is given).
func splitImage(image string) (repo, tag string) {
	if r, digest, ok := strings.Cut(image, "@"); ok {
		return r, digest
	}
	slash := strings.LastIndex(image, "/")
	if colon := strings.LastIndex(image, ":"); colon > slash {
		return image[:colon], image[colon+1:]
	}
	return image, "latest"
}

func (im *images) digest(path string) (string, error) {
	info, err := os.Stat(path)
	if err != nil {
		return "", err
	}
	im.mu.Lock()
	defer im.mu.Unlock()
	if d, ok := im.digests[path]; ok && d.size == info.Size() && d.modTime.Equal(info.ModTime()) {
		return d.sum, nil
	}
	sum, err := fileDigest(path)
	if err != nil {
		return "", err
	}
	im.digests[path] = binaryDigest{size: info.Size(), modTime: info.ModTime(), sum: sum}
	return sum, nil
}

func fileDigest(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
