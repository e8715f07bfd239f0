#!/usr/bin/env bash
# Builds the local platform's third-party binaries from source, through the
# Go module proxy, at pinned versions, into bin/:
#   kube-apiserver, kube-controller-manager, kube-scheduler, kubectl (Kubernetes)
#   etcd, kwok
#   controller-gen (code generation for CRDs, RBAC and deepcopy)
# A binary is rebuilt only when its pinned version changes. Built binaries are
# also kept in a per-user cache keyed by version, so a fresh clone on the same
# machine (CI) copies them instead of relinking.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BIN="${ROOT}/bin"
CACHE="${CAFE_TOOLS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/cafe-tools}"
mkdir -p "${BIN}" "${CACHE}"

version_of() { # module dir, module path
	(cd "${ROOT}/hack/tools/$1" && go list -m -f '{{.Version}}' "$2")
}

KUBE_VERSION="$(version_of kube k8s.io/kubernetes)"
ETCD_VERSION="$(version_of etcd go.etcd.io/etcd/server/v3)"
KWOK_VERSION="$(version_of kwok sigs.k8s.io/kwok)"
CONTROLLER_TOOLS_VERSION="$(version_of codegen sigs.k8s.io/controller-tools)"

# have NAME VERSION: true when bin/NAME is already built at VERSION.
have() {
	[[ -x "${BIN}/$1" && -f "${BIN}/.$1.version" && "$(cat "${BIN}/.$1.version")" == "$2" ]]
}

# from_cache NAME VERSION: copies a cached build into bin/.
from_cache() {
	local cached="${CACHE}/$2/$1"
	[[ -x "${cached}" ]] || return 1
	cp "${cached}" "${BIN}/$1.tmp" && mv "${BIN}/$1.tmp" "${BIN}/$1"
	echo "$2" >"${BIN}/.$1.version"
	echo "  $1 $2 (from cache)"
}

# build NAME VERSION MODULE_DIR PACKAGE [LDFLAGS]
build() {
	local name=$1 version=$2 dir=$3 pkg=$4 ldflags=${5:-}
	if have "${name}" "${version}"; then echo "  ${name} ${version} (up to date)"; return; fi
	if from_cache "${name}" "${version}"; then return; fi
	echo "  ${name} ${version} (building from source)"
	local start=$SECONDS
	(cd "${ROOT}/hack/tools/${dir}" &&
		CGO_ENABLED=0 go build -trimpath -ldflags "-s -w ${ldflags}" -o "${BIN}/${name}.tmp" "${pkg}")
	mv "${BIN}/${name}.tmp" "${BIN}/${name}"
	mkdir -p "${CACHE}/${version}"
	cp "${BIN}/${name}" "${CACHE}/${version}/${name}"
	echo "${version}" >"${BIN}/.${name}.version"
	echo "    built in $((SECONDS - start))s"
}

kube_ldflags() {
	local v=${KUBE_VERSION#v} pkg
	local major=${v%%.*} rest=${v#*.}
	local minor=${rest%%.*}
	for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
		printf -- '-X %s.gitVersion=%s -X %s.gitMajor=%s -X %s.gitMinor=%s -X %s.gitTreeState=clean -X %s.buildDate=1970-01-01T00:00:00Z ' \
			"${pkg}" "${KUBE_VERSION}" "${pkg}" "${major}" "${pkg}" "${minor}" "${pkg}" "${pkg}"
	done
}

echo "tools into ${BIN} (cache ${CACHE})"
for cmd in kube-apiserver kube-controller-manager kube-scheduler kubectl; do
	build "${cmd}" "${KUBE_VERSION}" kube "k8s.io/kubernetes/cmd/${cmd}" "$(kube_ldflags)"
done
build etcd "${ETCD_VERSION}" etcd . \
	"-X go.etcd.io/etcd/api/v3/version.Version=${ETCD_VERSION#v}"
build kwok "${KWOK_VERSION}" kwok sigs.k8s.io/kwok/cmd/kwok \
	"-X sigs.k8s.io/kwok/pkg/consts.Version=${KWOK_VERSION}"
build controller-gen "${CONTROLLER_TOOLS_VERSION}" codegen sigs.k8s.io/controller-tools/cmd/controller-gen
