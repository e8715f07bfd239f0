package proxy

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestRetryAllowed(t *testing.T) {
	notConnected := attemptResult{failed: true, kind: attemptNotConnected}
	transient := attemptResult{failed: true, kind: attemptTransient}
	final := attemptResult{failed: true, kind: attemptFinal}
	ok := attemptResult{kind: attemptSucceeded}
	tests := []struct {
		method   string
		bodyRead bool
		result   attemptResult
		want     bool
	}{
		{"GET", false, transient, true},
		{"HEAD", false, transient, true},
		{"PUT", false, transient, true},
		{"DELETE", false, transient, true},
		{"PUT", true, transient, false},
		{"POST", false, transient, false},
		{"PATCH", false, transient, false},
		{"POST", false, notConnected, true},
		{"POST", true, notConnected, false},
		{"GET", false, final, false},
		{"GET", false, ok, false},
	}
	for _, tc := range tests {
		if got := retryAllowed(tc.method, tc.bodyRead, tc.result); got != tc.want {
			t.Errorf("retryAllowed(%s, bodyRead=%v, %+v) = %v, want %v", tc.method, tc.bodyRead, tc.result, got, tc.want)
		}
	}
}

func TestClassify(t *testing.T) {
	live := &exchange{ctx: context.Background()}
	canceledCtx, cancel := context.WithCancel(context.Background())
	cancel()
	canceled := &exchange{ctx: canceledCtx}
	expiredCtx, cancelExpired := context.WithDeadline(context.Background(), time.Unix(0, 0))
	defer cancelExpired()
	expired := &exchange{ctx: expiredCtx}
	status := func(code int) *upstreamResponse { return &upstreamResponse{status: code} }
	dialErr := &net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connection refused")}
	readErr := &net.OpError{Op: "read", Net: "tcp", Err: errors.New("connection reset")}
	tests := []struct {
		name string
		ex   *exchange
		resp *upstreamResponse
		err  error
		want attemptResult
	}{
		{"200", live, status(200), nil, attemptResult{kind: attemptSucceeded}},
		{"404 is the application's answer", live, status(404), nil, attemptResult{kind: attemptSucceeded}},
		{"500", live, status(500), nil, attemptResult{failed: true, kind: attemptFinal}},
		{"502", live, status(502), nil, attemptResult{failed: true, kind: attemptTransient}},
		{"503", live, status(503), nil, attemptResult{failed: true, kind: attemptTransient}},
		{"504", live, status(504), nil, attemptResult{failed: true, kind: attemptTransient}},
		{"dial", live, nil, dialErr, attemptResult{failed: true, kind: attemptNotConnected}},
		{"reset", live, nil, readErr, attemptResult{failed: true, kind: attemptTransient}},
		{"header timeout", live, nil, errResponseHeaderTimeout, attemptResult{failed: true, kind: attemptTransient}},
		{"client gone", canceled, nil, context.Canceled, attemptResult{kind: attemptFinal}},
		{"request deadline", expired, nil, context.DeadlineExceeded, attemptResult{failed: true, kind: attemptFinal}},
		{"body too large", live, nil, &http.MaxBytesError{Limit: 1}, attemptResult{kind: attemptFinal}},
	}
	for _, tc := range tests {
		if got := tc.ex.classify(tc.resp, tc.err); got != tc.want {
			t.Errorf("%s: classify = %+v, want %+v", tc.name, got, tc.want)
		}
	}
}

// flaky fails its first n requests with status, then answers 200.
func flaky(n int64, status int) (http.HandlerFunc, *atomic.Int64) {
	var calls atomic.Int64
	return func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) <= n {
			w.WriteHeader(status)
			_, _ = io.WriteString(w, "flaky")
			return
		}
		_, _ = io.WriteString(w, "ok")
	}, &calls
}

func singleUnitRouter(t *testing.T, o Options, route Route, endpoints ...string) *router {
	t.Helper()
	l := listenLoopback(t)
	o.Unit = "a"
	route.Name, route.ShardMap, route.Host = "accounts", "users", "*"
	r := startRouter(t, l, o, ServerOptions{}, route)
	// Unit a has no failover unit here, so these tests see its own
	// endpoints' outcomes; failover_test.go covers failing over.
	spec := twoUnitMap(1, l.Addr().String(), "127.0.0.1:1")
	spec.Units[0].FailoverTo = ""
	r.SetShardMap("users", compile(t, spec))
	r.SetEndpoints("accounts", endpoints)
	return r
}

// noEjection keeps outlier detection out of retry tests.
var noEjection = OutlierPolicy{ConsecutiveFailures: 1000}

func TestRetries(t *testing.T) {
	tests := []struct {
		name       string
		method     string
		body       string
		attempts   int
		status     int
		wantStatus int
		wantCalls  int64
	}{
		{"GET retried after 503", "GET", "", 1, 503, 200, 2},
		{"GET retried after 502 up to the limit", "GET", "", 2, 502, 502, 3},
		{"GET not retried without retries", "GET", "", 0, 503, 503, 1},
		{"GET not retried after 500", "GET", "", 3, 500, 500, 1},
		{"POST not retried after 503", "POST", "x", 3, 503, 503, 1},
		{"PUT whose body was read is not retried", "PUT", "payload", 3, 503, 503, 1},
		{"DELETE retried", "DELETE", "", 1, 504, 200, 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			handler, calls := flaky(1000, tc.status)
			if tc.wantStatus == 200 {
				handler, calls = flaky(1, tc.status)
			}
			b := newBackend(t, "a", handler)
			r := singleUnitRouter(t, Options{Outlier: noEjection}, Route{Retries: RetryPolicy{Attempts: tc.attempts}}, b.addr())
			resp, _ := do(t, tc.method, r.addr, "/", uid(1), tc.body)
			if resp.StatusCode != tc.wantStatus || calls.Load() != tc.wantCalls {
				t.Fatalf("status %d after %d calls, want %d after %d", resp.StatusCode, calls.Load(), tc.wantStatus, tc.wantCalls)
			}
		})
	}
}

// TestConnectFailureIsRetriedForAnyMethod sends POSTs to a dead and a live
// endpoint. Whichever the balancer picks first, every POST must reach the
// live one: nothing was sent to the dead one.
func TestConnectFailureIsRetriedForAnyMethod(t *testing.T) {
	dead := listenLoopback(t)
	deadAddr := dead.Addr().String()
	_ = dead.Close()
	live := newBackend(t, "a", nil)
	r := singleUnitRouter(t, Options{Outlier: noEjection}, Route{Retries: RetryPolicy{Attempts: 1}}, deadAddr, live.addr())
	for i := 0; i < 20; i++ {
		resp, body := do(t, http.MethodPost, r.addr, "/", uid(1), "payment")
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("POST %d: %d %q", i, resp.StatusCode, body)
		}
	}
	live.mu.Lock()
	defer live.mu.Unlock()
	for i, body := range live.bodies {
		if body != "payment" {
			t.Errorf("request %d reached the upstream with body %q", i, body)
		}
	}
	if live.hits.Load() != 20 {
		t.Errorf("live endpoint got %d of 20 POSTs", live.hits.Load())
	}
}

func TestConnectFailureWithoutRetryIsBadGateway(t *testing.T) {
	dead := listenLoopback(t)
	deadAddr := dead.Addr().String()
	_ = dead.Close()
	r := singleUnitRouter(t, Options{Outlier: noEjection}, Route{}, deadAddr)
	resp, body := get(t, r.addr, "/", uid(1))
	want := `502 Bad Gateway: the upstream of route "accounts" in unit "a" failed (1 attempts)`
	if resp.StatusCode != http.StatusBadGateway || !strings.Contains(body, want) || strings.Contains(body, deadAddr) {
		t.Fatalf("got %d %q, want 502 %q without the address", resp.StatusCode, body, want)
	}
}

func TestResponseHeaderTimeout(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	var calls atomic.Int64
	slow := newBackend(t, "a", func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) == 1 {
			select {
			case <-release:
			case <-r.Context().Done():
			}
		}
		_, _ = io.WriteString(w, "ok")
	})
	route := Route{Timeouts: Timeouts{ResponseHeader: 50 * time.Millisecond}, Retries: RetryPolicy{Attempts: 1}}
	r := singleUnitRouter(t, Options{Outlier: noEjection}, route, slow.addr())
	if resp, body := get(t, r.addr, "/", uid(1)); resp.StatusCode != http.StatusOK || calls.Load() != 2 {
		t.Fatalf("GET got %d %q after %d calls, want a retried 200", resp.StatusCode, body, calls.Load())
	}
	route.Retries.Attempts = 0
	calls.Store(0)
	r = singleUnitRouter(t, Options{Outlier: noEjection}, route, slow.addr())
	resp, body := get(t, r.addr, "/", uid(1))
	if resp.StatusCode != http.StatusGatewayTimeout || !strings.Contains(body, "did not send response headers within 50ms") {
		t.Fatalf("got %d %q, want 504", resp.StatusCode, body)
	}
}

func TestRequestTimeout(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	slow := newBackend(t, "a", func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	})
	r := singleUnitRouter(t, Options{}, Route{Timeouts: Timeouts{Request: 50 * time.Millisecond}, Retries: RetryPolicy{Attempts: 3}}, slow.addr())
	resp, body := get(t, r.addr, "/", uid(1))
	if resp.StatusCode != http.StatusGatewayTimeout || !strings.Contains(body, `route "accounts" did not answer within its 50ms request timeout`) {
		t.Fatalf("got %d %q", resp.StatusCode, body)
	}
	if slow.hits.Load() != 1 {
		t.Errorf("request deadline was retried: %d calls", slow.hits.Load())
	}
}
