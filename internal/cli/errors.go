package cli

import (
	"fmt"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	utilnet "k8s.io/apimachinery/pkg/util/net"
)

// request names an API request, so that its error can say what was refused
// and what to do next.
type request struct {
	verb      string // get, list, watch, patch, update, create
	resource  string // the plural resource, as RBAC names it
	kind      string // the kind, for "no <kind> named ..."
	name      string
	namespace string // empty for cluster-scoped resources
}

// admissionDenial is how the API server words a ValidatingAdmissionPolicy's
// refusal, before the policy's own message.
const admissionDenial = " denied request: "

// explain turns an API error into one that says what to do next. It keeps
// the original error wrapped, so callers can still test it with apierrors.
func explain(err error, r request) error {
	if err == nil {
		return nil
	}
	switch {
	case meta.IsNoMatchError(err):
		return &explained{err, fmt.Sprintf("CAFE's CRDs are not installed in this cluster (it does not know %s): "+
			"run make run for a local platform, or kubectl apply --server-side -k config/crd", r.kind)}
	case apierrors.IsNotFound(err) && r.name != "" && r.kind == "CafeDeployment":
		return &explained{err, fmt.Sprintf("no CafeDeployment named %q in namespace %q (kubectl cafe get -n %s lists them)", r.name, r.namespace, r.namespace)}
	case apierrors.IsNotFound(err) && r.name != "":
		return &explained{err, fmt.Sprintf("no %s named %q in namespace %q", r.kind, r.name, r.namespace)}
	case apierrors.IsForbidden(err) && strings.Contains(err.Error(), admissionDenial):
		// An admission policy's refusal says what is wrong and what to do;
		// a missing role is not the cause.
		_, why, _ := strings.Cut(err.Error(), admissionDenial)
		return &explained{err, fmt.Sprintf("an admission policy refused to %s %s %s: %s", r.verb, r.resource, r.name, why)}
	case apierrors.IsForbidden(err):
		where := "cluster-wide"
		if r.namespace != "" {
			where = "in namespace " + r.namespace
		}
		return &explained{err, fmt.Sprintf("permission denied: you cannot %s %s %s; ask for %s", r.verb, r.resource, where, roleFor(r.verb, r.resource))}
	case apierrors.IsUnauthorized(err):
		return &explained{err, "the API server does not accept your credentials: check --kubeconfig, --context and --user"}
	case utilnet.IsConnectionRefused(err):
		return &explained{err, fmt.Sprintf("cannot reach the API server (%v): is the cluster running? make run starts a local one", err)}
	}
	what := r.resource
	if r.name != "" {
		what += " " + r.name
	}
	return fmt.Errorf("%s %s: %w", r.verb, what, err)
}

// roleFor names the role that grants verb on resource, among CAFE's roles
// (config/rbac/users) and Kubernetes' built-in ones.
func roleFor(verb, resource string) string {
	reads := verb == "get" || verb == "list" || verb == "watch"
	switch resource {
	case "cafedeployments", "inplacesets":
		switch {
		case reads:
			return "the cafe-viewer role (or view)"
		case resource == "cafedeployments" && verb == "patch":
			return "the cafe-approver role to confirm, or the cafe-operator role"
		}
		return "the cafe-operator role"
	case "nodes":
		return "a ClusterRole that may list nodes"
	}
	if reads {
		return "the view role"
	}
	return "the edit role"
}

// explained is an API error with a message for people.
type explained struct {
	err     error
	message string
}

func (e *explained) Error() string { return e.message }
func (e *explained) Unwrap() error { return e.err }
