package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cafe-dev/cafe/internal/testenv"
)

func TestParseFlags(t *testing.T) {
	tests := []struct {
		args []string
		err  string
	}{
		{args: []string{"--unit", "a"}},
		{args: []string{"--unit", "a", "--config", "x.yaml"}},
		{args: []string{}, err: "--unit is required"},
		{args: []string{"--unit", "a", "--config", "x.yaml", "--kubeconfig", "k"}, err: "exclude each other"},
		{args: []string{"--unit", "a", "--config", "x.yaml", "--failover"}, err: "--failover needs the Kubernetes API"},
		{args: []string{"--unit", "a", "--namespace", " , "}, err: "--namespace needs at least one"},
		{args: []string{"--unit", "a", "--access-log-sample", "2"}, err: "outside 0..1"},
		{args: []string{"--unit", "a", "--body-idle-timeout", "0s"}, err: "--body-idle-timeout 0s must be positive"},
		{args: []string{"--unit", "a", "--body-idle-timeout", "5s"}},
		{args: []string{"--unit", "a", "--tls-cert-file", "c.pem"}, err: "go together"},
		{args: []string{"--unit", "a", "--tls-cert-file", "c.pem", "--tls-key-file", "k.pem"}},
	}
	for _, tc := range tests {
		_, err := parseFlags(tc.args)
		if (err == nil) != (tc.err == "") || (err != nil && !strings.Contains(err.Error(), tc.err)) {
			t.Errorf("parseFlags(%q) = %v, want error %q", tc.args, err, tc.err)
		}
	}
	o, err := parseFlags([]string{"--unit", "a", "--namespace", "bank, shop"})
	if err != nil || len(o.namespaces) != 2 || o.namespaces[1] != "shop" || o.leaseNS != "bank" {
		t.Errorf("namespaces %q lease namespace %q (%v)", o.namespaces, o.leaseNS, err)
	}
}

const standaloneConfig = `shardMaps:
- name: users
  epoch: %d
  shards: 100
  key: {source: Header, name: X-Cafe-Uid, digits: {count: 2}}
  units:
  - {name: east, ranges: [{from: 0, to: 49}], state: %s, failoverTo: west, routerAddress: "%s"}
  - {name: west, ranges: [{from: 50, to: 99}], failoverTo: east, routerAddress: "%s"}
routes:
- name: accounts
  host: "*"
  shardMap: users
  endpoints:
    east: ["%s"]
    west: ["%s"]
`

// TestStandaloneRouters runs two routers from one file, as beside VM apps:
// routing and one hop, readiness, metrics, a reload that moves shards, and
// a broken file that changes nothing.
func TestStandaloneRouters(t *testing.T) {
	backend := func(name string) *httptest.Server {
		s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, name) }))
		t.Cleanup(s.Close)
		return s
	}
	east, west := backend("east-backend"), backend("west-backend")
	eastRouter, westRouter := testenv.FreeAddr(t), testenv.FreeAddr(t)
	file := filepath.Join(t.TempDir(), "router.yaml")
	write := func(epoch int, eastState string) {
		content := fmt.Sprintf(standaloneConfig, epoch, eastState, eastRouter, westRouter, east.Listener.Addr(), west.Listener.Addr())
		// Replace the file at once, as config management does.
		tmp := file + ".tmp"
		if err := os.WriteFile(tmp, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, file); err != nil {
			t.Fatal(err)
		}
	}
	write(1, "Active")

	var logs testenv.SyncBuffer
	logger := slog.New(slog.NewTextHandler(&logs, nil))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 2)
	admin := map[string]string{}
	for unit, listen := range map[string]string{"east": eastRouter, "west": westRouter} {
		admin[unit] = testenv.FreeAddr(t)
		o, err := parseFlags([]string{"--unit", unit, "--listen", listen, "--config", file, "--metrics-listen", admin[unit], "--reload-interval", "20ms"})
		if err != nil {
			t.Fatal(err)
		}
		go func() { done <- run(ctx, o, logger.With("unit", unit)) }()
	}
	t.Cleanup(func() {
		cancel()
		for range 2 {
			if err := <-done; err != nil {
				t.Errorf("router stopped with %v", err)
			}
		}
	})

	get := func(url string, header ...string) (int, string, string) {
		req, _ := http.NewRequest(http.MethodGet, url, nil)
		for i := 0; i+1 < len(header); i += 2 {
			req.Header.Set(header[i], header[i+1])
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return 0, "", err.Error()
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, resp.Header.Get("X-Cafe-Unit"), string(body)
	}
	waitFor(t, "readiness", func() bool {
		code, _, _ := get("http://" + admin["east"] + "/readyz")
		return code == http.StatusOK
	})

	shardOf := func(router string, uid string) (string, string) {
		code, unit, body := get("http://"+router+"/accounts", "X-Cafe-Uid", uid)
		if code != http.StatusOK {
			return "", fmt.Sprintf("%d %s", code, body)
		}
		return unit, body
	}
	if unit, body := shardOf(eastRouter, "U10"); unit != "east" || body != "east-backend" {
		t.Errorf("east's shard at east: unit %q body %q", unit, body)
	}
	if unit, body := shardOf(eastRouter, "U60"); unit != "west" || body != "west-backend" {
		t.Errorf("west's shard at east, one hop: unit %q body %q", unit, body)
	}
	if code, _, body := get("http://" + admin["east"] + "/metrics"); code != http.StatusOK || !strings.Contains(body, `cafe_router_requests_total{code_class="2xx"`) {
		t.Errorf("metrics: %d, request counter missing", code)
	}
	if code, _, _ := get("http://" + admin["east"] + "/debug/pprof/"); code != http.StatusNotFound {
		t.Errorf("pprof answered %d without --pprof", code)
	}

	// Drain east: both routers reload and send east's shards west.
	write(2, "Down")
	waitFor(t, "east's shards served by west at both routers", func() bool {
		u1, _ := shardOf(eastRouter, "U10")
		u2, _ := shardOf(westRouter, "U10")
		return u1 == "west" && u2 == "west"
	})

	// A broken file is refused; the running configuration stays.
	if err := os.WriteFile(file, []byte("shardMaps: [{name: users, shards: 0}]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "both routers to refuse the broken file", func() bool {
		return strings.Count(logs.String(), "configuration refused; the last good one stays in force") >= 2
	})
	if unit, body := shardOf(eastRouter, "U10"); unit != "west" || body != "west-backend" {
		t.Errorf("after a broken file: unit %q body %q, want the last good configuration", unit, body)
	}
}

// startStandalone runs one router (unit east) from file with args added,
// and returns its routed and admin addresses; it stops with the test.
func startStandalone(t *testing.T, file string, args ...string) (routed, admin string) {
	t.Helper()
	routed, admin = testenv.FreeAddr(t), testenv.FreeAddr(t)
	o, err := parseFlags(append([]string{"--unit", "east", "--listen", routed, "--config", file, "--metrics-listen", admin, "--reload-interval", "20ms"}, args...))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- run(ctx, o, slog.New(slog.DiscardHandler)) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("router stopped with %v", err)
		}
	})
	return routed, admin
}

// adminGet answers 0 and the error while the listener is not up.
func adminGet(url string) (int, string) {
	resp, err := http.Get(url)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestPprofOnMetricsListener checks that --pprof serves the profiles on the
// metrics listener (TestStandaloneRouters checks the 404 without it).
func TestPprofOnMetricsListener(t *testing.T) {
	file := filepath.Join(t.TempDir(), "router.yaml")
	content := fmt.Sprintf(standaloneConfig, 1, "Active", "127.0.0.1:1", "127.0.0.1:2", "127.0.0.1:3", "127.0.0.1:4")
	if err := os.WriteFile(file, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	routed, admin := startStandalone(t, file, "--pprof")
	waitFor(t, "the metrics listener", func() bool { code, _ := adminGet("http://" + admin + "/healthz"); return code == http.StatusOK })
	if code, body := adminGet("http://" + admin + "/debug/pprof/"); code != http.StatusOK || !strings.Contains(body, "goroutine") {
		t.Errorf("/debug/pprof/ with --pprof: %d %.200q", code, body)
	}
	if code, body := adminGet("http://" + admin + "/debug/pprof/cmdline"); code != http.StatusOK || body == "" {
		t.Errorf("/debug/pprof/cmdline with --pprof: %d %q", code, body)
	}
	if code, body := adminGet("http://" + admin + "/debug/pprof/goroutine?debug=1"); code != http.StatusOK || !strings.Contains(body, "goroutine profile") {
		t.Errorf("/debug/pprof/goroutine with --pprof: %d %.200q", code, body)
	}
	// Profiles stay off the routed listener, where every path is routed.
	if code, body := adminGet("http://" + routed + "/debug/pprof/"); code == http.StatusOK && strings.Contains(body, "goroutine") {
		t.Errorf("the routed listener serves pprof: %d", code)
	}
}

// TestStandaloneReadiness starts a router from a file that loads but routes
// nothing (empty, as while config management has not written it yet):
// /readyz answers 503 saying why until a valid shard map and routes are
// loaded, then 200.
func TestStandaloneReadiness(t *testing.T) {
	file := filepath.Join(t.TempDir(), "router.yaml")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	_, admin := startStandalone(t, file)
	waitFor(t, "the metrics listener", func() bool { code, _ := adminGet("http://" + admin + "/healthz"); return code == http.StatusOK })
	code, body := adminGet("http://" + admin + "/readyz")
	if code != http.StatusServiceUnavailable || !strings.Contains(body, "not ready: the first valid shard map and routes are not loaded yet") {
		t.Fatalf("/readyz before any route: %d %q, want 503 saying why", code, body)
	}

	// A broken file changes nothing: still not ready.
	if err := os.WriteFile(file, []byte("shardMaps: [{name: users, shards: 0}]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond) // several reload intervals
	if code, body := adminGet("http://" + admin + "/readyz"); code != http.StatusServiceUnavailable {
		t.Fatalf("/readyz after a broken file: %d %q, want 503", code, body)
	}

	content := fmt.Sprintf(standaloneConfig, 1, "Active", "127.0.0.1:1", "127.0.0.1:2", "127.0.0.1:3", "127.0.0.1:4")
	tmp := file + ".tmp"
	if err := os.WriteFile(tmp, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, file); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "/readyz 200 after a valid file", func() bool {
		code, body = adminGet("http://" + admin + "/readyz")
		return code == http.StatusOK
	})
	if body != "ok\n" {
		t.Errorf("/readyz body %q", body)
	}
}
