package kube

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	trafficv1alpha1 "github.com/cafe-dev/cafe/api/traffic/v1alpha1"
	"github.com/cafe-dev/cafe/internal/router/proxy"
)

// newTestWatcher returns a watcher whose API reads go to a fake client. The
// cache is never used by the paths under test.
func newTestWatcher(t *testing.T, objs ...client.Object) (*Watcher, *proxy.Handler, client.Client, *bytes.Buffer) {
	t.Helper()
	api := fake.NewClientBuilder().WithScheme(Scheme()).WithObjects(objs...).WithStatusSubresource(&trafficv1alpha1.ShardMap{}).Build()
	h, err := proxy.NewHandler(proxy.Options{Unit: "a"})
	if err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	w, err := NewWatcher(WatcherOptions{
		Cache: struct{ cache.Cache }{}, APIReader: api, Namespaces: []string{"bank"}, Unit: "a", Handler: h,
		Logger: slog.New(slog.NewTextHandler(&logs, nil)), Registerer: prometheus.NewRegistry(), RefreshInterval: time.Hour,
	})
	if err != nil {
		t.Fatal(err)
	}
	return w, h, api, &logs
}

func bankMap(t *testing.T, epoch int64, failed map[string]bool) *trafficv1alpha1.ShardMap {
	sm := stampedMap(t, twoUnitSpec(), epoch, failed)
	sm.Namespace, sm.Name, sm.UID = "bank", "users", "uid-1"
	return sm
}

func TestNewerEpochRereadsTheShardMapAtMostOncePerInterval(t *testing.T) {
	w, h, api, _ := newTestWatcher(t, bankMap(t, 3, nil))
	ctx := context.Background()
	w.NewerEpoch(proxy.NewerEpoch{ShardMap: "bank/users", LocalEpoch: 0, RemoteEpoch: 3})
	w.refreshMap(ctx, <-w.refresh)
	if table := h.ShardMap("bank/users"); table == nil || table.Epoch() != 3 {
		t.Fatalf("after a newer epoch hint the table is %v, want epoch 3", table)
	}

	var sm trafficv1alpha1.ShardMap
	if err := api.Get(ctx, client.ObjectKey{Namespace: "bank", Name: "users"}, &sm); err != nil {
		t.Fatal(err)
	}
	sm.Status = bankMap(t, 4, map[string]bool{"b": true}).Status
	if err := api.Status().Update(ctx, &sm); err != nil {
		t.Fatal(err)
	}
	w.refreshMap(ctx, "bank/users")
	if epoch := h.ShardMap("bank/users").Epoch(); epoch != 3 {
		t.Errorf("a second hint within the refresh interval read the API: epoch %d", epoch)
	}
	w.lastRefreshed["bank/users"] = time.Time{}
	w.refreshMap(ctx, "bank/users")
	if epoch := h.ShardMap("bank/users").Epoch(); epoch != 4 {
		t.Errorf("after the interval: epoch %d, want 4", epoch)
	}
	// Hints for namespaces the router does not serve read nothing.
	w.refreshMap(ctx, "other/users")
	if h.ShardMap("other/users") != nil {
		t.Error("a hint for another namespace installed a table")
	}
}

func TestApplyMapKeepsTheLastGoodTable(t *testing.T) {
	w, h, _, logs := newTestWatcher(t)
	w.applyMap(bankMap(t, 5, nil))
	if epoch := h.ShardMap("bank/users").Epoch(); epoch != 5 {
		t.Fatalf("epoch %d, want 5", epoch)
	}

	older := bankMap(t, 4, map[string]bool{"a": true})
	w.applyMap(older)
	if epoch := h.ShardMap("bank/users").Epoch(); epoch != 5 {
		t.Errorf("an older epoch replaced the table: %d", epoch)
	}

	broken := bankMap(t, 6, nil)
	broken.Status.Effective = broken.Status.Effective[:1] // no row for unit b
	w.applyMap(broken)
	w.applyMap(broken) // logged and counted once
	if epoch := h.ShardMap("bank/users").Epoch(); epoch != 5 {
		t.Errorf("a refused map replaced the table: %d", epoch)
	}
	if n := strings.Count(logs.String(), "shard map refused; the last good one stays in force"); n != 1 {
		t.Errorf("refusal logged %d times, want once:\n%s", n, logs)
	}
	if got := testutil.ToFloat64(w.refused.WithLabelValues("bank/users")); got != 1 {
		t.Errorf("refused counter %v, want 1", got)
	}

	unstamped := bankMap(t, 7, nil)
	unstamped.Generation++
	w.applyMap(unstamped)
	if epoch := h.ShardMap("bank/users").Epoch(); epoch != 5 {
		t.Errorf("an unstamped spec replaced the table: %d", epoch)
	}
	if !strings.Contains(logs.String(), "waits for the failover controller") {
		t.Errorf("no log line says the spec waits for the controller:\n%s", logs)
	}

	recreated := bankMap(t, 1, nil)
	recreated.UID = "uid-2"
	w.applyMap(recreated)
	if epoch := h.ShardMap("bank/users").Epoch(); epoch != 1 {
		t.Errorf("a re-created map (new UID) at epoch 1 was not applied: %d", epoch)
	}
	if got := testutil.ToFloat64(w.epochs.WithLabelValues("bank/users")); got != 1 {
		t.Errorf("epoch gauge %v, want 1", got)
	}
}
