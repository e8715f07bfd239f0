package cafedeployment

import (
	"context"
	"time"

	"k8s.io/client-go/util/workqueue"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	appsv1alpha1 "github.com/cafe-dev/cafe/api/apps/v1alpha1"
)

// podEventBatch is how long a pod event waits before it wakes its
// CafeDeployment, together with every other event of the workload's pods in
// that time. A reconcile counts all of the workload's pods, and a release
// changes several of them every few milliseconds: without the wait, a
// 1,000-pod release made one reconcile per pod event. A batch is seen
// complete, and status shows it, at most this much later.
const podEventBatch = 100 * time.Millisecond

// enqueueWorkloadOfPod wakes a pod's CafeDeployment podEventBatch after the
// pod's event; the queue keeps one wake per workload however many events
// arrive meanwhile.
func enqueueWorkloadOfPod() handler.Funcs {
	add := func(obj client.Object, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
		for _, req := range workloadOfPod(obj) {
			q.AddAfter(req, podEventBatch)
		}
	}
	return handler.Funcs{
		CreateFunc: func(_ context.Context, e event.CreateEvent, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
			add(e.Object, q)
		},
		UpdateFunc: func(_ context.Context, e event.UpdateEvent, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
			add(e.ObjectNew, q)
		},
		DeleteFunc: func(_ context.Context, e event.DeleteEvent, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
			add(e.Object, q)
		},
		GenericFunc: func(_ context.Context, e event.GenericEvent, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
			add(e.Object, q)
		},
	}
}

// workloadOfPod maps a pod to its CafeDeployment through the workload label.
func workloadOfPod(obj client.Object) []reconcile.Request {
	name := obj.GetLabels()[appsv1alpha1.CafeDeploymentLabel]
	if name == "" {
		return nil
	}
	return []reconcile.Request{{NamespacedName: client.ObjectKey{Namespace: obj.GetNamespace(), Name: name}}}
}
