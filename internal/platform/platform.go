// Package platform runs CAFE's local platform: a real Kubernetes control
// plane (etcd, kube-apiserver, kube-controller-manager, kube-scheduler) built
// from source, and kwok simulating nodes grouped into units, all as child
// processes under one data directory. `cafe up` and the integration-test
// harness both use it.
package platform

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

// Platform is a running local platform.
type Platform struct {
	opts     Options
	state    state
	pki      pki
	podRange *podRange
	apiPort  int
	routed   bool // the guard route is ours to remove
	unitNet  *unitNetwork

	stopNudge context.CancelFunc

	mu       sync.Mutex
	children []*process // in start order
	stopped  bool
}

// Start brings the platform up and returns when the API server is ready,
// every simulated node is registered and pods can be created in "default".
// On error, everything started is stopped.
func Start(ctx context.Context, opts Options) (_ *Platform, err error) {
	opts, err = opts.withDefaults()
	if err != nil {
		return nil, err
	}
	for _, bin := range []string{"etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kwok"} {
		if _, statErr := os.Stat(filepath.Join(opts.BinDir, bin)); statErr != nil {
			return nil, &MissingBinaryError{Binary: filepath.Join(opts.BinDir, bin)}
		}
	}
	p := &Platform{opts: opts, pki: pki{dir: filepath.Join(opts.DataDir, "pki")}}
	defer func() {
		if err != nil {
			p.Stop()
		}
	}()
	if p.state, err = loadState(opts.DataDir); err != nil {
		return nil, err
	}
	if err = p.choosePorts(); err != nil {
		return nil, err
	}
	if IsRoot() {
		cleanStaleRoutes()
	}
	if p.podRange, err = acquirePodRange(p.state.PodRangeSlot); err != nil {
		return nil, err
	}
	p.state.PodRangeSlot = p.podRange.slot
	if err = saveState(opts.DataDir, p.state); err != nil {
		return nil, fmt.Errorf("data directory %s is not usable: %w", opts.DataDir, err)
	}
	if IsRoot() {
		if err = guardRoute(p.podRange); err != nil {
			return nil, err
		}
		p.routed = true
	} else {
		opts.Log("not running as root: no unreachable route guards pod range %s (nothing here sends traffic to simulated pods)", p.podRange.CIDR())
	}
	if err = p.pki.ensure(); err != nil {
		return nil, fmt.Errorf("create the local PKI: %w", err)
	}
	if err = os.MkdirAll(p.logDir(), 0o755); err != nil {
		return nil, err
	}
	if err = p.writeKubeconfigs(); err != nil {
		return nil, err
	}

	opts.Log("starting etcd")
	if err = p.startEtcd(ctx); err != nil {
		return nil, err
	}
	opts.Log("starting kube-apiserver on https://127.0.0.1:%d", p.apiPort)
	if err = p.startAPIServer(ctx); err != nil {
		return nil, err
	}
	cfg, err := p.RESTConfig()
	if err != nil {
		return nil, err
	}
	if err = p.ensureNodes(ctx, cfg); err != nil {
		return nil, err
	}
	if opts.BeforeControllers != nil {
		if err = opts.BeforeControllers(ctx, cfg); err != nil {
			return nil, err
		}
	}
	opts.Log("starting kube-controller-manager, kube-scheduler and kwok")
	if err = p.startControllerManager(); err != nil {
		return nil, err
	}
	if err = p.startScheduler(); err != nil {
		return nil, err
	}
	if err = p.startKwok(); err != nil {
		return nil, err
	}
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	if err = p.startLiveNodes(ctx, cs); err != nil {
		return nil, err
	}
	if err = p.waitNodesReady(ctx, cfg); err != nil {
		return nil, err
	}
	if err = p.waitDefaultServiceAccount(ctx, cs); err != nil {
		return nil, err
	}
	nudgeCtx, stopNudge := context.WithCancel(context.Background())
	p.stopNudge = stopNudge
	go p.nudgeStalledPods(nudgeCtx, cs)
	return p, nil
}

// choosePorts keeps etcd's ports across runs and picks the API server's.
func (p *Platform) choosePorts() error {
	var err error
	for _, port := range []*int{&p.state.EtcdClientPort, &p.state.EtcdPeerPort} {
		if *port == 0 {
			if *port, err = FreePort(); err != nil {
				return err
			}
		}
	}
	if err := checkPortFree("etcd client", p.state.EtcdClientPort); err != nil {
		return err
	}
	if err := checkPortFree("etcd peer", p.state.EtcdPeerPort); err != nil {
		return err
	}
	p.apiPort = p.opts.APIServerPort
	if p.apiPort == 0 {
		p.apiPort, err = FreePort()
		return err
	}
	return checkPortFree("API server (--port)", p.apiPort)
}

func (p *Platform) start(name string, args []string) (*process, error) {
	return p.startNamed(name, filepath.Join(p.opts.BinDir, name), args)
}

// startNamed runs binary as the child called name (its log is name.log).
func (p *Platform) startNamed(name, binary string, args []string) (*process, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.stopped {
		return nil, errors.New("platform is stopping")
	}
	proc, err := startProcess(name, binary, args, p.logDir(), nil)
	if err != nil {
		return nil, err
	}
	p.children = append(p.children, proc)
	return proc, nil
}

// Stop ends every child (newest first, SIGTERM then SIGKILL), removes the
// guard route and releases the pod range. Safe to call more than once.
func (p *Platform) Stop() {
	p.mu.Lock()
	if p.stopped {
		p.mu.Unlock()
		return
	}
	p.stopped = true
	children := p.children
	p.mu.Unlock()
	if p.stopNudge != nil {
		p.stopNudge()
	}
	for i := len(children) - 1; i >= 0; i-- {
		children[i].stop(10 * time.Second)
	}
	if p.unitNet != nil {
		p.unitNet.Close()
	}
	if p.routed {
		if err := removeGuardRoute(p.podRange.CIDR()); err != nil {
			p.opts.Log("%v", err)
		}
	}
	if p.podRange != nil {
		p.podRange.release()
	}
}

// Kill ends every child with SIGKILL and leaves routes and locks as a crash
// would (for tests of crash recovery): the next Start cleans up.
func (p *Platform) Kill() {
	p.mu.Lock()
	p.stopped = true
	children := p.children
	p.mu.Unlock()
	if p.stopNudge != nil {
		p.stopNudge()
	}
	for i := len(children) - 1; i >= 0; i-- {
		children[i].kill()
	}
	if p.podRange != nil {
		p.podRange.release()
	}
}

// PIDs are the process IDs of the platform's children, by name.
func (p *Platform) PIDs() map[string]int {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := map[string]int{}
	for _, c := range p.children {
		out[c.name] = c.pid()
	}
	return out
}

// DataDir is the platform's data directory.
func (p *Platform) DataDir() string { return p.opts.DataDir }

// Units are the platform's unit names.
func (p *Platform) Units() []string { return append([]string(nil), p.opts.Units...) }

// PodCIDR is the whole simulated pod range of this platform.
func (p *Platform) PodCIDR() string { return p.podRange.CIDR() }

// APIServerPort is the port the API server listens on (127.0.0.1).
func (p *Platform) APIServerPort() int { return p.apiPort }

// APIServerURL is the API server's address.
func (p *Platform) APIServerURL() string { return fmt.Sprintf("https://127.0.0.1:%d", p.apiPort) }

// KubeconfigPath is the admin kubeconfig written for users and tools.
func (p *Platform) KubeconfigPath() string { return filepath.Join(p.opts.DataDir, "kubeconfig") }

// RESTConfig is an admin client configuration.
func (p *Platform) RESTConfig() (*rest.Config, error) {
	cfg, err := clientcmd.BuildConfigFromFlags("", p.KubeconfigPath())
	if err != nil {
		return nil, err
	}
	cfg.QPS, cfg.Burst = 200, 400
	return cfg, nil
}

func (p *Platform) logDir() string { return filepath.Join(p.opts.DataDir, "logs") }

// LogDir holds one log file per child process.
func (p *Platform) LogDir() string { return p.logDir() }
