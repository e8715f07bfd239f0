package loadgen

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"golang.org/x/sync/errgroup"

	"github.com/cafe-dev/cafe/internal/demo"
)

// LedgerSource reads what the service stored: *demo.Store reads it
// straight from etcd, ServiceLedger through the service's API.
type LedgerSource interface {
	GetAccount(ctx context.Context, id string) (demo.Account, error)
	// GetTransfer returns an error wrapping demo.ErrNotFound for a transfer
	// that was never applied.
	GetTransfer(ctx context.Context, id string) (demo.Transfer, error)
}

// transferLister is a LedgerSource that can also list every stored
// transfer of a run (*demo.Store), to find transfers nobody sent.
type transferLister interface {
	TransfersWithPrefix(ctx context.Context, idPrefix string) ([]demo.Transfer, error)
}

// LedgerReport is the outcome of the ledger check.
type LedgerReport struct {
	Passed bool `json:"passed"`
	// Accounts were read; OpenedTotal is their total before the load,
	// FinalTotal after. Transfers only move money, so the two are equal.
	Accounts    int   `json:"accounts"`
	OpenedTotal int64 `json:"openedTotal"`
	FinalTotal  int64 `json:"finalTotal"`
	// Acknowledged transfers (2xx) must be stored, as sent; found counts them.
	Acknowledged      int `json:"acknowledged"`
	AcknowledgedFound int `json:"acknowledgedFound"`
	// Unacknowledged transfers (failed or timed out) may or may not have
	// been applied; Applied counts those that were.
	Unacknowledged        int `json:"unacknowledged"`
	UnacknowledgedApplied int `json:"unacknowledgedApplied"`
	// Problems are the first MaxLedgerProblems things found wrong.
	Problems []string `json:"problems"`
}

// MaxLedgerProblems bounds LedgerReport.Problems.
const MaxLedgerProblems = 50

// CheckLedger checks what src stored against what rep sent: the total
// balance equals the opened total; each acknowledged transfer is stored
// with the contents sent; and each account holds its balance before the
// load plus exactly the transfers stored (acknowledged or not), so a
// transfer applied twice, or lost, shows as a wrong balance. It assumes no
// one else moved money between the run's accounts meanwhile.
func CheckLedger(ctx context.Context, src LedgerSource, rep *Report) *LedgerReport {
	lr := &LedgerReport{Accounts: len(rep.Accounts), Acknowledged: len(rep.Acknowledged), Unacknowledged: len(rep.Unacknowledged)}
	var mu sync.Mutex
	problem := func(format string, args ...any) {
		mu.Lock()
		defer mu.Unlock()
		if len(lr.Problems) < MaxLedgerProblems {
			lr.Problems = append(lr.Problems, fmt.Sprintf(format, args...))
		}
	}
	expected := make(map[string]int64, len(rep.Accounts))
	for id, balance := range rep.Accounts {
		expected[id] = balance
		lr.OpenedTotal += balance
	}
	apply := func(t demo.Transfer) {
		mu.Lock()
		defer mu.Unlock()
		expected[t.From] -= t.Amount
		expected[t.To] += t.Amount
	}

	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(16)
	for _, t := range rep.Acknowledged {
		g.Go(func() error {
			stored, err := src.GetTransfer(gctx, t.ID)
			switch {
			case errors.Is(err, demo.ErrNotFound):
				problem("acknowledged transfer %s is not stored: it was lost", t.ID)
			case err != nil:
				problem("read transfer %s: %v", t.ID, err)
			case !stored.SameRequest(t):
				problem("acknowledged transfer %s is stored as %+v, sent as %+v", t.ID, stored, t)
			default:
				mu.Lock()
				lr.AcknowledgedFound++
				mu.Unlock()
			}
			apply(t)
			return nil
		})
	}
	for _, t := range rep.Unacknowledged {
		g.Go(func() error {
			stored, err := src.GetTransfer(gctx, t.ID)
			switch {
			case errors.Is(err, demo.ErrNotFound):
			case err != nil:
				problem("read transfer %s: %v", t.ID, err)
			case !stored.SameRequest(t):
				problem("unacknowledged transfer %s is stored as %+v, sent as %+v", t.ID, stored, t)
			default:
				mu.Lock()
				lr.UnacknowledgedApplied++
				mu.Unlock()
				apply(t)
			}
			return nil
		})
	}
	_ = g.Wait() // the workers report problems, never errors

	// A new group: the first one's context ended with its Wait.
	g, gctx = errgroup.WithContext(ctx)
	g.SetLimit(16)
	final := make(map[string]int64, len(rep.Accounts))
	for id := range rep.Accounts {
		g.Go(func() error {
			acct, err := src.GetAccount(gctx, id)
			if err != nil {
				problem("read account %s: %v", id, err)
				return nil
			}
			mu.Lock()
			final[id] = acct.Balance
			mu.Unlock()
			return nil
		})
	}
	_ = g.Wait()
	for id, balance := range final {
		lr.FinalTotal += balance
		if balance != expected[id] {
			problem("account %s holds %d, want %d (balance before the load plus the stored transfers)", id, balance, expected[id])
		}
	}
	if lr.FinalTotal != lr.OpenedTotal && len(final) == len(rep.Accounts) {
		problem("total balance %d, opened total %d: money was created or lost", lr.FinalTotal, lr.OpenedTotal)
	}
	if lister, ok := src.(transferLister); ok {
		checkNothingElseStored(ctx, lister, rep, lr, problem)
	}
	lr.Passed = len(lr.Problems) == 0
	return lr
}

// checkNothingElseStored finds transfers stored under the run's ID that
// the run never sent.
func checkNothingElseStored(ctx context.Context, lister transferLister, rep *Report, lr *LedgerReport, problem func(string, ...any)) {
	stored, err := lister.TransfersWithPrefix(ctx, rep.RunID+"-")
	if err != nil {
		problem("list the run's transfers: %v", err)
		return
	}
	if want := lr.AcknowledgedFound + lr.UnacknowledgedApplied; len(stored) != want {
		problem("%d transfers of run %s are stored, %d were sent and applied", len(stored), rep.RunID, want)
	}
}
