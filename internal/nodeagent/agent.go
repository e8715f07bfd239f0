// Package nodeagent is the live node of the local platform: a small
// kubelet that registers a node in a unit, runs the containers of the pods
// bound to it as local processes inside the unit's network namespace, each
// pod on an address of its own, and reports their status by kubelet's rules
// (started, restarts and exit codes, ready from the readiness probe and every
// readiness gate). A changed image restarts the container in place; a
// deleted pod's processes get SIGTERM, then SIGKILL when its grace period
// ends. Images map to local binaries (ImageMap).
package nodeagent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
)

// Config describes one live node.
type Config struct {
	NodeName string
	// Unit and Zone label the node (cafe.dev/unit, topology.kubernetes.io/zone).
	Unit, Zone string
	// Labels are added to the node's labels.
	Labels map[string]string
	// Netns is the unit's network namespace the processes run in, and
	// Interface its interface that carries the pod addresses.
	Netns, Interface string
	// PodCIDR is the node's pod range; NodeIP its own address.
	PodCIDR, NodeIP string
	Images          ImageMap
	// DataDir holds the containers' logs.
	DataDir  string
	Capacity corev1.ResourceList
	Log      *slog.Logger
}

// Agent runs one live node.
type Agent struct {
	cfg    Config
	cs     kubernetes.Interface
	log    *slog.Logger
	pool   *addressPool
	addrs  netnsAddresses
	images *images

	mu      sync.Mutex
	workers map[types.UID]*podWorker
	wg      sync.WaitGroup
}

// New checks cfg and returns an agent.
func New(cfg Config, cs kubernetes.Interface) (*Agent, error) {
	switch {
	case cfg.NodeName == "" || cfg.Unit == "":
		return nil, errors.New("nodeagent: a node name and a unit are required")
	case cfg.NodeIP == "":
		return nil, errors.New("nodeagent: the node's address (NodeIP) is required")
	case cfg.Interface == "":
		cfg.Interface = "eth0"
	}
	pool, err := newAddressPool(cfg.PodCIDR)
	if err != nil {
		return nil, err
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.Zone == "" {
		cfg.Zone = cfg.Unit
	}
	return &Agent{
		cfg:     cfg,
		cs:      cs,
		log:     cfg.Log.With("node", cfg.NodeName),
		pool:    pool,
		addrs:   netnsAddresses{netns: cfg.Netns, iface: cfg.Interface},
		images:  newImages(cfg.Images),
		workers: map[types.UID]*podWorker{},
	}, nil
}

// Run registers the node, keeps its lease and runs its pods until ctx ends;
// then it stops every process.
func (a *Agent) Run(ctx context.Context) error {
	if err := a.register(ctx); err != nil {
		return err
	}
	go a.heartbeat(ctx)
	factory := informers.NewSharedInformerFactoryWithOptions(a.cs, 0, informers.WithTweakListOptions(func(o *metav1.ListOptions) {
		o.FieldSelector = fields.OneTermEqualSelector("spec.nodeName", a.cfg.NodeName).String()
	}))
	podInformer := factory.Core().V1().Pods().Informer()
	_, err := podInformer.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { a.dispatch(ctx, obj) },
		UpdateFunc: func(_, obj any) { a.dispatch(ctx, obj) },
		DeleteFunc: func(obj any) { a.removed(obj) },
	})
	if err != nil {
		return err
	}
	factory.Start(ctx.Done())
	a.log.Info("live node running", "unit", a.cfg.Unit, "netns", a.cfg.Netns, "podCIDR", a.cfg.PodCIDR)
	<-ctx.Done()
	factory.Shutdown()
	a.wg.Wait()
	return nil
}

func (a *Agent) dispatch(ctx context.Context, obj any) {
	pod, ok := obj.(*corev1.Pod)
	if !ok || ctx.Err() != nil {
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if w, ok := a.workers[pod.UID]; ok {
		w.update(pod)
		return
	}
	if pod.DeletionTimestamp != nil && pod.Status.PodIP == "" {
		// Never started here: nothing to stop, only the object to remove.
		go a.finalDelete(ctx, pod)
		return
	}
	w := newPodWorker(a, pod)
	a.workers[pod.UID] = w
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		w.run(ctx)
		a.mu.Lock()
		delete(a.workers, pod.UID)
		a.mu.Unlock()
	}()
}

func (a *Agent) removed(obj any) {
	if tomb, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = tomb.Obj
	}
	pod, ok := obj.(*corev1.Pod)
	if !ok {
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if w, ok := a.workers[pod.UID]; ok {
		w.update(nil)
	}
}

// assignAddress gives a pod its address on this node and puts the address
// on the unit namespace's interface. A pod that already has one (the agent
// restarted) keeps it.
func (a *Agent) assignAddress(pod *corev1.Pod) (string, error) {
	ip := pod.Status.PodIP
	if ip == "" || !a.pool.claim(string(pod.UID), ip) {
		var err error
		if ip, err = a.pool.allocate(string(pod.UID)); err != nil {
			return "", err
		}
	}
	if err := a.addrs.add(ip); err != nil {
		a.pool.release(ip)
		return "", err
	}
	return ip, nil
}

func (a *Agent) releaseAddress(ip string) {
	if ip == "" {
		return
	}
	if err := a.addrs.remove(ip); err != nil {
		a.log.Error("remove pod address", "ip", ip, "err", err)
	}
	a.pool.release(ip)
}

// patchStatus writes the fields the agent owns: a strategic merge patch
// merges conditions by type, so the readiness gates others set stay.
func (a *Agent) patchStatus(ctx context.Context, pod *corev1.Pod, status corev1.PodStatus) (resourceVersion string, err error) {
	patch, err := json.Marshal(map[string]any{
		"metadata": map[string]any{"uid": pod.UID},
		"status":   status,
	})
	if err != nil {
		return "", err
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	out, err := a.cs.CoreV1().Pods(pod.Namespace).Patch(ctx, pod.Name, types.StrategicMergePatchType, patch, metav1.PatchOptions{}, "status")
	if err != nil {
		return "", err
	}
	return out.ResourceVersion, nil
}

// finalDelete removes a pod object once its processes are gone, as kubelet
// does: grace 0, and only that pod (a UID precondition), never a successor
// created under the same name.
func (a *Agent) finalDelete(ctx context.Context, pod *corev1.Pod) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	err := a.cs.CoreV1().Pods(pod.Namespace).Delete(ctx, pod.Name, metav1.DeleteOptions{
		GracePeriodSeconds: new(int64),
		Preconditions:      &metav1.Preconditions{UID: &pod.UID},
	})
	if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
		a.log.Error("remove the deleted pod's object", "pod", pod.Namespace+"/"+pod.Name, "err", fmt.Errorf("%w", err))
	}
}
