#!/usr/bin/env bash
# The unit router's benchmark: cafe-router against a direct connection and
# nginx on loopback (throughput, CPU per request, added p99 latency), then
# failover timings with three routers on a local control plane. Writes the
# figures into the "Router" section of docs/benchmarks.md. Needs root (nginx
# install, network namespaces) and the control plane binaries (make tools).
# Extra arguments go to the benchmark program (see -help), e.g.
# -skip-failover, -workers 2.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

if ! command -v nginx >/dev/null 2>&1 && [[ ! -x /usr/sbin/nginx ]]; then
	if [[ "$(id -u)" != 0 ]]; then
		echo "nginx is not installed and installing it needs root: apt-get install nginx" >&2
		exit 1
	fi
	echo "installing nginx (Debian package) for the comparison..." >&2
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx >/dev/null
fi
nginx_bin=$(command -v nginx || echo /usr/sbin/nginx)

go build -o bin/cafe-router ./cmd/cafe-router
go build -o bin/bench-router ./test/bench/router
exec bin/bench-router -router-bin bin/cafe-router -nginx-bin "${nginx_bin}" -bin-dir bin \
	-doc docs/benchmarks.md -command "hack/bench-router.sh${*:+ $*}" "$@"
