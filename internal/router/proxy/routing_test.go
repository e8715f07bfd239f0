package proxy

import (
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/cafe-dev/cafe/internal/router/shard"
)

// twoRouters starts routers for units a and b, each with one backend.
func twoRouters(t *testing.T, epoch int64, o Options) (ra, rb *router, ba, bb *backend) {
	t.Helper()
	la, lb := listenLoopback(t), listenLoopback(t)
	spec := twoUnitMap(epoch, la.Addr().String(), lb.Addr().String())
	ba, bb = newBackend(t, "a", nil), newBackend(t, "b", nil)
	oa, ob := o, o
	oa.Unit, ob.Unit = "a", "b"
	ra = startRouter(t, la, oa, ServerOptions{})
	rb = startRouter(t, lb, ob, ServerOptions{})
	ra.SetShardMap("users", compile(t, spec))
	rb.SetShardMap("users", compile(t, spec))
	ra.SetEndpoints("accounts", []string{ba.addr()})
	rb.SetEndpoints("accounts", []string{bb.addr()})
	return ra, rb, ba, bb
}

func TestOwnUnitIsProxiedToItsEndpoints(t *testing.T) {
	ra, _, ba, bb := twoRouters(t, 3, Options{})
	resp, body := get(t, ra.addr, "/balance", uid(7))
	if resp.StatusCode != http.StatusOK || body != "hello from a" {
		t.Fatalf("status %d body %q", resp.StatusCode, body)
	}
	if got := resp.Header.Get(HeaderUnit); got != "a" {
		t.Errorf("%s = %q, want a", HeaderUnit, got)
	}
	id := resp.Header.Get(HeaderRequestID)
	if len(id) != 32 {
		t.Errorf("generated request ID %q, want 32 hex characters", id)
	}
	upstream := ba.last()
	if upstream.Header.Get(HeaderRequestID) != id {
		t.Errorf("upstream saw request ID %q, client got %q", upstream.Header.Get(HeaderRequestID), id)
	}
	if upstream.Header.Get("X-Forwarded-For") != "127.0.0.1" {
		t.Errorf("X-Forwarded-For = %q", upstream.Header.Get("X-Forwarded-For"))
	}
	if bb.hits.Load() != 0 {
		t.Errorf("unit b's backend got %d requests", bb.hits.Load())
	}
}

func TestRequestIDIsPropagated(t *testing.T) {
	ra, _, ba, _ := twoRouters(t, 3, Options{})
	header := uid(7)
	header[HeaderRequestID] = "req-123"
	resp, _ := get(t, ra.addr, "/", header)
	if resp.Header.Get(HeaderRequestID) != "req-123" || ba.last().Header.Get(HeaderRequestID) != "req-123" {
		t.Fatalf("request ID not kept: response %q, upstream %q", resp.Header.Get(HeaderRequestID), ba.last().Header.Get(HeaderRequestID))
	}
	if got := resp.Header.Values(HeaderRequestID); len(got) != 1 {
		t.Errorf("response carries request ID %d times", len(got))
	}
}

func TestOtherUnitsShardIsForwardedOnce(t *testing.T) {
	var mu sync.Mutex
	var newer []NewerEpoch
	ra, rb, ba, bb := twoRouters(t, 3, Options{OnNewerEpoch: func(n NewerEpoch) {
		mu.Lock()
		newer = append(newer, n)
		mu.Unlock()
	}})
	// Router b holds an older map: the forwarded epoch is newer there.
	stale := twoUnitMap(2, ra.addr, rb.addr)
	rb.SetShardMap("users", compile(t, stale))

	resp, body := get(t, ra.addr, "/balance", uid(77))
	if resp.StatusCode != http.StatusOK || body != "hello from b" {
		t.Fatalf("status %d body %q", resp.StatusCode, body)
	}
	if got := resp.Header.Get(HeaderUnit); got != "b" {
		t.Errorf("%s = %q, want b", HeaderUnit, got)
	}
	if ba.hits.Load() != 0 || bb.hits.Load() != 1 {
		t.Errorf("backend hits a=%d b=%d, want 0 and 1", ba.hits.Load(), bb.hits.Load())
	}
	upstream := bb.last()
	for _, h := range []string{HeaderHop, HeaderEpoch, HeaderForwardedBy} {
		if v := upstream.Header.Get(h); v != "" {
			t.Errorf("application saw router header %s: %q", h, v)
		}
	}
	if upstream.Header.Get(HeaderRequestID) != resp.Header.Get(HeaderRequestID) {
		t.Errorf("request ID changed across the hop")
	}
	mu.Lock()
	defer mu.Unlock()
	want := NewerEpoch{ShardMap: "users", LocalEpoch: 2, RemoteEpoch: 3, FromUnit: "a"}
	if len(newer) != 1 || newer[0] != want {
		t.Errorf("OnNewerEpoch calls = %+v, want [%+v]", newer, want)
	}
}

func TestSecondHopIsLoopDetected(t *testing.T) {
	ra, rb, _, bb := twoRouters(t, 5, Options{})
	// b believes, at a's epoch, that a owns every shard: a forwards shard
	// 77 to b, and b must not send it back.
	spec := twoUnitMap(5, ra.addr, rb.addr)
	spec.Units[0].Ranges = []shard.Range{{From: 0, To: 99}}
	spec.Units[1].Ranges = nil
	rb.SetShardMap("users", compile(t, spec))

	resp, body := get(t, ra.addr, "/", uid(77))
	if resp.StatusCode != http.StatusLoopDetected {
		t.Fatalf("status %d, want 508; body %q", resp.StatusCode, body)
	}
	for _, want := range []string{`unit "a" (epoch 5)`, `unit "b" (epoch 5)`, `maps it to unit "a"`, "shard 77"} {
		if !strings.Contains(body, want) {
			t.Errorf("508 body %q does not contain %q", body, want)
		}
	}
	if bb.hits.Load() != 0 {
		t.Errorf("a looping request reached an application")
	}
}

func TestUnitWithoutRouterAddressIsBadGateway(t *testing.T) {
	ra, _, _, _ := twoRouters(t, 1, Options{})
	ra.SetShardMap("users", compile(t, twoUnitMap(2, "", "")))
	resp, body := get(t, ra.addr, "/", uid(77))
	if resp.StatusCode != http.StatusBadGateway || !strings.Contains(body, `unit "b" owns this request's shard but has no router address`) {
		t.Fatalf("status %d body %q", resp.StatusCode, body)
	}
}

func TestRejections(t *testing.T) {
	ra, rb, _, _ := twoRouters(t, 3, Options{})
	if err := ra.SetRoutes([]Route{
		{Name: "accounts", Host: "bank.example", PathPrefix: "/accounts", ShardMap: "users"},
		{Name: "cards", Host: "bank.example", PathPrefix: "/cards", ShardMap: "cards"},
	}); err != nil {
		t.Fatal(err)
	}
	down := twoUnitMap(3, ra.addr, rb.addr)
	down.Units[1].State = shard.UnitDown
	down.Units[0].State = shard.UnitDown
	noFailover := twoUnitMap(3, ra.addr, rb.addr)
	noFailover.Units[0].FailoverTo = ""
	tests := []struct {
		name   string
		path   string
		header map[string]string
		setup  func()
		status int
		body   string
	}{
		{"missing key", "/accounts/1", map[string]string{"Host": "bank.example"}, nil,
			400, `400 Bad Request: shard key missing: header "X-Cafe-Uid": not present; route "accounts" needs the shard key`},
		{"malformed key", "/accounts/1", map[string]string{"Host": "bank.example", "X-Cafe-Uid": "U1x"}, nil,
			400, `shard key malformed: header "X-Cafe-Uid": character 'x' at position 2 is not a digit`},
		{"unknown host", "/accounts", map[string]string{"Host": "other.example", "X-Cafe-Uid": "U01"}, nil,
			404, `404 Not Found: no route for host "other.example" and path "/accounts"`},
		{"unknown path", "/loans", map[string]string{"Host": "bank.example", "X-Cafe-Uid": "U01"}, nil,
			404, `no route for host "bank.example" and path "/loans"`},
		{"prefix matches whole segments", "/accountsx", map[string]string{"Host": "bank.example", "X-Cafe-Uid": "U01"}, nil,
			404, `no route for host "bank.example" and path "/accountsx"`},
		{"shard map not loaded", "/cards/1", map[string]string{"Host": "bank.example", "X-Cafe-Uid": "U01"}, nil,
			503, `503 Service Unavailable: shard map "cards" for route "cards" is not loaded yet`},
		{"no endpoints", "/accounts/1", map[string]string{"Host": "bank.example", "X-Cafe-Uid": "U01"},
			func() { ra.SetEndpoints("accounts", nil); ra.SetShardMap("users", compile(t, noFailover)) },
			503, `503 Service Unavailable: unit "a" has no endpoints for route "accounts"; it was not sent to a failover unit because unit "a" has no failoverTo`},
		{"no unit can serve", "/accounts/1", map[string]string{"Host": "bank.example", "X-Cafe-Uid": "U01"},
			func() { ra.SetShardMap("users", compile(t, down)) },
			503, `shard 1 has no serving unit at epoch 3: its unit "a" is Down`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.setup != nil {
				tc.setup()
			}
			resp, body := get(t, ra.addr, tc.path, tc.header)
			if resp.StatusCode != tc.status || !strings.Contains(body, tc.body) {
				t.Fatalf("got %d %q, want %d containing %q", resp.StatusCode, body, tc.status, tc.body)
			}
			if resp.Header.Get("Content-Type") != "text/plain; charset=utf-8" || resp.Header.Get(HeaderUnit) != "a" || len(resp.Header.Get(HeaderRequestID)) != 32 {
				t.Errorf("headers %v", resp.Header)
			}
		})
	}
}

func TestMissingKeyGoesToDefaultUnit(t *testing.T) {
	ra, rb, _, bb := twoRouters(t, 3, Options{})
	spec := twoUnitMap(3, ra.addr, rb.addr)
	spec.OnMissingKey = shard.MissingKeyPolicy{Action: shard.DefaultUnitForMissingKey, Unit: "b"}
	ra.SetShardMap("users", compile(t, spec))
	rb.SetShardMap("users", compile(t, spec))
	resp, body := get(t, ra.addr, "/", nil)
	if resp.StatusCode != http.StatusOK || body != "hello from b" || bb.hits.Load() != 1 {
		t.Fatalf("status %d body %q", resp.StatusCode, body)
	}
	// A malformed key is never defaulted.
	resp, _ = get(t, ra.addr, "/", map[string]string{"X-Cafe-Uid": "bad-key"})
	if resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("malformed key got %d, want 400", resp.StatusCode)
	}
}

func TestConnectIsNotRouted(t *testing.T) {
	ra, _, _, _ := twoRouters(t, 3, Options{})
	h := ra.Handler
	rec := &recordingWriter{header: http.Header{}}
	req, _ := http.NewRequest(http.MethodConnect, "http://x/", nil)
	h.ServeHTTP(rec, req)
	if rec.status != http.StatusMethodNotAllowed {
		t.Fatalf("CONNECT got %d", rec.status)
	}
}

type recordingWriter struct {
	header http.Header
	status int
	body   strings.Builder
}

func (w *recordingWriter) Header() http.Header         { return w.header }
func (w *recordingWriter) WriteHeader(code int)        { w.status = code }
func (w *recordingWriter) Write(p []byte) (int, error) { return w.body.Write(p) }

func TestSetRoutesRejectsConflictsAndKeepsTheOldTable(t *testing.T) {
	ra, _, _, _ := twoRouters(t, 3, Options{})
	tests := []struct {
		routes []Route
		want   string
	}{
		{[]Route{{Name: "x", ShardMap: "users"}, {Name: "x", ShardMap: "users", PathPrefix: "/y"}}, `name "x" is used twice`},
		{[]Route{{Name: "x", ShardMap: "users", PathPrefix: "/a/"}, {Name: "y", ShardMap: "users", PathPrefix: "/a"}}, `already routed by "x"`},
		{[]Route{{Name: "x"}}, "shardMap is required"},
		{[]Route{{Name: "x", ShardMap: "users", PathPrefix: "a"}}, "must start with /"},
		{[]Route{{Name: "x", ShardMap: "users", Retries: RetryPolicy{Attempts: 6}}}, "retries.attempts 6 is outside 0..5"},
	}
	for _, tc := range tests {
		if err := ra.SetRoutes(tc.routes); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("SetRoutes(%+v) = %v, want %q", tc.routes, err, tc.want)
		}
	}
	if resp, _ := get(t, ra.addr, "/", uid(7)); resp.StatusCode != http.StatusOK {
		t.Fatalf("old routes were dropped: %d", resp.StatusCode)
	}
}

func TestLongestPrefixAndExactHostWin(t *testing.T) {
	table := newRouteTable([]*compiledRoute{
		{Route: Route{Name: "any"}, prefix: "/"},
		{Route: Route{Name: "any-api", Host: "*"}, prefix: "/api"},
		{Route: Route{Name: "bank", Host: "Bank.Example"}, prefix: "/"},
		{Route: Route{Name: "bank-api-v2", Host: "bank.example"}, prefix: "/api/v2"},
	})
	tests := []struct{ host, path, want string }{
		{"bank.example:8080", "/api/v2/x", "bank-api-v2"},
		{"BANK.example", "/api/v1", "bank"},
		{"other", "/api", "any-api"},
		{"other", "/api/x", "any-api"},
		{"other", "/apix", "any"},
		{"[::1]:80", "/", "any"},
	}
	for _, tc := range tests {
		if got := table.match(tc.host, tc.path); got == nil || got.Name != tc.want {
			t.Errorf("match(%q, %q) = %v, want %s", tc.host, tc.path, got, tc.want)
		}
	}
}
