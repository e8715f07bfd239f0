# CAFE — the two commands of the README are `make run` and `make test`.
SHELL := /usr/bin/env bash
GO ?= go
BIN := $(CURDIR)/bin
export PATH := $(BIN):$(PATH)

.PHONY: all run test tools build generate unit integration lint bench clean images demo drill

all: build

## tools: build the control plane, etcd, kwok and controller-gen from source into bin/ (skips what is built)
tools:
	@bash hack/build-tools.sh

## build: build CAFE's own binaries into bin/
build:
	@$(GO) build -o $(BIN)/ ./cmd/...

## images: build OCI image layouts of the in-cluster binaries (cmd/cafe-*) into out/images/ (docs/install.md)
images:
	@bash hack/images.sh

## run: build everything and run the local platform (three units) in .cafe/
run: tools build
	$(BIN)/cafe up

## demo: release the payment demo unit by unit under load on live nodes, counting every failed request (root; docs/demo.md)
demo: tools build
	$(BIN)/cafe demo

## drill: lose a unit under load (DRILL=kill or cut) and measure RTO and RPO (root; docs/demo.md)
DRILL ?= kill
drill: tools build
	$(BIN)/cafe drill --kind $(DRILL)

## test: build everything and run every test (hygiene, unit tests with -race, integration tests)
test: tools build
	@bash hack/test.sh

## generate: regenerate deepcopy code, CRDs and RBAC with controller-gen
generate: tools
	@bash hack/generate.sh

## bench: run the benchmarks and print their figures (see docs/benchmarks.md)
bench: tools build
	@bash hack/bench.sh

clean:
	rm -rf $(BIN) .cafe
