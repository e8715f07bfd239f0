//go:build integration

package router

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/types"

	trafficv1alpha1 "github.com/cafe-dev/cafe/api/traffic/v1alpha1"
	"github.com/cafe-dev/cafe/internal/platform"
	"github.com/cafe-dev/cafe/internal/router/proxy"
	"github.com/cafe-dev/cafe/internal/testenv"
	"github.com/cafe-dev/cafe/test/router/netlab"
	"github.com/cafe-dev/cafe/test/router/scenario"
)

// The test binary runs as a backend process when backendEnv names the
// backend; backendAddrEnv is where it listens (in the namespace `ip netns
// exec` put it in).
const (
	backendEnv     = "CAFE_ROUTER_TEST_BACKEND"
	backendAddrEnv = "CAFE_ROUTER_TEST_BACKEND_ADDR"
	// headerSawForwardedFor echoes the X-Forwarded-For the backend got:
	// every router on the way appends its client, so it counts hops.
	headerSawForwardedFor = "X-Backend-Saw-Forwarded-For"
)

// backendMain is the backend process: it answers every request with its
// name, in netlab.HeaderBackend and as the body, like netlab's in-process
// backends, and echoes X-Forwarded-For.
func backendMain(name string) int {
	l, err := net.Listen("tcp", os.Getenv(backendAddrEnv))
	if err != nil {
		fmt.Fprintln(os.Stderr, "backend:", err)
		return 1
	}
	srv := &http.Server{
		ReadHeaderTimeout: 10 * time.Second,
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.Copy(io.Discard, r.Body)
			w.Header().Set(netlab.HeaderBackend, name)
			w.Header().Set(headerSawForwardedFor, r.Header.Get("X-Forwarded-For"))
			_, _ = io.WriteString(w, name+"\n")
		}),
	}
	_ = srv.Serve(l)
	return 1
}

// proc is a process the test started; it is ended by its PID only.
type proc struct {
	name string
	cmd  *exec.Cmd
	done chan struct{}
}

func startProc(t *testing.T, name string, env []string, out io.Writer, bin string, args ...string) *proc {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = out, out
	// Dies with the test binary even when that is killed.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	p := &proc{name: name, cmd: cmd, done: make(chan struct{})}
	go func() { _ = cmd.Wait(); close(p.done) }()
	t.Cleanup(func() { p.terminate(t) })
	return p
}

func (p *proc) pid() int { return p.cmd.Process.Pid }

func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// kill sends SIGKILL to the process and waits for it.
func (p *proc) kill(t *testing.T) {
	if p.exited() {
		return
	}
	_ = syscall.Kill(p.pid(), syscall.SIGKILL)
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
		t.Errorf("%s (pid %d) did not die of SIGKILL", p.name, p.pid())
	}
}

// terminate sends SIGTERM, and SIGKILL after 10s.
func (p *proc) terminate(t *testing.T) {
	if p.exited() {
		return
	}
	_ = syscall.Kill(p.pid(), syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
		t.Errorf("%s (pid %d) ignored SIGTERM for 10s; killing it", p.name, p.pid())
		p.kill(t)
	}
}

// procBackend is one backend process of a unit.
type procBackend struct {
	*netlab.Backend // the name, unit and port the EndpointSlice is made of
	bin             string
	proc            *proc
	log             *testenv.SyncBuffer
}

// start runs the backend in its unit's namespace through `ip netns exec`,
// which execs it: the PID is the backend's own.
func (b *procBackend) start(t *testing.T) {
	t.Helper()
	b.proc = startProc(t, "backend "+b.Name, []string{backendEnv + "=" + b.Name, backendAddrEnv + "=" + b.Addr()}, b.log,
		"ip", "netns", "exec", b.Unit.Netns, b.bin)
	if err := platform.WaitListening(b.Addr(), 10*time.Second); err != nil {
		t.Fatalf("backend %s (pid %d): %v\n%s", b.Name, b.proc.pid(), err, b.log.String())
	}
	if exe, err := os.Readlink(fmt.Sprintf("/proc/%d/exe", b.proc.pid())); err != nil || exe != b.bin {
		t.Fatalf("backend %s: pid %d runs %q (%v), not the backend", b.Name, b.proc.pid(), exe, err)
	}
}

// TestRealRouterAndBackendProcesses runs the cafe-router binary for each
// unit (Kubernetes mode, failover candidates) and each backend as a process
// of its own in its unit's network namespace, registered through
// EndpointSlices as the fixture does. Every router serves every unit's
// shards from that unit, in one hop; SIGKILLed backends of unit-b fail it
// over to unit-c with no failed idempotent GET, and restarted ones fail it
// back after failbackAfter.
func TestRealRouterAndBackendProcesses(t *testing.T) {
	requireRoot(t)
	routerBin := testenv.BuildCommand(t, "./cmd/cafe-router")
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	ns := env.Namespace(t)
	lab, err := netlab.Setup(units)
	if err != nil {
		t.Fatal(err)
	}
	// Registered first, so it runs after every process is gone.
	t.Cleanup(func() {
		if err := lab.Close(); err != nil {
			t.Errorf("remove the network lab: %v", err)
		}
	})

	backends := map[string][]*procBackend{}
	slices := map[string][]*netlab.Backend{}
	for _, u := range lab.Units {
		for i := 0; i < backendPorts; i++ {
			b := &procBackend{Backend: &netlab.Backend{Name: fmt.Sprintf("%s-%d", u.Name, i), Unit: u, Port: 8080 + i}, bin: self, log: &testenv.SyncBuffer{}}
			b.start(t)
			backends[u.Name] = append(backends[u.Name], b)
			slices[u.Name] = append(slices[u.Name], b.Backend)
		}
	}

	routerAddrs, adminAddrs := map[string]string{}, map[string]string{}
	for _, unit := range units {
		routerAddrs[unit], adminAddrs[unit] = testenv.FreeAddr(t), testenv.FreeAddr(t)
	}
	for _, obj := range scenario.Objects(scenario.Options{
		Namespace: ns, Backends: slices, RouterAddresses: routerAddrs,
		FailoverAfter: failoverAfter, FailbackAfter: failbackAfter, PodUnit: "unit-c",
	}) {
		if err := env.Client.Create(context.Background(), obj); err != nil {
			t.Fatal(err)
		}
	}
	routerLogs := map[string]*testenv.SyncBuffer{}
	routers := map[string]*proc{}
	for _, unit := range units {
		routerLogs[unit] = &testenv.SyncBuffer{}
		r := startProc(t, "cafe-router "+unit, nil, routerLogs[unit], routerBin,
			"--unit", unit, "--listen", routerAddrs[unit], "--metrics-listen", adminAddrs[unit],
			"--kubeconfig", env.Platform.KubeconfigPath(), "--namespace", ns,
			"--failover", "--health-probe-interval", "100ms",
			"--lease-duration", leaseDuration.String(), "--lease-renew-deadline", renewDeadline.String(), "--lease-retry-period", retryPeriod.String(),
			"--access-log-sample", "0")
		t.Logf("cafe-router %s: pid %d, listening on %s", unit, r.pid(), routerAddrs[unit])
		routers[unit] = r
	}
	t.Cleanup(func() {
		if t.Failed() {
			for _, unit := range units {
				t.Logf("cafe-router %s log:\n%s", unit, routerLogs[unit].String())
			}
			for _, unit := range units {
				for _, b := range backends[unit] {
					t.Logf("backend %s log:\n%s", b.Name, b.log.String())
				}
			}
		}
	})
	c := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 16}}
	testenv.Eventually(t, 30*time.Second, "every cafe-router ready", func() (bool, string) {
		for _, unit := range units {
			resp, err := c.Get("http://" + adminAddrs[unit] + "/readyz")
			if err != nil {
				return false, err.Error()
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				return false, fmt.Sprintf("router %s: /readyz %d", unit, resp.StatusCode)
			}
		}
		return true, ""
	})

	type reply struct {
		status                   int
		unit, backend, body, xff string
	}
	get := func(from string, shard int) reply {
		req, _ := http.NewRequest(http.MethodGet, "http://"+routerAddrs[from]+"/accounts/balance", nil)
		req.Host = "bank.example"
		req.Header.Set("X-Cafe-Uid", scenario.UID(shard))
		resp, err := c.Do(req)
		if err != nil {
			return reply{body: err.Error()}
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return reply{status: resp.StatusCode, unit: resp.Header.Get(proxy.HeaderUnit), backend: resp.Header.Get(netlab.HeaderBackend),
			body: strings.TrimSpace(string(body)), xff: resp.Header.Get(headerSawForwardedFor)}
	}
	isBackendOf := func(unit, name string) bool {
		for _, b := range backends[unit] {
			if b.Name == name {
				return true
			}
		}
		return false
	}
	// servedFrom checks the routers send shards to a backend process of
	// want, itself when want is the router's unit and in one hop
	// otherwise; servedBy checks every router does.
	servedFrom := func(routers []string, shards []int, want string) (bool, string) {
		for _, from := range routers {
			for _, s := range shards {
				a := get(from, s)
				if a.status != http.StatusOK || a.unit != want || !isBackendOf(want, a.body) || a.backend != a.body {
					return false, fmt.Sprintf("shard %d at router %s: status %d unit %q backend %q body %q", s, from, a.status, a.unit, a.backend, a.body)
				}
				hops := len(strings.Split(a.xff, ",")) - 1
				if wantHops := map[bool]int{true: 0, false: 1}[from == want]; hops != wantHops {
					return false, fmt.Sprintf("shard %d at router %s reached %s after %d hops (X-Forwarded-For %q), want %d", s, from, a.body, hops, a.xff, wantHops)
				}
			}
		}
		return true, ""
	}
	servedBy := func(shards []int, want string) (bool, string) { return servedFrom(units, shards, want) }

	seen := map[string]bool{}
	for unit, shards := range declared {
		if ok, why := servedBy(shards, unit); !ok {
			t.Errorf("unit %s's shards: %s", unit, why)
		}
		for _, s := range shards {
			seen[get(unit, s).body] = true
		}
	}
	for _, unit := range units {
		for _, b := range backends[unit] {
			if !seen[b.Name] {
				t.Errorf("backend process %s got no request", b.Name)
			}
		}
	}
	if t.Failed() {
		t.FailNow()
	}

	// Idempotent GETs for unit-b's shards at every router while its
	// backend processes are SIGKILLed and restarted.
	shards := sampleOf(declared["unit-b"])
	loop := startGetLoop(units, shards, func(router string, shard int) (int, string) {
		r := get(router, shard)
		return r.status, r.body
	})
	defer loop.stop()
	time.Sleep(300 * time.Millisecond)

	before := getShardMap(t, ns).Status.Epoch
	began := time.Now()
	for _, b := range backends["unit-b"] {
		b.proc.kill(t)
		t.Logf("SIGKILLed backend %s, pid %d", b.Name, b.proc.pid())
	}
	testenv.Eventually(t, 15*time.Second, "unit-b's shards served by unit-c", func() (bool, string) {
		return servedBy(shards, "unit-c")
	})
	servedTook := time.Since(began)
	testenv.Eventually(t, 15*time.Second, "unit-b failed over to unit-c in the ShardMap's status", func() (bool, string) {
		sm := getShardMap(t, ns)
		return sm.Status.Epoch == before+1 && servedByInStatus(sm, "unit-b") == "unit-c",
			fmt.Sprintf("status epoch %d, unit-b served by %q", sm.Status.Epoch, servedByInStatus(sm, "unit-b"))
	})
	movedTook := time.Since(began)
	// Across the epoch change too.
	time.Sleep(500 * time.Millisecond)
	if ok, why := servedBy(shards, "unit-c"); !ok {
		t.Errorf("after the failover epoch: %s", why)
	}
	t.Logf("failover: unit-b's requests served by unit-c %v after its backend processes were killed, status moved %v after", servedTook, movedTook)

	began = time.Now()
	for _, b := range backends["unit-b"] {
		b.start(t)
		t.Logf("restarted backend %s, pid %d", b.Name, b.proc.pid())
	}
	testenv.Eventually(t, 15*time.Second, "unit-b failed back in the ShardMap's status", func() (bool, string) {
		sm := getShardMap(t, ns)
		return sm.Status.Epoch == before+2 && servedByInStatus(sm, "unit-b") == "unit-b",
			fmt.Sprintf("status epoch %d, unit-b served by %q", sm.Status.Epoch, servedByInStatus(sm, "unit-b"))
	})
	backTook := time.Since(began)
	if backTook < failbackAfter {
		t.Errorf("failback %v after the backends came back, before failbackAfter (%v)", backTook, failbackAfter)
	}
	testenv.Eventually(t, 5*time.Second, "unit-b's shards served by unit-b again", func() (bool, string) {
		return servedBy(shards, "unit-b")
	})
	t.Logf("failback: status gave unit-b its shards back %v after its backend processes restarted; every router served them from unit-b %v after", backTook, time.Since(began))
	loop.stop()
	t.Logf("%d of %d idempotent GETs failed across failover and failback (first: %v)", loop.failed.Load(), loop.sent.Load(), loop.first.Load())
	if loop.failed.Load() != 0 {
		t.Errorf("%d of %d idempotent GETs for unit-b's shards failed (first: %v); want none", loop.failed.Load(), loop.sent.Load(), loop.first.Load())
	}
	for _, unit := range units {
		if ok, why := servedBy(sampleOf(declared[unit]), unit); !ok {
			t.Errorf("at the end: %s", why)
		}
	}
	if got := getShardMap(t, ns).Status.Epoch; got != before+2 {
		t.Errorf("failover and failback took the epoch from %d to %d, want two steps", before, got)
	}
	if t.Failed() {
		t.FailNow()
	}

	// The failover leader's process dies (SIGKILL): it cannot release the
	// Lease, so another router leads only once the Lease expires, and then
	// fails a unit over and back on its own.
	holder := leaseHolder(t, ns)
	deadUnit, _, _ := strings.Cut(holder, "_")
	if routers[deadUnit] == nil {
		t.Fatalf("Lease holder %q names no router of this test", holder)
	}
	var alive []string
	for _, unit := range units {
		if unit != deadUnit {
			alive = append(alive, unit)
		}
	}
	epoch := getShardMap(t, ns).Status.Epoch
	killedAt := time.Now()
	routers[deadUnit].kill(t)
	t.Logf("SIGKILLed the failover leader, cafe-router %s (Lease holder %q)", deadUnit, holder)
	var newHolder string
	testenv.Eventually(t, 3*leaseDuration, "another router to take the Lease once it expires", func() (bool, string) {
		newHolder = leaseHolder(t, ns)
		unit, _, _ := strings.Cut(newHolder, "_")
		return newHolder != "" && unit != deadUnit, "Lease holder " + newHolder
	})
	tookOver := time.Since(killedAt)
	t.Logf("%q took the Lease %v after the leader was killed (lease duration %v)", newHolder, tookOver, leaseDuration)
	if tookOver < leaseDuration-2*retryPeriod {
		t.Errorf("the Lease changed hands %v after its holder was killed, before it could expire (%v)", tookOver, leaseDuration)
	}
	if got := getShardMap(t, ns).Status.Epoch; got != epoch {
		t.Errorf("the leader change alone moved the epoch from %d to %d", epoch, got)
	}

	// The unit that fails over between the two routers left alive.
	var victim string
	for _, unit := range alive {
		if scenario.FailoverTo[unit] != deadUnit {
			victim = unit
		}
	}
	target := scenario.FailoverTo[victim]
	victimShards := sampleOf(declared[victim])
	after := startGetLoop(alive, victimShards, func(router string, shard int) (int, string) {
		r := get(router, shard)
		return r.status, r.body
	})
	defer after.stop()
	for _, b := range backends[victim] {
		b.proc.kill(t)
	}
	testenv.Eventually(t, 15*time.Second, "the new leader to fail "+victim+" over to "+target, func() (bool, string) {
		sm := getShardMap(t, ns)
		return sm.Status.Epoch == epoch+1 && servedByInStatus(sm, victim) == target,
			fmt.Sprintf("status epoch %d, %s served by %q", sm.Status.Epoch, victim, servedByInStatus(sm, victim))
	})
	testenv.Eventually(t, 5*time.Second, victim+"'s shards served by "+target+" from the routers alive", func() (bool, string) {
		return servedFrom(alive, victimShards, target)
	})
	for _, b := range backends[victim] {
		b.start(t)
	}
	testenv.Eventually(t, 15*time.Second, "the new leader to fail "+victim+" back", func() (bool, string) {
		sm := getShardMap(t, ns)
		return sm.Status.Epoch == epoch+2 && servedByInStatus(sm, victim) == victim,
			fmt.Sprintf("status epoch %d, %s served by %q", sm.Status.Epoch, victim, servedByInStatus(sm, victim))
	})
	testenv.Eventually(t, 5*time.Second, victim+"'s shards served by "+victim+" again", func() (bool, string) {
		return servedFrom(alive, victimShards, victim)
	})
	after.stop()
	t.Logf("under the new leader: %d of %d idempotent GETs failed across %s's failover and failback (first: %v)", after.failed.Load(), after.sent.Load(), victim, after.first.Load())
	if after.failed.Load() != 0 {
		t.Errorf("%d of %d idempotent GETs for %s's shards failed under the new leader (first: %v); want none", after.failed.Load(), after.sent.Load(), victim, after.first.Load())
	}
}

func getShardMap(t *testing.T, ns string) *trafficv1alpha1.ShardMap {
	t.Helper()
	var sm trafficv1alpha1.ShardMap
	if err := env.Client.Get(context.Background(), types.NamespacedName{Namespace: ns, Name: shardMapName}, &sm); err != nil {
		t.Fatal(err)
	}
	return &sm
}
