package platform

import (
	"context"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// waitDefaultServiceAccount waits until kube-controller-manager has created
// the service account of the "default" namespace. Until then the API server
// refuses every pod created there (its ServiceAccount admission looks the
// account up), so a pod applied right after start would be rejected.
func (p *Platform) waitDefaultServiceAccount(ctx context.Context, cs kubernetes.Interface) error {
	return p.child("kube-controller-manager").waitFor(ctx, "the default service account", func(ctx context.Context) error {
		_, err := cs.CoreV1().ServiceAccounts(metav1.NamespaceDefault).Get(ctx, "default", metav1.GetOptions{})
		return err
	})
}
