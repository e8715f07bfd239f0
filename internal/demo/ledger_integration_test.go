//go:build integration

package demo_test

import (
	"fmt"
	"math/rand/v2"
	"net/http"
	"sync"
	"testing"

	"github.com/cafe-dev/cafe/internal/demo"
	"github.com/cafe-dev/cafe/internal/demo/demotest"
)

// Two replicas in two units receive the same transfer ID several times at
// once: exactly one request applies it (201), every other one gets the same
// stored transfer (200), and the money moves once.
func TestDuplicateSubmissionsApplyOnce(t *testing.T) {
	etcd := demotest.StartEtcdCluster(t, 3)
	prefix := demotest.Prefix(t)
	a := demotest.StartReplica(t, etcd.Endpoints(), prefix, demo.Identity{Version: "v1", Unit: "unit-a", Pod: "a-0"})
	b := demotest.StartReplica(t, etcd.Endpoints(), prefix, demo.Identity{Version: "v1", Unit: "unit-b", Pod: "b-0"})
	openAccount(t, a.URL, "alice", 1000)
	openAccount(t, b.URL, "bob", 0)

	const transfers, copies = 20, 8
	for i := range transfers {
		tr := demo.Transfer{ID: fmt.Sprintf("dup-%d", i), From: "alice", To: "bob", Amount: 10}
		statuses := make([]int, copies)
		answers := make([]demo.Transfer, copies)
		var wg sync.WaitGroup
		for c := range copies {
			base := []string{a.URL, b.URL}[c%2]
			wg.Add(1)
			go func() {
				defer wg.Done()
				statuses[c], answers[c] = postTransfer(t, base, tr)
			}()
		}
		wg.Wait()
		created := 0
		for c, status := range statuses {
			switch {
			case status == http.StatusCreated:
				created++
			case status != http.StatusOK:
				t.Errorf("transfer %s copy %d: status %d, want 201 or 200", tr.ID, c, status)
			}
			if !answers[c].SameRequest(tr) || answers[c].AppliedAt != answers[0].AppliedAt {
				t.Errorf("transfer %s copy %d answered %+v, copy 0 %+v", tr.ID, c, answers[c], answers[0])
			}
		}
		if created != 1 {
			t.Errorf("transfer %s: %d copies answered 201 Created, want exactly 1", tr.ID, created)
		}
	}
	if got := balance(t, a.URL, "alice"); got != 1000-transfers*10 {
		t.Errorf("alice holds %d, want %d", got, 1000-transfers*10)
	}
	if got := balance(t, b.URL, "bob"); got != transfers*10 {
		t.Errorf("bob holds %d, want %d", got, transfers*10)
	}
}

// Workers on three replicas move random amounts between ten accounts at
// once, some beyond the balance: no money appears or vanishes, no balance
// goes negative, and each account holds its opening balance plus exactly
// the transfers acknowledged with 201.
func TestConcurrentTransfersConserveMoney(t *testing.T) {
	etcd := demotest.StartEtcdCluster(t, 3)
	prefix := demotest.Prefix(t)
	var replicas []*demotest.Replica
	for i := range 3 {
		replicas = append(replicas, demotest.StartReplica(t, etcd.Endpoints(), prefix,
			demo.Identity{Version: "v1", Unit: fmt.Sprintf("unit-%c", 'a'+i), Pod: fmt.Sprintf("pod-%d", i)}))
	}
	const accounts, opening = 10, 1000
	expected := map[string]int64{}
	for i := range accounts {
		id := fmt.Sprintf("acct-%d", i)
		openAccount(t, replicas[0].URL, id, opening)
		expected[id] = opening
	}

	var mu sync.Mutex
	var wg sync.WaitGroup
	counts := map[int]int{}
	for w := range 12 {
		base := replicas[w%len(replicas)].URL
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := range 25 {
				from, to := rand.N(accounts), rand.N(accounts-1)
				if to >= from {
					to++
				}
				tr := demo.Transfer{ID: fmt.Sprintf("w%d-%d", w, n), From: fmt.Sprintf("acct-%d", from), To: fmt.Sprintf("acct-%d", to), Amount: 1 + rand.Int64N(300)}
				status, _ := postTransfer(t, base, tr)
				mu.Lock()
				counts[status]++
				if status == http.StatusCreated {
					expected[tr.From] -= tr.Amount
					expected[tr.To] += tr.Amount
				}
				mu.Unlock()
				if status != http.StatusCreated && status != http.StatusUnprocessableEntity {
					t.Errorf("transfer %s: status %d, want 201 or 422", tr.ID, status)
				}
			}
		}()
	}
	wg.Wait()
	t.Logf("answers by status: %v", counts)
	var total int64
	for id, want := range expected {
		got := balance(t, replicas[1].URL, id)
		total += got
		if got != want || got < 0 {
			t.Errorf("%s holds %d, want %d from the acknowledged transfers", id, got, want)
		}
	}
	if total != accounts*opening {
		t.Errorf("total %d, want %d: money appeared or vanished", total, accounts*opening)
	}
}

func TestInsufficientFundsMovesNothing(t *testing.T) {
	etcd := demotest.StartEtcdCluster(t, 3)
	r := demotest.StartReplica(t, etcd.Endpoints(), demotest.Prefix(t), demo.Identity{Version: "v1", Unit: "unit-a", Pod: "a-0"})
	openAccount(t, r.URL, "alice", 50)
	openAccount(t, r.URL, "bob", 0)
	if status, _ := postTransfer(t, r.URL, demo.Transfer{ID: "too-much", From: "alice", To: "bob", Amount: 51}); status != http.StatusUnprocessableEntity {
		t.Fatalf("transfer beyond the balance: status %d, want 422", status)
	}
	if status, body := call(t, http.MethodGet, r.URL+"/transfers/too-much", nil); status != http.StatusNotFound {
		t.Errorf("refused transfer stored: %d %s", status, body)
	}
	if a, b := balance(t, r.URL, "alice"), balance(t, r.URL, "bob"); a != 50 || b != 0 {
		t.Errorf("balances %d and %d after a refused transfer, want 50 and 0", a, b)
	}
	// The same ID can be used once the money is there: a refusal stores nothing.
	openAccount(t, r.URL, "carol", 100)
	if status, _ := postTransfer(t, r.URL, demo.Transfer{ID: "top-up", From: "carol", To: "alice", Amount: 1}); status != http.StatusCreated {
		t.Fatalf("top-up: status %d", status)
	}
	if status, _ := postTransfer(t, r.URL, demo.Transfer{ID: "too-much", From: "alice", To: "bob", Amount: 51}); status != http.StatusCreated {
		t.Errorf("transfer after the top-up: status %d, want 201", status)
	}
}

// With one of three etcd members dead the cluster keeps its quorum, and the
// service keeps serving. The leader is the one killed: the election that
// follows must not fail a request either.
func TestServesWithOneEtcdMemberDead(t *testing.T) {
	etcd := demotest.StartEtcdCluster(t, 3)
	r := demotest.StartReplica(t, etcd.Endpoints(), demotest.Prefix(t), demo.Identity{Version: "v1", Unit: "unit-a", Pod: "a-0"})
	openAccount(t, r.URL, "alice", 1000)
	openAccount(t, r.URL, "bob", 0)
	etcd.Kill(etcd.Leader())
	for i := range 30 {
		if status, _ := postTransfer(t, r.URL, demo.Transfer{ID: fmt.Sprintf("after-kill-%d", i), From: "alice", To: "bob", Amount: 1}); status != http.StatusCreated {
			t.Errorf("transfer %d with a member dead: status %d, want 201", i, status)
		}
	}
	if status, body := call(t, http.MethodGet, r.URL+"/readyz", nil); status != http.StatusOK {
		t.Errorf("readyz with a member dead: %d %s", status, body)
	}
	if got := balance(t, r.URL, "bob"); got != 30 {
		t.Errorf("bob holds %d, want 30", got)
	}
}
