package proxy

import (
	"net/http"
	"sync/atomic"
	"testing"
	"time"
)

func TestOutlierPolicyNext(t *testing.T) {
	p := OutlierPolicy{ConsecutiveFailures: 3, BaseEjection: 10 * time.Second, MaxEjection: 35 * time.Second}
	type step struct {
		failed    bool
		wantEject time.Duration
	}
	tests := []struct {
		name  string
		steps []step
	}{
		{"ejects after three failures in a row", []step{{true, 0}, {true, 0}, {true, 10 * time.Second}}},
		{"a success resets the count", []step{{true, 0}, {true, 0}, {false, 0}, {true, 0}, {true, 0}, {true, 10 * time.Second}}},
		{"one failure on probation ejects again, twice as long", []step{
			{true, 0}, {true, 0}, {true, 10 * time.Second},
			{true, 20 * time.Second},
			{true, 35 * time.Second}, // capped
			{true, 35 * time.Second},
		}},
		{"a success on probation forgives the history", []step{
			{true, 0}, {true, 0}, {true, 10 * time.Second},
			{false, 0},
			{true, 0}, {true, 0}, {true, 10 * time.Second},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var s outlierState
			for i, st := range tc.steps {
				var got time.Duration
				s, got = p.next(s, st.failed)
				if got != st.wantEject {
					t.Fatalf("step %d (failed=%v): ejection %v, want %v", i, st.failed, got, st.wantEject)
				}
			}
		})
	}
}

func TestOutlierPolicyDefaultsAndOverflow(t *testing.T) {
	p := OutlierPolicy{}.withDefaults()
	if p.ConsecutiveFailures != 5 || p.BaseEjection != 10*time.Second || p.MaxEjection != 5*time.Minute {
		t.Fatalf("defaults = %+v", p)
	}
	_, d := p.next(outlierState{ejections: 40, probation: true}, true)
	if d != p.MaxEjection {
		t.Fatalf("ejection after 40 ejections = %v, want the cap", d)
	}
}

// TestOutlierEjection drives a failing and a healthy endpoint with a fake
// clock: the failing one is ejected after two 5xx answers, comes back after
// the base time, and is ejected for twice as long after one more failure.
func TestOutlierEjection(t *testing.T) {
	clock := newFakeClock()
	bad := newBackend(t, "bad", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusInternalServerError) })
	good := newBackend(t, "good", nil)
	policy := OutlierPolicy{ConsecutiveFailures: 2, BaseEjection: time.Minute, MaxEjection: time.Hour}
	r := singleUnitRouter(t, Options{Outlier: policy, Now: clock.Now}, Route{}, bad.addr(), good.addr())

	sendUntil := func(cond func() bool) {
		t.Helper()
		for i := 0; i < 500 && !cond(); i++ {
			get(t, r.addr, "/", uid(1))
		}
		if !cond() {
			t.Fatal("condition not reached within 500 requests")
		}
	}
	sendUntil(func() bool { return bad.hits.Load() == 2 })
	for i := 0; i < 30; i++ {
		if resp, _ := get(t, r.addr, "/", uid(1)); resp.StatusCode != http.StatusOK {
			t.Fatalf("request %d after ejection got %d", i, resp.StatusCode)
		}
	}
	if bad.hits.Load() != 2 {
		t.Fatalf("ejected endpoint got %d requests, want 2", bad.hits.Load())
	}

	clock.Advance(time.Minute)
	sendUntil(func() bool { return bad.hits.Load() == 3 }) // back, fails once on probation
	clock.Advance(time.Minute)
	for i := 0; i < 30; i++ {
		get(t, r.addr, "/", uid(1))
	}
	if bad.hits.Load() != 3 {
		t.Fatalf("endpoint came back after one base time; the second ejection must last two")
	}
	clock.Advance(time.Minute)
	sendUntil(func() bool { return bad.hits.Load() == 4 })
}

// TestAllEndpointsEjectedPanics checks panic mode: with every endpoint
// ejected the router still tries one, and a success ends its ejection.
func TestAllEndpointsEjectedPanics(t *testing.T) {
	var healthy atomic.Bool
	flaky := newBackend(t, "flaky", func(w http.ResponseWriter, r *http.Request) {
		if !healthy.Load() {
			w.WriteHeader(http.StatusBadGateway)
			return
		}
		_, _ = w.Write([]byte("recovered"))
	})
	r := singleUnitRouter(t, Options{Outlier: OutlierPolicy{ConsecutiveFailures: 1}, Now: newFakeClock().Now}, Route{}, flaky.addr())
	if resp, _ := get(t, r.addr, "/", uid(1)); resp.StatusCode != http.StatusBadGateway {
		t.Fatalf("first request got %d, want the upstream's 502", resp.StatusCode)
	}
	if resp, _ := get(t, r.addr, "/", uid(1)); resp.StatusCode != http.StatusBadGateway || flaky.hits.Load() != 2 {
		t.Fatalf("ejected-only endpoint: got %d after %d upstream hits, want the upstream's 502 after 2", resp.StatusCode, flaky.hits.Load())
	}
	healthy.Store(true)
	if resp, body := get(t, r.addr, "/", uid(1)); resp.StatusCode != http.StatusOK || body != "recovered" {
		t.Fatalf("panic-mode request to a recovered endpoint got %d %q", resp.StatusCode, body)
	}
	r.mu.Lock()
	ep := r.pools["accounts"].set.Load().endpoints[0]
	r.mu.Unlock()
	if !ep.ready(newFakeClock().Now().UnixNano()) {
		t.Error("a success in panic mode left the endpoint ejected")
	}
}

func TestEndpointStateSurvivesUpdates(t *testing.T) {
	var pool endpointPool
	pool.replace([]string{"127.0.0.1:1", "127.0.0.1:2", "127.0.0.1:1"})
	first := pool.set.Load().endpoints
	if len(first) != 2 {
		t.Fatalf("duplicates kept: %d endpoints", len(first))
	}
	first[0].ejectedUntil.Store(42)
	pool.replace([]string{"127.0.0.1:3", "127.0.0.1:1"})
	next := pool.set.Load().endpoints
	if next[1] != first[0] || next[1].ejectedUntil.Load() != 42 {
		t.Fatal("an endpoint kept across updates lost its ejection state")
	}
}

func TestPickPrefersFewerInFlightAndSkipsTried(t *testing.T) {
	set := &endpointSet{endpoints: []*endpoint{{addr: "a"}, {addr: "b"}}}
	set.endpoints[0].inflight.Store(10)
	for i := 0; i < 20; i++ {
		if got := set.pick(0, &triedList{}); got.addr != "b" {
			t.Fatalf("picked %s with 10 in flight over an idle endpoint", got.addr)
		}
	}
	tried := &triedList{}
	tried.add(set.endpoints[1])
	if got := set.pick(0, tried); got.addr != "a" {
		t.Fatalf("picked tried endpoint %s while another was ready", got.addr)
	}
	tried.add(set.endpoints[0])
	if got := set.pick(0, tried); got == nil {
		t.Fatal("no endpoint although tried ones are ready")
	}
	// Panic mode: every endpoint ejected, the one ejected longest ago is
	// tried, then the other, then none.
	set.endpoints[0].ejectedUntil.Store(100)
	set.endpoints[0].ejectedAt.Store(20)
	set.endpoints[1].ejectedUntil.Store(100)
	set.endpoints[1].ejectedAt.Store(10)
	tried = &triedList{}
	for _, want := range []string{"b", "a"} {
		got := set.pick(99, tried)
		if got == nil || got.addr != want {
			t.Fatalf("panic mode picked %v, want %s", got, want)
		}
		tried.add(got)
	}
	if got := set.pick(99, tried); got != nil {
		t.Fatalf("picked %s although every endpoint is ejected and tried", got.addr)
	}
}
