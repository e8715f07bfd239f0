#!/usr/bin/env bash
# Every test of the project, as CI runs it: hygiene (gofmt, go vet, generated
# code up to date), unit tests with the race detector, then the integration
# tests against real control planes (built by `make tools`).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

step() { printf '\n=== %s\n' "$*"; }

step "gofmt"
unformatted=$(gofmt -l $(git ls-files '*.go' | grep -v '^hack/tools/') 2>&1 || true)
if [[ -n "${unformatted}" ]]; then
	echo "these files need gofmt -w:"; echo "${unformatted}"; exit 1
fi

step "generated code is up to date"
bash hack/generate.sh
if ! git diff --quiet -- api config charts 2>/dev/null; then
	echo "generated files differ from the committed ones: run 'make generate' and commit"
	git --no-pager diff --stat -- api config charts
	exit 1
fi

step "go vet"
go vet ./...
go vet -tags integration ./...

step "unit tests (race detector)"
go test -race -count=1 ./...

step "integration tests (real kube-apiserver, etcd and kwok)"
if [[ "$(id -u)" != 0 ]]; then
	echo "note: not root: tests that need routes or network namespaces will fail, as they must"
fi
mapfile -t pkgs < <(grep -rl --include='*_test.go' '^//go:build integration' . | xargs -n1 dirname | sort -u)
# One package at a time: each starts a whole control plane, and two of them
# (plus the simulated kubelets) on a 2-core machine starve each other.
go test -tags integration -count=1 -p 1 -timeout 40m "${pkgs[@]}"

step "controllers against the real API server, with the race detector"
# The controllers write in the background while a reconcile goes on; only a
# real API server drives them through those paths at once.
go test -race -tags integration -count=1 -p 1 -timeout 20m ./internal/controller/...
