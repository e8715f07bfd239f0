package cli

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"syscall"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime/schema"

	appsv1alpha1 "github.com/cafe-dev/cafe/api/apps/v1alpha1"
)

func TestExplainSaysWhatToDoNext(t *testing.T) {
	cds := schema.GroupResource{Group: appsv1alpha1.GroupVersion.Group, Resource: "cafedeployments"}
	refused := &url.Error{Op: "Get", URL: "https://127.0.0.1:6443", Err: &net.OpError{Op: "dial", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}}
	cases := []struct {
		name string
		err  error
		req  request
		want string
	}{
		{"no such workload", apierrors.NewNotFound(cds, "pay"), cafeDeploymentRequest("get", "pay", "demo"),
			`no CafeDeployment named "pay" in namespace "demo" (kubectl cafe get -n demo lists them)`},
		{"no such pod", apierrors.NewNotFound(schema.GroupResource{Resource: "pods"}, "pay-0"), request{verb: "get", resource: "pods", kind: "Pod", name: "pay-0", namespace: "demo"},
			`no Pod named "pay-0" in namespace "demo"`},
		{"CRDs missing", &meta.NoKindMatchError{GroupKind: schema.GroupKind{Group: "apps.cafe.dev", Kind: "CafeDeployment"}, SearchedVersions: []string{"v1alpha1"}}, cafeDeploymentRequest("get", "pay", "demo"),
			"CAFE's CRDs are not installed in this cluster (it does not know CafeDeployment): run make run for a local platform, or kubectl apply --server-side -k config/crd"},
		{"CRDs missing, group unknown", &meta.NoResourceMatchError{PartialResource: schema.GroupVersionResource{Group: "apps.cafe.dev", Resource: "cafedeployments"}}, cafeDeploymentRequest("list", "", "demo"),
			"CAFE's CRDs are not installed in this cluster (it does not know CafeDeployment): run make run for a local platform, or kubectl apply --server-side -k config/crd"},
		{"may not confirm", apierrors.NewForbidden(cds, "pay", errors.New("RBAC")), cafeDeploymentRequest("patch", "pay", "demo"),
			"permission denied: you cannot patch cafedeployments in namespace demo; ask for the cafe-approver role to confirm, or the cafe-operator role"},
		{"refused by an admission policy", apierrors.NewForbidden(cds, "pay", errors.New("ValidatingAdmissionPolicy 'cafe-approver-scope' with binding 'cafe-approver-scope' denied request: alice may change only spec.release")),
			cafeDeploymentRequest("patch", "pay", "demo"),
			"an admission policy refused to patch cafedeployments pay: alice may change only spec.release"},
		{"may not see", apierrors.NewForbidden(cds, "pay", errors.New("RBAC")), cafeDeploymentRequest("get", "pay", "demo"),
			"permission denied: you cannot get cafedeployments in namespace demo; ask for the cafe-viewer role (or view)"},
		{"may not roll back", apierrors.NewForbidden(cds, "pay", errors.New("RBAC")), cafeDeploymentRequest("update", "pay", "demo"),
			"permission denied: you cannot update cafedeployments in namespace demo; ask for the cafe-operator role"},
		{"may not restart", apierrors.NewForbidden(schema.GroupResource{Resource: "pods"}, "pay-0", errors.New("RBAC")), request{verb: "patch", resource: "pods", kind: "Pod", name: "pay-0", namespace: "demo"},
			"permission denied: you cannot patch pods in namespace demo; ask for the edit role"},
		{"may not list nodes", apierrors.NewForbidden(schema.GroupResource{Resource: "nodes"}, "", errors.New("RBAC")), request{verb: "list", resource: "nodes", kind: "Node"},
			"permission denied: you cannot list nodes cluster-wide; ask for a ClusterRole that may list nodes"},
		{"bad credentials", apierrors.NewUnauthorized("no"), cafeDeploymentRequest("get", "pay", "demo"),
			"the API server does not accept your credentials: check --kubeconfig, --context and --user"},
		{"no cluster", refused, cafeDeploymentRequest("get", "pay", "demo"),
			fmt.Sprintf("cannot reach the API server (%v): is the cluster running? make run starts a local one", refused)},
		{"anything else keeps its cause", errors.New("boom"), cafeDeploymentRequest("get", "pay", "demo"), "get cafedeployments pay: boom"},
	}
	for _, c := range cases {
		got := explain(c.err, c.req)
		if got == nil || got.Error() != c.want {
			t.Errorf("%s:\ngot  %v\nwant %s", c.name, got, c.want)
		}
		if !errors.Is(got, c.err) {
			t.Errorf("%s: the explained error does not wrap the API error", c.name)
		}
	}
	if explain(nil, request{}) != nil {
		t.Error("explain(nil) is not nil")
	}
}
