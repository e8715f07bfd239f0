package loadgen

import (
	"context"
	"fmt"
	"sync"

	"github.com/cafe-dev/cafe/internal/demo"
)

// memLedger is an in-memory demo.Ledger with the store's rules, so the
// real demo API can serve the load generator's unit tests without etcd.
type memLedger struct {
	mu        sync.Mutex
	accounts  map[string]demo.Account
	transfers map[string]demo.Transfer
}

func newMemLedger() *memLedger {
	return &memLedger{accounts: map[string]demo.Account{}, transfers: map[string]demo.Transfer{}}
}

func (m *memLedger) Ping(context.Context) error { return nil }

func (m *memLedger) OpenAccount(_ context.Context, id string, balance int64) (demo.Account, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if a, ok := m.accounts[id]; ok {
		if a.OpeningBalance != balance {
			return a, false, demo.ErrAccountExists
		}
		return a, false, nil
	}
	a := demo.Account{ID: id, Balance: balance, OpeningBalance: balance}
	m.accounts[id] = a
	return a, true, nil
}

func (m *memLedger) GetAccount(_ context.Context, id string) (demo.Account, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	a, ok := m.accounts[id]
	if !ok {
		return a, fmt.Errorf("%w: account %s", demo.ErrNotFound, id)
	}
	return a, nil
}

func (m *memLedger) ApplyTransfer(_ context.Context, t demo.Transfer) (demo.Transfer, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if stored, ok := m.transfers[t.ID]; ok {
		if !stored.SameRequest(t) {
			return stored, false, demo.ErrIdempotencyConflict
		}
		return stored, false, nil
	}
	if m.accounts[t.From].Balance < t.Amount {
		return demo.Transfer{}, false, demo.ErrInsufficientFunds
	}
	m.move(t)
	m.transfers[t.ID] = t
	return t, true, nil
}

// move changes the balances only: called alone it applies a transfer a
// second time, the bug the ledger check must catch.
func (m *memLedger) move(t demo.Transfer) {
	from, to := m.accounts[t.From], m.accounts[t.To]
	from.Balance -= t.Amount
	to.Balance += t.Amount
	m.accounts[t.From], m.accounts[t.To] = from, to
}

func (m *memLedger) GetTransfer(_ context.Context, id string) (demo.Transfer, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	t, ok := m.transfers[id]
	if !ok {
		return t, fmt.Errorf("%w: transfer %s", demo.ErrNotFound, id)
	}
	return t, nil
}
