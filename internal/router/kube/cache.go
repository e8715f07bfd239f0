package kube

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	trafficv1alpha1 "github.com/cafe-dev/cafe/api/traffic/v1alpha1"
)

// Scheme knows the kinds the router reads and writes.
func Scheme() *runtime.Scheme {
	s := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(s); err != nil {
		panic(err)
	}
	if err := trafficv1alpha1.AddToScheme(s); err != nil {
		panic(err)
	}
	return s
}

// podMetadata is how pods are read: the router needs only their labels, so
// it caches metadata, not whole pods.
func podMetadata() *metav1.PartialObjectMetadata {
	return &metav1.PartialObjectMetadata{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Pod"}}
}

// watchedKinds are the objects routing depends on.
func watchedKinds() []client.Object {
	return []client.Object{
		&trafficv1alpha1.ShardMap{},
		&trafficv1alpha1.Route{},
		&corev1.Service{},
		&discoveryv1.EndpointSlice{},
		podMetadata(),
	}
}

// NewCache returns an informer cache of the watched kinds in namespaces. The
// caller starts it (cache.Start) and may share it between the router and
// the failover controller.
func NewCache(cfg *rest.Config, namespaces []string) (cache.Cache, error) {
	if len(namespaces) == 0 {
		return nil, fmt.Errorf("at least one namespace to watch is required")
	}
	byNamespace := make(map[string]cache.Config, len(namespaces))
	for _, ns := range namespaces {
		byNamespace[ns] = cache.Config{}
	}
	return cache.New(cfg, cache.Options{Scheme: Scheme(), DefaultNamespaces: byNamespace})
}

// OnChange calls notify after every add, update and delete of a watched
// kind. notify must not block: it runs on the informers' goroutines.
func OnChange(ctx context.Context, c cache.Cache, notify func()) error {
	handler := toolscache.ResourceEventHandlerFuncs{
		AddFunc:    func(any) { notify() },
		UpdateFunc: func(any, any) { notify() },
		DeleteFunc: func(any) { notify() },
	}
	for _, obj := range watchedKinds() {
		informer, err := c.GetInformer(ctx, obj)
		if err != nil {
			return fmt.Errorf("watch %T: %w", obj, err)
		}
		if _, err := informer.AddEventHandler(handler); err != nil {
			return fmt.Errorf("watch %T: %w", obj, err)
		}
	}
	return nil
}
