package cli

import (
	"context"
	"fmt"

	authenticationv1 "k8s.io/api/authentication/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client"

	appsv1alpha1 "github.com/cafe-dev/cafe/api/apps/v1alpha1"
)

// scheme knows Kubernetes' built-in kinds and CAFE's apps kinds.
var scheme = func() *runtime.Scheme {
	s := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(s); err != nil {
		panic(err)
	}
	if err := appsv1alpha1.AddToScheme(s); err != nil {
		panic(err)
	}
	return s
}()

// session is a connection to the cluster the kubeconfig flags name.
type session struct {
	client    client.WithWatch
	namespace string
	opts      *rootOptions
}

// connect builds a client from the kubeconfig flags. It sends no request:
// a cluster that cannot be reached fails the first call, with explain's
// message.
func (o *rootOptions) connect() (*session, error) {
	cfg, err := o.flags.ToRESTConfig()
	if err != nil {
		return nil, fmt.Errorf("no usable kubeconfig: %w (set --kubeconfig or KUBECONFIG, and --context)", err)
	}
	// A watch redraws on every pod change of a large release: allow bursts.
	cfg.QPS, cfg.Burst = 50, 100
	ns, _, err := o.flags.ToRawKubeConfigLoader().Namespace()
	if err != nil {
		return nil, fmt.Errorf("cannot tell the namespace from the kubeconfig: %w (set -n)", err)
	}
	c, err := client.NewWithWatch(cfg, client.Options{Scheme: scheme})
	if err != nil {
		return nil, fmt.Errorf("cannot build a client for %s: %w", cfg.Host, err)
	}
	return &session{client: c, namespace: ns, opts: o}, nil
}

// user names who runs the command, as the API server authenticated them
// (a SelfSubjectReview), so that the confirmed-by annotation passes the
// admission policy that compares it with the requesting user. A server
// that does not serve SelfSubjectReviews gets the kubeconfig's user name.
func (s *session) user(ctx context.Context) string {
	review := &authenticationv1.SelfSubjectReview{}
	if err := s.client.Create(ctx, review); err == nil && review.Status.UserInfo.Username != "" {
		return review.Status.UserInfo.Username
	}
	return s.kubeconfigUser()
}

func (s *session) kubeconfigUser() string {
	f := s.opts.flags
	if f.Impersonate != nil && *f.Impersonate != "" {
		return *f.Impersonate
	}
	if f.AuthInfoName != nil && *f.AuthInfoName != "" {
		return *f.AuthInfoName
	}
	raw, err := f.ToRawKubeConfigLoader().RawConfig()
	if err != nil {
		return ""
	}
	name := raw.CurrentContext
	if f.Context != nil && *f.Context != "" {
		name = *f.Context
	}
	if c := raw.Contexts[name]; c != nil {
		return c.AuthInfo
	}
	return ""
}
