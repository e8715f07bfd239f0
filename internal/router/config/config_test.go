package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cafe-dev/cafe/internal/router/proxy"
)

func TestParseExample(t *testing.T) {
	cfg, err := Load("testdata/router.yaml")
	if err != nil {
		t.Fatal(err)
	}
	table := cfg.Tables["users"]
	if table == nil || table.Epoch() != 7 || table.Shards() != 100 {
		t.Fatalf("users table = %+v", table)
	}
	if owner, _ := table.Owner(77); owner.Name != "bj-a" || owner.RouterAddress != "127.0.0.1:18002" {
		t.Errorf("Owner(77) = %+v", owner)
	}
	want := proxy.Route{Name: "accounts", Host: "bank.example", PathPrefix: "/accounts", ShardMap: "users",
		Timeouts: proxy.Timeouts{Request: 30 * time.Second, ResponseHeader: 5 * time.Second},
		Retries:  proxy.RetryPolicy{Attempts: 1}}
	if len(cfg.Routes) != 1 || cfg.Routes[0] != want {
		t.Errorf("routes = %+v, want [%+v]", cfg.Routes, want)
	}
	if got := cfg.Endpoints["accounts"]["sh-a"]; len(got) != 2 {
		t.Errorf("sh-a endpoints = %v", got)
	}
	if err := cfg.CheckUnit("sh-a"); err != nil {
		t.Error(err)
	}
	if err := cfg.CheckUnit("gz-a"); err == nil || !strings.Contains(err.Error(), `unit "gz-a" is not listed in shard map "users"`) {
		t.Errorf("CheckUnit(gz-a) = %v", err)
	}
}

func example(t *testing.T) string {
	t.Helper()
	data, err := os.ReadFile("testdata/router.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

func TestParseRejects(t *testing.T) {
	tests := []struct {
		name, old, new, want string
	}{
		{"gap", "to: 49", "to: 48", "shardMaps[0] users: invalid shard map: shards 49-49 are owned by no unit"},
		{"unknown failover", "failoverTo: bj-a", "failoverTo: gz-a", `units[0].failoverTo: unit "gz-a" is not listed`},
		{"unknown shard map", "shardMap: users", "shardMap: cards", `routes[0] accounts: shard map "cards" is not defined or invalid`},
		{"endpoints of an unknown unit", "bj-a: [127.0.0.1:19101]", "gz-a: [127.0.0.1:19101]", `endpoints name unit "gz-a", which shard map "users" does not list`},
		{"bad duration", "request: 30s", "request: 30", "duration must be a string"},
		{"unknown field", "retries: {attempts: 1}", "retry: {attempts: 1}", `unknown field "retry"`},
		{"bad route", "pathPrefix: /accounts", "pathPrefix: accounts", "must start with /"},
		{"not YAML", "shardMaps:", "shardMaps: [", "parsing YAML"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			doc := strings.Replace(example(t), tc.old, tc.new, 1)
			if _, err := Parse([]byte(doc)); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Parse() error = %v, want %q", err, tc.want)
			}
		})
	}
}

func TestReloadKeepsTheOldConfigurationOnError(t *testing.T) {
	path := filepath.Join(t.TempDir(), "router.yaml")
	write := func(doc string) {
		t.Helper()
		if err := os.WriteFile(path, []byte(doc), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(example(t))
	h, err := proxy.NewHandler(proxy.Options{Unit: "sh-a"})
	if err != nil {
		t.Fatal(err)
	}
	r, err := NewReloader(path, "sh-a", h)
	if err != nil {
		t.Fatal(err)
	}
	if h.ShardMap("users").Epoch() != 7 {
		t.Fatalf("initial epoch %d", h.ShardMap("users").Epoch())
	}

	write(strings.Replace(strings.Replace(example(t), "epoch: 7", "epoch: 8", 1), "to: 49", "to: 40", 1))
	err = r.Reload()
	if err == nil || !strings.Contains(err.Error(), "config not reloaded, keeping the previous one") ||
		!strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "shards 41-49 are owned by no unit") {
		t.Fatalf("Reload() error = %v", err)
	}
	if h.ShardMap("users").Epoch() != 7 || r.Current().Tables["users"].Epoch() != 7 {
		t.Fatal("a broken file replaced the table")
	}

	write(strings.Replace(strings.Replace(example(t), "epoch: 7", "epoch: 8", 1), "state: Active", "state: Down", 1))
	if err := r.Reload(); err != nil {
		t.Fatal(err)
	}
	table := h.ShardMap("users")
	if owner, _ := table.Owner(3); table.Epoch() != 8 || owner.Name != "bj-a" {
		t.Fatalf("after reload epoch %d, shard 3 served by %q", table.Epoch(), owner.Name)
	}

	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	if err := r.Reload(); err == nil || !strings.Contains(err.Error(), "no such file") {
		t.Fatalf("Reload() of a missing file = %v", err)
	}
	if h.ShardMap("users").Epoch() != 8 {
		t.Fatal("a missing file changed the table")
	}
}

func TestReloadRemovesDroppedShardMaps(t *testing.T) {
	path := filepath.Join(t.TempDir(), "router.yaml")
	doc := example(t)
	extra := strings.Replace(doc, "routes:", `- name: spare
  epoch: 1
  shards: 1
  key: {hash: true}
  units: [{name: sh-a, ranges: [{from: 0, to: 0}]}]
routes:`, 1)
	if err := os.WriteFile(path, []byte(extra), 0o600); err != nil {
		t.Fatal(err)
	}
	h, _ := proxy.NewHandler(proxy.Options{Unit: "sh-a"})
	r, err := NewReloader(path, "sh-a", h)
	if err != nil {
		t.Fatal(err)
	}
	if h.ShardMap("spare") == nil {
		t.Fatal("spare map not installed")
	}
	if err := os.WriteFile(path, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := r.Reload(); err != nil {
		t.Fatal(err)
	}
	if h.ShardMap("spare") != nil {
		t.Fatal("a shard map dropped from the file is still installed")
	}
}

func TestNewReloaderRejectsAForeignUnit(t *testing.T) {
	h, _ := proxy.NewHandler(proxy.Options{Unit: "gz-a"})
	if _, err := NewReloader("testdata/router.yaml", "gz-a", h); err == nil {
		t.Fatal("a router of a unit absent from the map was configured")
	}
}
