package proxy

import (
	"net/http"
	"strconv"
	"sync"
	"testing"

	"github.com/cafe-dev/cafe/internal/router/shard"
)

// TestFailoverTableSwapIsAtomic swaps router a's table between odd epochs
// (unit a active: serve locally) and even epochs (unit a down: forward to b)
// while clients send requests. Every request must succeed, and every
// forwarded request must carry an even epoch: the forwarding decision and
// the stamped epoch come from the same table. Run with -race.
func TestFailoverTableSwapIsAtomic(t *testing.T) {
	la, lb := listenLoopback(t), listenLoopback(t)
	ba := newBackend(t, "a", nil)
	var mu sync.Mutex
	forwardedEpochs := map[string]int{}
	bb := newBackend(t, "b", func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte("hello from b"))
	})
	ra := startRouter(t, la, Options{Unit: "a"}, ServerOptions{})
	// Router b is wrapped to see the hop headers before it strips them.
	hb, err := NewHandler(Options{Unit: "b"})
	if err != nil {
		t.Fatal(err)
	}
	if err := hb.SetRoutes([]Route{{Name: "accounts", Host: "*", ShardMap: "users"}}); err != nil {
		t.Fatal(err)
	}
	srv := NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		forwardedEpochs[r.Header.Get(HeaderEpoch)]++
		mu.Unlock()
		hb.ServeHTTP(w, r)
	}), ServerOptions{})
	go func() { _ = srv.Serve(lb) }()
	t.Cleanup(func() { _ = srv.Close() })

	tables := make([]*shard.Table, 8)
	for i := range tables {
		epoch := int64(i + 1)
		spec := twoUnitMap(epoch, la.Addr().String(), lb.Addr().String())
		if epoch%2 == 0 {
			spec.Units[0].State = shard.UnitDown
		}
		tables[i] = compile(t, spec)
	}
	// Router b always holds the newest table, so it serves a's shards.
	hb.SetShardMap("users", tables[len(tables)-1])
	hb.SetEndpoints("accounts", []string{bb.addr()})
	ra.SetShardMap("users", tables[0])
	ra.SetEndpoints("accounts", []string{ba.addr()})

	const clients, perClient = 4, 40
	var wg sync.WaitGroup
	stop := make(chan struct{})
	swapsDone := make(chan struct{})
	go func() {
		defer close(swapsDone)
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
				ra.SetShardMap("users", tables[i%len(tables)])
			}
		}
	}()
	failures := make(chan string, clients*perClient)
	for c := 0; c < clients; c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < perClient; i++ {
				resp, body := get(t, ra.addr, "/", uid(i%50))
				unit := resp.Header.Get(HeaderUnit)
				if resp.StatusCode != http.StatusOK || body != "hello from "+unit {
					failures <- strconv.Itoa(resp.StatusCode) + " " + body
				}
			}
		}()
	}
	wg.Wait()
	close(stop)
	<-swapsDone
	close(failures)
	for f := range failures {
		t.Errorf("request failed during table swaps: %s", f)
	}
	mu.Lock()
	total := 0
	for epoch, n := range forwardedEpochs {
		e, err := strconv.Atoi(epoch)
		if err != nil || e%2 != 0 {
			t.Errorf("%d requests forwarded with epoch %q, which keeps unit a active", n, epoch)
		}
		total += n
	}
	if total+int(ba.hits.Load()) != clients*perClient {
		t.Errorf("a served %d and forwarded %d of %d requests", ba.hits.Load(), total, clients*perClient)
	}
	mu.Unlock()
	t.Logf("served by a: %d, forwarded to b: %d", ba.hits.Load(), total)

	// After the last swap (a down) everything goes to b.
	ra.SetShardMap("users", tables[len(tables)-1])
	if resp, _ := get(t, ra.addr, "/", uid(1)); resp.Header.Get(HeaderUnit) != "b" {
		t.Fatalf("after failover shard 1 served by %q", resp.Header.Get(HeaderUnit))
	}
}
