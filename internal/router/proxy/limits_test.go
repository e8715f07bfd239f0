package proxy

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

func TestOversizedHeadersAre431(t *testing.T) {
	b := newBackend(t, "a", nil)
	l := listenLoopback(t)
	r := startRouter(t, l, Options{Unit: "a"}, ServerOptions{MaxHeaderBytes: 4 << 10})
	r.SetShardMap("users", compile(t, twoUnitMap(1, l.Addr().String(), "127.0.0.1:1")))
	r.SetEndpoints("accounts", []string{b.addr()})
	header := uid(1)
	header["X-Padding"] = strings.Repeat("p", 16<<10)
	resp, _ := get(t, r.addr, "/", header)
	if resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
		t.Fatalf("got %d, want 431", resp.StatusCode)
	}
	if b.hits.Load() != 0 {
		t.Fatal("oversized request reached the upstream")
	}
}

func TestOversizedBodiesAre413(t *testing.T) {
	b := newBackend(t, "a", nil)
	r := singleUnitRouter(t, Options{MaxBodyBytes: 8}, Route{}, b.addr())
	resp, body := do(t, http.MethodPost, r.addr, "/", uid(1), "0123456789")
	if resp.StatusCode != http.StatusRequestEntityTooLarge || !strings.Contains(body, "request body of 10 bytes exceeds the limit of 8 bytes") {
		t.Fatalf("declared length: got %d %q", resp.StatusCode, body)
	}
	// A chunked body declares no length; the limit applies while streaming.
	req, _ := http.NewRequest(http.MethodPost, "http://"+r.addr+"/", io.MultiReader(strings.NewReader("01234"), strings.NewReader("56789")))
	req.Header.Set("X-Cafe-Uid", "U01")
	chunked, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	data, _ := io.ReadAll(chunked.Body)
	chunked.Body.Close()
	if chunked.StatusCode != http.StatusRequestEntityTooLarge || !strings.Contains(string(data), "exceeds the limit of 8 bytes") {
		t.Fatalf("chunked: got %d %q", chunked.StatusCode, data)
	}
	if resp, _ := do(t, http.MethodPost, r.addr, "/", uid(1), "01234567"); resp.StatusCode != http.StatusOK {
		t.Fatalf("body at the limit got %d", resp.StatusCode)
	}
}

func TestMetricsAndAccessLog(t *testing.T) {
	reg := prometheus.NewRegistry()
	metrics, err := NewMetrics(reg)
	if err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	logger := slog.New(slog.NewJSONHandler(&logs, nil))
	// Both routers share the metrics and the log: the forwarded request
	// counts once at a (served by b) and once at b.
	ra, _, _, _ := twoRouters(t, 3, Options{Metrics: metrics, Logger: logger, AccessLogSampleRate: 1})
	get(t, ra.addr, "/", uid(7))
	get(t, ra.addr, "/", uid(8))
	get(t, ra.addr, "/", uid(77))
	get(t, ra.addr, "/", nil)

	for _, tc := range []struct {
		labels []string
		want   float64
	}{
		{[]string{"a", "0-49", "accounts", "2xx"}, 2},
		{[]string{"b", "50-99", "accounts", "2xx"}, 2},
		{[]string{"a", "none", "accounts", "4xx"}, 1},
	} {
		var m dto.Metric
		if err := metrics.requests.WithLabelValues(tc.labels...).Write(&m); err != nil {
			t.Fatal(err)
		}
		if got := m.GetCounter().GetValue(); got != tc.want {
			t.Errorf("requests%v = %v, want %v", tc.labels, got, tc.want)
		}
	}
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() == "cafe_router_request_duration_seconds" && len(f.GetMetric()) != 3 {
			t.Errorf("latency has %d series, want 3", len(f.GetMetric()))
		}
	}

	lines := strings.Split(strings.TrimSpace(logs.String()), "\n")
	var forwarded map[string]any
	for _, line := range lines {
		var entry map[string]any
		if err := json.Unmarshal([]byte(line), &entry); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		if entry["msg"] == "access" && entry["forwarded"] == true {
			forwarded = entry
		}
	}
	if len(lines) != 5 || forwarded == nil {
		t.Fatalf("access log has %d lines, forwarded entry %v", len(lines), forwarded)
	}
	for key, want := range map[string]any{"unit": "a", "served_by": "b", "shard_group": "50-99", "status": float64(200), "epoch": float64(3), "route": "accounts"} {
		if forwarded[key] != want {
			t.Errorf("access log %s = %v, want %v", key, forwarded[key], want)
		}
	}
}

func TestAccessLogSampling(t *testing.T) {
	var logs bytes.Buffer
	ra, _, _, _ := twoRouters(t, 3, Options{Logger: slog.New(slog.NewJSONHandler(&logs, nil)), AccessLogSampleRate: 0})
	for i := 0; i < 5; i++ {
		get(t, ra.addr, "/", uid(7))
	}
	if logs.Len() != 0 {
		t.Fatalf("sample rate 0 logged %q", logs.String())
	}
	if _, err := NewHandler(Options{Unit: "a", AccessLogSampleRate: 1.5}); err == nil {
		t.Fatal("sample rate 1.5 accepted")
	}
	if _, err := NewHandler(Options{}); err == nil {
		t.Fatal("handler without a unit accepted")
	}
}

// TestAccessLogFractionalSampling checks a rate between 0 and 1: 2000
// requests at 0.25 log about 500 entries. The draw comes from a seeded
// source, so the count is the same on every run; the bound (five standard
// deviations of the binomial, about 19.4) would hold for any source.
func TestAccessLogFractionalSampling(t *testing.T) {
	var logs bytes.Buffer
	b := newBackend(t, "a", nil)
	r := singleUnitRouter(t, Options{Logger: slog.New(slog.NewJSONHandler(&logs, nil)), AccessLogSampleRate: 0.25}, Route{}, b.addr())
	var mu sync.Mutex
	seeded := rand.New(rand.NewPCG(1, 2))
	r.random = func() float64 {
		mu.Lock()
		defer mu.Unlock()
		return seeded.Float64()
	}
	const requests = 2000
	for i := 0; i < requests; i++ {
		if resp, body := get(t, r.addr, "/", uid(i%50)); resp.StatusCode != http.StatusOK {
			t.Fatalf("request %d: %d %q", i, resp.StatusCode, body)
		}
	}
	logged := strings.Count(logs.String(), `"msg":"access"`)
	if logged < 403 || logged > 597 {
		t.Fatalf("rate 0.25 logged %d of %d requests, want 500 ± 97", logged, requests)
	}
	t.Logf("rate 0.25 logged %d of %d requests", logged, requests)
}
