package nodeagent

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// Restart back-off of a crashing container: shorter than kubelet's (10 s
// doubling to 5 min) because a local platform is for watching releases, not
// for sparing a node; reset after a container ran for backoffReset.
const (
	backoffFirst = time.Second
	backoffMax   = 20 * time.Second
	backoffReset = 10 * time.Second
)

// podWorker owns one pod's containers, as kubelet's pod workers do: every
// change (a new pod object, a process exit, a probe verdict, a back-off
// timer) comes to its one goroutine, which starts and stops processes and
// reports the status.
type podWorker struct {
	a   *Agent
	uid string

	mu     sync.Mutex
	latest *corev1.Pod
	gone   bool // the pod object was removed from the API
	wake   chan struct{}

	events     chan any // probeResult or exited
	podIP      string
	containers map[string]*container
	reported   string // fingerprint of the last status written
	reportedRV string
}

// container is one container of the pod and its current process.
type container struct {
	state        containerState
	proc         *process
	stopProbes   context.CancelFunc
	hasReadiness bool
	backoff      time.Duration
	restartAt    time.Time // zero unless a restart waits for its back-off
}

type exited struct {
	Container string
	PID       int
}

func newPodWorker(a *Agent, pod *corev1.Pod) *podWorker {
	return &podWorker{
		a:          a,
		uid:        string(pod.UID),
		latest:     pod,
		wake:       make(chan struct{}, 1),
		events:     make(chan any, 16),
		containers: map[string]*container{},
	}
}

// update hands the worker a newer pod object; nil means the object is gone.
func (w *podWorker) update(pod *corev1.Pod) {
	w.mu.Lock()
	if pod == nil {
		w.gone = true
	} else {
		w.latest = pod
	}
	w.mu.Unlock()
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

func (w *podWorker) snapshot() (*corev1.Pod, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.latest, w.gone
}

// run is the worker's loop; it returns once the pod's processes are stopped
// for good (the pod was deleted) or the agent stops.
func (w *podWorker) run(agentCtx context.Context) {
	// Probes and exit watchers end with the worker; processes do not (they
	// are stopped explicitly, within their grace period).
	ctx, cancel := context.WithCancel(agentCtx)
	defer cancel()
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		pod, gone := w.snapshot()
		switch {
		case agentCtx.Err() != nil:
			w.stopAll(2 * time.Second)
			return
		case gone:
			w.stopAll(terminationGrace(pod))
			w.a.releaseAddress(w.podIP)
			return
		case pod.DeletionTimestamp != nil:
			w.stopAll(deletionGrace(pod))
			w.a.releaseAddress(w.podIP)
			w.a.finalDelete(ctx, pod)
			return
		}
		next := w.sync(ctx, pod)
		w.report(ctx, pod)
		if !next.IsZero() {
			timer.Reset(time.Until(next))
		}
		select {
		case <-ctx.Done():
		case <-w.wake:
		case ev := <-w.events:
			w.handle(ev, pod)
		case <-timer.C:
		}
	}
}

// sync starts, restarts and replaces processes until they match the pod's
// spec, and returns when a back-off restart is due (zero if none).
func (w *podWorker) sync(ctx context.Context, pod *corev1.Pod) time.Time {
	if w.podIP == "" {
		ip, err := w.a.assignAddress(pod)
		if err != nil {
			w.a.log.Error("no address for pod", "pod", pod.Namespace+"/"+pod.Name, "err", err)
			return time.Now().Add(5 * time.Second)
		}
		w.podIP = ip
	}
	var next time.Time
	for i := range pod.Spec.Containers {
		spec := &pod.Spec.Containers[i]
		c := w.containers[spec.Name]
		if c == nil {
			c = &container{state: containerState{Name: spec.Name, Image: spec.Image}}
			w.containers[spec.Name] = c
		}
		switch {
		case c.proc != nil && !c.proc.exited() && c.state.Image != spec.Image:
			// The image changed on a running pod: restart in place, as
			// kubelet does, keeping the pod, its name and its address.
			w.stopContainer(c, terminationGrace(pod))
			c.state.RestartCount++
			w.start(ctx, pod, spec, c)
		case c.proc == nil && c.restartAt.IsZero() && c.state.Terminated == nil:
			w.start(ctx, pod, spec, c)
		case !c.restartAt.IsZero() && !time.Now().Before(c.restartAt):
			c.restartAt = time.Time{}
			c.state.RestartCount++
			w.start(ctx, pod, spec, c)
		}
		if !c.restartAt.IsZero() && (next.IsZero() || c.restartAt.Before(next)) {
			next = c.restartAt
		}
	}
	return next
}

// start runs a container's process and its probes.
func (w *podWorker) start(ctx context.Context, pod *corev1.Pod, spec *corev1.Container, c *container) {
	c.state.Image = spec.Image
	c.state.Running, c.state.Ready = false, false
	img, err := w.a.images.resolve(spec.Image)
	if err != nil {
		c.state.Waiting, c.state.WaitingMessage = "ImageNotMapped", err.Error()
		c.restartAt = time.Now().Add(5 * time.Second) // the binary may be built meanwhile
		return
	}
	env, err := containerEnv(pod, spec, w.podIP, w.a.cfg.NodeIP, w.a.cfg.Unit, img)
	if err == nil {
		err = supportedProbes(spec)
	}
	if err != nil {
		c.state.Waiting, c.state.WaitingMessage = "CreateContainerConfigError", err.Error()
		return
	}
	proc, err := startProcess(processSpec{
		Netns:   w.a.cfg.Netns,
		Binary:  img.Binary,
		Args:    containerArgs(spec, env),
		Env:     env,
		LogPath: filepath.Join(w.a.cfg.DataDir, "pods", pod.Namespace+"_"+pod.Name+"_"+string(pod.UID), spec.Name+".log"),
	})
	if err != nil {
		c.state.Waiting, c.state.WaitingMessage = "RunContainerError", err.Error()
		c.restartAt = time.Now().Add(w.nextBackoff(c))
		return
	}
	c.proc = proc
	c.state.Waiting, c.state.WaitingMessage, c.state.Terminated = "", "", nil
	c.state.Running = true
	c.state.StartedAt = proc.started.Truncate(time.Second)
	c.state.ImageID = img.ID
	c.state.ContainerID = fmt.Sprintf("cafe://%d", proc.PID())
	c.hasReadiness = spec.ReadinessProbe != nil
	c.state.Ready = !c.hasReadiness

	probeCtx, cancel := context.WithCancel(ctx)
	c.stopProbes = cancel
	report := func(r probeResult) {
		select {
		case w.events <- r:
		case <-probeCtx.Done():
		}
	}
	for kind, p := range map[probeKind]*corev1.Probe{readiness: spec.ReadinessProbe, liveness: spec.LivenessProbe} {
		if p != nil {
			go prober(probeCtx, kind, spec.Name, proc.PID(), w.podIP, withPortNames(p, spec), report)
		}
	}
	go func(name string, pid int) {
		select {
		case <-proc.done:
			select {
			case w.events <- exited{Container: name, PID: pid}:
			case <-ctx.Done():
			}
		case <-ctx.Done():
		}
	}(spec.Name, proc.PID())
}

// handle applies a process exit or a probe verdict.
func (w *podWorker) handle(ev any, pod *corev1.Pod) {
	switch ev := ev.(type) {
	case probeResult:
		c := w.containers[ev.Container]
		if c == nil || c.proc == nil || c.proc.PID() != ev.PID {
			return // a verdict about a process that is gone
		}
		switch ev.Kind {
		case readiness:
			c.state.Ready = ev.OK
		case liveness:
			if !ev.OK {
				w.a.log.Info("liveness probe failed; restarting the container", "pod", pod.Namespace+"/"+pod.Name, "container", ev.Container, "reason", ev.Message)
				w.stopContainer(c, terminationGrace(pod))
				c.restartAt = time.Now()
			}
		}
	case exited:
		c := w.containers[ev.Container]
		if c == nil || c.proc == nil || c.proc.PID() != ev.PID {
			return // stopped on purpose; already recorded
		}
		w.recordExit(c)
		code := c.state.LastExit.Code
		switch pod.Spec.RestartPolicy {
		case corev1.RestartPolicyNever:
			c.state.Terminated = c.state.LastExit
		case corev1.RestartPolicyOnFailure:
			if code == 0 {
				c.state.Terminated = c.state.LastExit
				break
			}
			fallthrough
		default:
			c.state.Waiting = "CrashLoopBackOff"
			c.state.WaitingMessage = fmt.Sprintf("back-off restarting the container after exit code %d", code)
			c.restartAt = time.Now().Add(w.nextBackoff(c))
		}
	}
}

// nextBackoff doubles a crashing container's wait, from backoffFirst after
// a run of at least backoffReset.
func (w *podWorker) nextBackoff(c *container) time.Duration {
	if c.state.LastExit != nil && c.state.LastExit.FinishedAt.Sub(c.state.LastExit.StartedAt) >= backoffReset {
		c.backoff = 0
	}
	switch {
	case c.backoff == 0:
		c.backoff = backoffFirst
	case c.backoff < backoffMax:
		c.backoff = min(2*c.backoff, backoffMax)
	}
	return c.backoff
}

// stopContainer ends a container's process on purpose and records its exit.
func (w *podWorker) stopContainer(c *container, grace time.Duration) {
	if c.proc == nil {
		return
	}
	c.stopProbes()
	c.proc.stop(grace)
	w.recordExit(c)
}

func (w *podWorker) recordExit(c *container) {
	exit := c.proc.exit
	c.state.LastExit = &exitRecord{Code: exit.Code, Reason: exit.Reason, StartedAt: exit.StartedAt.Truncate(time.Second), FinishedAt: exit.FinishedAt.Truncate(time.Second)}
	c.state.Running, c.state.Ready = false, false
	c.proc = nil
	if c.stopProbes != nil {
		c.stopProbes()
	}
}

// stopAll ends every container concurrently within one grace period.
func (w *podWorker) stopAll(grace time.Duration) {
	var wg sync.WaitGroup
	for _, c := range w.containers {
		if c.proc == nil {
			continue
		}
		wg.Add(1)
		go func(c *container) {
			defer wg.Done()
			w.stopContainer(c, grace)
		}(c)
	}
	wg.Wait()
}

// report writes the pod's status when what the agent owns of it changed.
func (w *podWorker) report(ctx context.Context, pod *corev1.Pod) {
	var states []containerState
	for i := range pod.Spec.Containers {
		if c := w.containers[pod.Spec.Containers[i].Name]; c != nil {
			states = append(states, c.state)
		}
	}
	status := podStatus(pod, w.podIP, w.a.cfg.NodeIP, states, time.Now().Truncate(time.Second))
	want := fingerprint(status)
	// The pod object may predate our last write; only a newer one can tell
	// that somebody else changed what we wrote.
	stale := w.reportedRV != "" && !newerOrSame(pod.ResourceVersion, w.reportedRV)
	if want == w.reported && (stale || fingerprint(pod.Status) == want) {
		return
	}
	rv, err := w.a.patchStatus(ctx, pod, status)
	if err != nil {
		w.a.log.Error("write pod status", "pod", pod.Namespace+"/"+pod.Name, "err", err)
		w.reported = "" // try again on the next change
		return
	}
	w.reported, w.reportedRV = want, rv
}

// withPortNames resolves a probe's named port against the container's ports.
func withPortNames(p *corev1.Probe, c *corev1.Container) *corev1.Probe {
	p = p.DeepCopy()
	resolve := func(port *intstr.IntOrString) {
		if port.Type == intstr.String {
			for _, cp := range c.Ports {
				if cp.Name == port.StrVal {
					*port = intstr.FromInt32(cp.ContainerPort)
				}
			}
		}
	}
	if p.HTTPGet != nil {
		resolve(&p.HTTPGet.Port)
	}
	if p.TCPSocket != nil {
		resolve(&p.TCPSocket.Port)
	}
	return p
}

// supportedProbes refuses probes a live node cannot run: it has no
// container runtime to exec into, and no gRPC prober.
func supportedProbes(c *corev1.Container) error {
	for kind, p := range map[probeKind]*corev1.Probe{readiness: c.ReadinessProbe, liveness: c.LivenessProbe, "startup": c.StartupProbe} {
		if p != nil && p.HTTPGet == nil && p.TCPSocket == nil {
			return fmt.Errorf("container %s: the %s probe must be an HTTP GET or a TCP socket probe on live nodes", c.Name, kind)
		}
	}
	return nil
}

// terminationGrace is the pod's grace period for stopping its containers.
func terminationGrace(pod *corev1.Pod) time.Duration {
	if pod != nil && pod.Spec.TerminationGracePeriodSeconds != nil {
		return time.Duration(*pod.Spec.TerminationGracePeriodSeconds) * time.Second
	}
	return 30 * time.Second
}

// deletionGrace is a deleted pod's grace period. Like kubelet, the agent
// counts it from when it sees the deletion: deletionTimestamp has only
// second precision.
func deletionGrace(pod *corev1.Pod) time.Duration {
	if pod.DeletionGracePeriodSeconds == nil {
		return terminationGrace(pod)
	}
	return time.Duration(max(*pod.DeletionGracePeriodSeconds, 0)) * time.Second
}
