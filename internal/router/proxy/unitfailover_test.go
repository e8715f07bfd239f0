package proxy

import (
	"net/http"
	"strings"
	"testing"
)

func TestDecideHop(t *testing.T) {
	tests := []struct {
		name string
		in   hopInput
		want hopVerdict
	}{
		{"own shard", hopInput{local: "a", owner: "a"}, serveHere},
		{"own shard after a hop", hopInput{local: "a", owner: "a", hopped: true, remoteEpoch: 1, localEpoch: 9}, serveHere},
		{"other unit's shard", hopInput{local: "a", owner: "b", localEpoch: 3}, forwardToOwner},
		{"hopped, maps disagree at the same epoch", hopInput{local: "a", owner: "b", hopped: true, remoteEpoch: 3, localEpoch: 3}, loopDetected},
		{"hopped, local map newer", hopInput{local: "a", owner: "b", hopped: true, remoteEpoch: 2, localEpoch: 3}, relayToOwner},
		{"final hop, local map newer", hopInput{local: "a", owner: "b", hopped: true, remoteEpoch: 2, localEpoch: 3, finalHop: true}, loopDetected},
		{"final hop, sender's map newer", hopInput{local: "a", owner: "b", hopped: true, remoteEpoch: 4, localEpoch: 3, finalHop: true}, serveHere},
		{"hopped, no epoch", hopInput{local: "a", owner: "b", hopped: true, remoteEpoch: -1, localEpoch: 0}, loopDetected},
		{"hopped, sender's map newer", hopInput{local: "a", owner: "b", hopped: true, remoteEpoch: 4, localEpoch: 3}, serveHere},
		{"failover from the owner to us", hopInput{local: "a", owner: "b", hopped: true, remoteEpoch: 3, localEpoch: 3, failoverFrom: "b", failoverFromTarget: "a"}, serveHere},
		{"failover from the owner to another unit", hopInput{local: "a", owner: "b", hopped: true, remoteEpoch: 3, localEpoch: 3, failoverFrom: "b", failoverFromTarget: "c"}, loopDetected},
		{"failover from a unit that is not the owner", hopInput{local: "a", owner: "b", hopped: true, remoteEpoch: 3, localEpoch: 3, failoverFrom: "c", failoverFromTarget: "a"}, loopDetected},
		{"failover from the owner to us, final hop", hopInput{local: "a", owner: "b", hopped: true, remoteEpoch: 2, localEpoch: 3, failoverFrom: "b", failoverFromTarget: "a", finalHop: true}, serveHere},
		{"failover header without a hop", hopInput{local: "a", owner: "b", failoverFrom: "b", failoverFromTarget: "a"}, forwardToOwner},
	}
	for _, tc := range tests {
		if got := decideHop(tc.in); got != tc.want {
			t.Errorf("%s: decideHop(%+v) = %d, want %d", tc.name, tc.in, got, tc.want)
		}
	}
}

func TestReplayable(t *testing.T) {
	for method, want := range map[string]bool{"GET": true, "HEAD": true, "OPTIONS": true, "PUT": true, "DELETE": true, "POST": false, "PATCH": false} {
		req, _ := http.NewRequest(method, "http://127.0.0.1/", nil)
		if got := replayable(req); got != want {
			t.Errorf("replayable(%s) = %v, want %v", method, got, want)
		}
		req.Header.Set(HeaderIdempotencyKey, "k1")
		if !replayable(req) {
			t.Errorf("replayable(%s with %s) = false", method, HeaderIdempotencyKey)
		}
	}
}

// deadAddr is a loopback address nothing listens on: connecting is refused.
func deadAddr(t *testing.T) string {
	l := listenLoopback(t)
	addr := l.Addr().String()
	_ = l.Close()
	return addr
}

// TestDeadUnitFailsOverReplayableRequests kills unit a's endpoints (or
// removes them) while every map still says a serves shard 7: replayable
// requests must be served by a's failoverTo, b, and other requests must
// fail fast with a body that says why.
func TestDeadUnitFailsOverReplayableRequests(t *testing.T) {
	tests := []struct {
		name      string
		endpoints func(t *testing.T) []string
		retries   int
	}{
		{"no endpoints", func(*testing.T) []string { return nil }, 0},
		{"connection refused", func(t *testing.T) []string { return []string{deadAddr(t), deadAddr(t)} }, 1},
		{"connection refused, no retries", func(t *testing.T) []string { return []string{deadAddr(t)} }, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ra, rb, _, bb := twoRouters(t, 3, Options{Outlier: OutlierPolicy{ConsecutiveFailures: 1}})
			if err := ra.SetRoutes([]Route{{Name: "accounts", Host: "*", ShardMap: "users", Retries: RetryPolicy{Attempts: tc.retries}}}); err != nil {
				t.Fatal(err)
			}
			ra.SetEndpoints("accounts", tc.endpoints(t))
			for _, entry := range []struct{ name, addr string }{{"a's router", ra.addr}, {"b's router", rb.addr}} {
				for _, method := range []string{http.MethodGet, http.MethodPut, http.MethodDelete} {
					// Repeated, so outlier ejection and panic mode are covered.
					for i := 0; i < 3; i++ {
						resp, body := do(t, method, entry.addr, "/", uid(7), "")
						if resp.StatusCode != http.StatusOK || body != "hello from b" || resp.Header.Get(HeaderUnit) != "b" {
							t.Fatalf("%s via %s: got %d %q from unit %q, want b's answer", method, entry.name, resp.StatusCode, body, resp.Header.Get(HeaderUnit))
						}
					}
				}
			}
			for _, h := range []string{HeaderHop, HeaderEpoch, HeaderForwardedBy, HeaderFailoverFrom} {
				if v := bb.last().Header.Get(h); v != "" {
					t.Errorf("b's application saw %s: %q", h, v)
				}
			}
			header := uid(7)
			header[HeaderIdempotencyKey] = "transfer-1"
			if resp, body := do(t, http.MethodPost, ra.addr, "/", header, "amount=1"); resp.StatusCode != http.StatusOK || body != "hello from b" {
				t.Fatalf("POST with %s: got %d %q, want b's answer", HeaderIdempotencyKey, resp.StatusCode, body)
			}
			bb.mu.Lock()
			got := bb.bodies[len(bb.bodies)-1]
			bb.mu.Unlock()
			if got != "amount=1" {
				t.Errorf("b's application got body %q", got)
			}
			hits := bb.hits.Load()
			resp, body := do(t, http.MethodPost, ra.addr, "/", uid(7), "amount=1")
			if resp.StatusCode < 500 || !strings.Contains(body, `it was not sent to a failover unit because POST is not idempotent and the request has no Idempotency-Key header`) {
				t.Fatalf("POST without a key: got %d %q", resp.StatusCode, body)
			}
			if bb.hits.Load() != hits {
				t.Error("a POST without an idempotency key reached unit b")
			}
		})
	}
}

// TestFailingUpstreamFailsOverAfterRetries: a's only endpoint answers 503;
// an idempotent request is retried there, then served by b.
func TestFailingUpstreamFailsOverAfterRetries(t *testing.T) {
	ra, _, _, bb := twoRouters(t, 3, Options{Outlier: noEjection})
	sick := newBackend(t, "sick", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusServiceUnavailable) })
	if err := ra.SetRoutes([]Route{{Name: "accounts", Host: "*", ShardMap: "users", Retries: RetryPolicy{Attempts: 1}}}); err != nil {
		t.Fatal(err)
	}
	ra.SetEndpoints("accounts", []string{sick.addr()})
	resp, body := get(t, ra.addr, "/", uid(7))
	if resp.StatusCode != http.StatusOK || body != "hello from b" {
		t.Fatalf("got %d %q, want b's answer", resp.StatusCode, body)
	}
	if sick.hits.Load() != 2 || bb.hits.Load() != 1 {
		t.Errorf("a's endpoint got %d attempts, b's %d; want 2 and 1", sick.hits.Load(), bb.hits.Load())
	}
	// A non-idempotent request gets a's own answer.
	if resp, _ := do(t, http.MethodPost, ra.addr, "/", uid(7), "x"); resp.StatusCode != http.StatusServiceUnavailable || bb.hits.Load() != 1 {
		t.Fatalf("POST got %d, b got %d requests; want a's 503 and none", resp.StatusCode, bb.hits.Load())
	}
}

// TestFailoverIsNotSentOn: when both units are dead, b must not send a's
// failed-over request back to a.
func TestFailoverIsNotSentOn(t *testing.T) {
	ra, rb, ba, _ := twoRouters(t, 3, Options{})
	ra.SetEndpoints("accounts", []string{deadAddr(t)})
	rb.SetEndpoints("accounts", []string{deadAddr(t)})
	resp, body := get(t, ra.addr, "/", uid(7))
	if resp.StatusCode != http.StatusBadGateway || resp.Header.Get(HeaderUnit) != "b" ||
		!strings.Contains(body, `it was not sent to a failover unit because it already failed over from unit "a"`) {
		t.Fatalf("got %d from %q: %q", resp.StatusCode, resp.Header.Get(HeaderUnit), body)
	}
	if ba.hits.Load() != 0 {
		t.Error("the request came back to unit a")
	}
}

// TestFailoverTargetMustBeUsable: a's failoverTo is down, or has no router
// address: a fails fast instead.
func TestFailoverTargetMustBeUsable(t *testing.T) {
	ra, rb, _, bb := twoRouters(t, 3, Options{})
	ra.SetEndpoints("accounts", nil)
	down := twoUnitMap(3, ra.addr, rb.addr)
	down.Units[1].State = "Down"
	ra.SetShardMap("users", compile(t, down))
	resp, body := get(t, ra.addr, "/", uid(7))
	if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(body, `because its failover unit "b" is down`) {
		t.Fatalf("got %d %q", resp.StatusCode, body)
	}
	ra.SetShardMap("users", compile(t, twoUnitMap(3, ra.addr, "")))
	resp, body = get(t, ra.addr, "/", uid(7))
	if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(body, `because its failover unit "b" has no router address`) {
		t.Fatalf("got %d %q", resp.StatusCode, body)
	}
	if bb.hits.Load() != 0 {
		t.Errorf("b got %d requests", bb.hits.Load())
	}
}

// TestHoppedRequestAcceptance sends hopped requests straight to b, whose
// map (epoch 3) says a owns shard 7 and fails over to b.
func TestHoppedRequestAcceptance(t *testing.T) {
	_, rb, ba, bb := twoRouters(t, 3, Options{})
	tests := []struct {
		name         string
		hop, epoch   string
		failoverFrom string
		want         int
		servedBy     string
	}{
		{"sender's map is newer", hopFirst, "4", "", http.StatusOK, "b"},
		{"final hop, sender's map is newer", hopFinal, "4", "", http.StatusOK, "b"},
		{"same epoch, maps disagree", hopFirst, "3", "", http.StatusLoopDetected, ""},
		{"sender's map is older: relayed to a", hopFirst, "2", "", http.StatusOK, "a"},
		{"final hop, sender's map is older", hopFinal, "2", "", http.StatusLoopDetected, ""},
		{"failover from the owner, whose target is b", hopFirst, "3", "a", http.StatusOK, "b"},
		{"failover from the owner at an older epoch", hopFirst, "1", "a", http.StatusOK, "b"},
		{"failover from a unit that does not own the shard", hopFirst, "3", "b", http.StatusLoopDetected, ""},
	}
	var wantA, wantB int64
	for _, tc := range tests {
		header := uid(7)
		header[HeaderHop] = tc.hop
		header[HeaderEpoch] = tc.epoch
		header[HeaderForwardedBy] = "a"
		if tc.failoverFrom != "" {
			header[HeaderFailoverFrom] = tc.failoverFrom
		}
		resp, body := get(t, rb.addr, "/", header)
		if resp.StatusCode != tc.want {
			t.Errorf("%s: got %d %q, want %d", tc.name, resp.StatusCode, body, tc.want)
		}
		switch tc.servedBy {
		case "a":
			wantA++
		case "b":
			wantB++
		}
		if tc.want == http.StatusOK && (body != "hello from "+tc.servedBy || resp.Header.Get(HeaderUnit) != tc.servedBy) {
			t.Errorf("%s: served %q by %q, want %s", tc.name, body, resp.Header.Get(HeaderUnit), tc.servedBy)
		}
	}
	if ba.hits.Load() != wantA || bb.hits.Load() != wantB {
		t.Errorf("a served %d and b %d requests, want %d and %d", ba.hits.Load(), bb.hits.Load(), wantA, wantB)
	}
	for _, h := range []string{HeaderHop, HeaderEpoch, HeaderForwardedBy, HeaderFailoverFrom} {
		if v := ba.last().Header.Get(h); v != "" {
			t.Errorf("a's application saw %s: %q", h, v)
		}
	}
}
