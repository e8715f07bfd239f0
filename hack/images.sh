#!/usr/bin/env bash
# Builds the container image of every in-cluster CAFE binary as an OCI image
# layout in out/images/<name>/, without Docker and without pulling a base
# image: a static binary plus Debian's CA bundle on scratch, user 65532
# (hack/tools/imagebuild does the assembly with go-containerregistry).
#
# In-cluster binaries are the cmd/cafe-* directories (cafe-controller,
# cafe-router, cafe-demo, …) but those in local_only below; cmd/cafe, the CLI
# and local platform, is not one either.
#
# Environment:
#   CAFE_IMAGES_OUT    where the layouts go (default out/images)
#   VERSION            image version label and layout reference (default: git describe)
#   REVISION           source revision label (default: the commit checked out)
#   GOARCH             target architecture (default: this machine's)
#   SOURCE_DATE_EPOCH  image timestamps (default: the last commit's time)
#
# Push a layout with any OCI client, e.g.
#   crane push out/images/cafe-controller ghcr.io/<you>/cafe-controller:<tag>
#   skopeo copy oci:out/images/cafe-controller:<version> docker://ghcr.io/<you>/cafe-controller:<tag>
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "${ROOT}"
OUT="${CAFE_IMAGES_OUT:-${ROOT}/out/images}"
VERSION="${VERSION:-$(git describe --tags --always 2>/dev/null || echo dev)}"
REVISION="${REVISION:-$(git rev-parse HEAD 2>/dev/null || true)}"
CREATED="${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || echo 0)}"
ARCH="${GOARCH:-$(go env GOARCH)}"
CA_BUNDLE=/etc/ssl/certs/ca-certificates.crt

if [[ ! -s "${CA_BUNDLE}" ]]; then
	echo "${CA_BUNDLE} is missing: installing the Debian package ca-certificates"
	if [[ "$(id -u)" != 0 ]]; then
		echo "not root: run 'sudo apt-get install -y ca-certificates' and try again" >&2
		exit 1
	fi
	apt-get update -qq && apt-get install -y -qq ca-certificates >/dev/null
fi

# Binaries of the local platform and tools that never run in a cluster.
local_only=(cafe-node cafe-load)
mapfile -t names < <(find cmd -mindepth 1 -maxdepth 1 -type d -name 'cafe-*' -printf '%f\n' | sort | grep -vxF -f <(printf '%s\n' "${local_only[@]}"))
if [[ ${#names[@]} == 0 ]]; then
	echo "no in-cluster binaries (cmd/cafe-*) to build" >&2
	exit 1
fi

work="$(mktemp -d)"
trap 'rm -rf "${work}"' EXIT
(cd hack/tools/imagebuild && go build -o "${work}/imagebuild" .)

mkdir -p "${OUT}"
for name in "${names[@]}"; do
	CGO_ENABLED=0 GOOS=linux GOARCH="${ARCH}" \
		go build -trimpath -ldflags '-s -w' -o "${work}/${name}" "./cmd/${name}"
	rm -rf "${OUT:?}/${name}"
	"${work}/imagebuild" --name "${name}" --binary "${work}/${name}" --ca-bundle "${CA_BUNDLE}" \
		--os linux --arch "${ARCH}" --version "${VERSION}" --revision "${REVISION}" \
		--created "${CREATED}" --out "${OUT}/${name}"
done
