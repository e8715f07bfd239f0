#!/usr/bin/env bash
# Regenerates what controller-gen makes: deepcopy functions, CRDs and RBAC.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
CG=bin/controller-gen
"${CG}" object:headerFile=hack/boilerplate.go.txt paths=./api/...
"${CG}" crd:generateEmbeddedObjectMeta=true paths=./api/... output:crd:artifacts:config=config/crd/bases
if compgen -G "internal/controller/*/*.go" >/dev/null; then
	"${CG}" rbac:roleName=cafe-controller paths=./internal/controller/... output:rbac:artifacts:config=config/rbac
fi
