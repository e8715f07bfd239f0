package loadgen

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cafe-dev/cafe/internal/demo"
)

func demoBackend(t *testing.T, ledger *memLedger, unit, version string) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(demo.NewServer(demo.Identity{Version: version, Unit: unit, Pod: unit + "-0"}, ledger, time.Second))
	t.Cleanup(srv.Close)
	return srv
}

func TestRunAgainstHealthyService(t *testing.T) {
	ledger := newMemLedger()
	a := demoBackend(t, ledger, "unit-a", "v1")
	b := demoBackend(t, ledger, "unit-b", "v2")
	var mu sync.Mutex
	var progress []Progress
	rep, err := Run(context.Background(), Config{
		Targets: []string{a.URL, b.URL}, Rate: 200, Duration: time.Second, Shards: 10, Accounts: 20,
		ProgressInterval: 300 * time.Millisecond,
		Progress:         func(p Progress) { mu.Lock(); progress = append(progress, p); mu.Unlock() },
	})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Failed != 0 || rep.Sent < 180 || rep.Sent > 200 {
		t.Fatalf("sent %d, failed %d (%v), want about 200 without failures", rep.Sent, rep.Failed, rep.Failures)
	}
	if share := float64(rep.SentByOp[OpTransfer]) / float64(rep.Sent); share < 0.3 {
		t.Errorf("transfers are %.0f%% of the requests, want at least 30%%", share*100)
	}
	if units := rep.Units(); strings.Join(units, ",") != "unit-a,unit-b" {
		t.Errorf("units %v", units)
	}
	if v := rep.VersionsInOrder("unit-b"); len(v) != 1 || v[0] != "v2" || rep.LastSecondServed("unit-a", "v1") != 0 {
		t.Errorf("versions in unit-b %v, last second of v1 in unit-a %d", v, rep.LastSecondServed("unit-a", "v1"))
	}
	if len(rep.Accounts) != 20 || len(rep.Acknowledged) != rep.SentByOp[OpTransfer] {
		t.Errorf("%d accounts, %d acknowledged of %d transfers", len(rep.Accounts), len(rep.Acknowledged), rep.SentByOp[OpTransfer])
	}
	mu.Lock()
	if len(progress) < 2 || progress[len(progress)-1].Sent == 0 || progress[0].Rate < 100 {
		t.Errorf("progress %+v", progress)
	}
	mu.Unlock()

	for name, src := range map[string]LedgerSource{"service": NewServiceLedger(a.URL, time.Second), "store": ledger} {
		lr := CheckLedger(context.Background(), src, rep)
		if !lr.Passed || lr.AcknowledgedFound != lr.Acknowledged || lr.FinalTotal != 20*DefaultInitialBalance {
			t.Errorf("ledger through the %s: %+v", name, lr)
		}
	}
	var text strings.Builder
	if err := rep.WriteText(&text); err != nil || !strings.Contains(text.String(), "unit-b") {
		t.Errorf("text report (%v):\n%s", err, text.String())
	}
	if _, err := json.Marshal(rep); err != nil {
		t.Error(err)
	}
}

// misbehave wraps the service: of every five requests one is answered 503,
// one has its connection reset, one is applied but never answered, and two
// are served.
func misbehave(t *testing.T, next http.Handler) http.Handler {
	var n atomic.Int64
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPut { // setup must work
			next.ServeHTTP(w, r)
			return
		}
		switch n.Add(1) % 5 {
		case 1: // as a router answers when it has no endpoint
			w.Header().Set(HeaderRouterUnit, "unit-r")
			http.Error(w, "overloaded: try later", http.StatusServiceUnavailable)
		case 2:
			conn, _, err := http.NewResponseController(w).Hijack()
			if err != nil {
				t.Error(err)
				return
			}
			conn.(*net.TCPConn).SetLinger(0) // close with RST
			conn.Close()
		case 3:
			next.ServeHTTP(httptest.NewRecorder(), r)
			<-r.Context().Done() // the client gives up
		default:
			next.ServeHTTP(w, r)
		}
	})
}

func TestRunRecordsEveryFailureWithItsCause(t *testing.T) {
	ledger := newMemLedger()
	api := demo.NewServer(demo.Identity{Version: "v1", Unit: "unit-a"}, ledger, time.Second)
	srv := httptest.NewServer(misbehave(t, api))
	defer srv.Close()
	rep, err := Run(context.Background(), Config{
		Targets: []string{srv.URL}, Rate: 100, Duration: time.Second, Shards: 10, Accounts: 10,
		TransferRatio: 1, Timeout: 200 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("failures by cause %v", rep.FailuresByCause)
	for _, cause := range []Cause{CauseStatus, CauseReset, CauseTimeout} {
		if got := rep.FailuresByCause[cause]; got < rep.Sent/5-2 || got > rep.Sent/5+2 {
			t.Errorf("%d failures of cause %s among %d requests, want about a fifth", got, cause, rep.Sent)
		}
	}
	if rep.FailuresByStatus[503] != rep.FailuresByCause[CauseStatus] || rep.Passed() {
		t.Errorf("by status %v, passed %v", rep.FailuresByStatus, rep.Passed())
	}
	var sawBody, sawTimeout bool
	for _, f := range rep.Failures {
		sawBody = sawBody || f.Cause == CauseStatus && strings.Contains(f.Detail, "overloaded") && f.Unit == "unit-r"
		sawTimeout = sawTimeout || f.Cause == CauseTimeout && f.Latency >= 200*time.Millisecond
	}
	if !sawBody || !sawTimeout {
		t.Errorf("failures lack the body excerpt (%v) or the timeout's latency (%v): %+v", sawBody, sawTimeout, rep.Failures[:3])
	}
	// The unanswered transfers were applied: the ledger says so and passes.
	lr := CheckLedger(context.Background(), ledger, rep)
	if !lr.Passed || lr.UnacknowledgedApplied != rep.FailuresByCause[CauseTimeout] {
		t.Errorf("ledger %+v, want the %d timed-out transfers applied", lr, rep.FailuresByCause[CauseTimeout])
	}
}

// A run whose accounts cannot all be opened does not start: its ledger
// check would mean nothing.
func TestSetupFailureStopsTheRun(t *testing.T) {
	live := demoBackend(t, newMemLedger(), "unit-a", "v1")
	_, err := Run(context.Background(), Config{Targets: []string{live.URL, closedPortURL(t)}, Rate: 10, Duration: time.Second, Shards: 2, Accounts: 2})
	if err == nil || !strings.Contains(err.Error(), "setup: open account") || !strings.Contains(err.Error(), "connection refused") {
		t.Fatalf("setup through a dead target: %v", err)
	}
}

func closedPortURL(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l.Close()
	return "http://" + l.Addr().String()
}

func TestCheckLedgerCatchesLostAndDoubleTransfers(t *testing.T) {
	ledger := newMemLedger()
	ctx := context.Background()
	rep := &Report{RunID: "r", Accounts: map[string]int64{"a": 100, "b": 100}}
	for _, id := range []string{"a", "b"} {
		ledger.OpenAccount(ctx, id, 100)
	}
	applied := demo.Transfer{ID: "r-1", From: "a", To: "b", Amount: 10}
	ledger.ApplyTransfer(ctx, applied)
	rep.Acknowledged = []demo.Transfer{applied}
	if lr := CheckLedger(ctx, ledger, rep); !lr.Passed {
		t.Fatalf("a correct ledger fails: %v", lr.Problems)
	}

	ledger.move(applied) // applied a second time
	lr := CheckLedger(ctx, ledger, rep)
	if lr.Passed || !strings.Contains(strings.Join(lr.Problems, "\n"), "account a holds 80, want 90") {
		t.Errorf("double application not caught: %+v", lr)
	}

	lost := demo.Transfer{ID: "r-2", From: "b", To: "a", Amount: 5}
	rep.Acknowledged = append(rep.Acknowledged, lost)
	lr = CheckLedger(ctx, ledger, rep)
	if lr.Passed || !strings.Contains(strings.Join(lr.Problems, "\n"), "r-2 is not stored") {
		t.Errorf("lost transfer not caught: %+v", lr)
	}
}
