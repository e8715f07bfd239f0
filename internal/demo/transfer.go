package demo

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"time"

	"go.etcd.io/etcd/api/v3/etcdserverpb"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/cafe-dev/cafe/internal/ctxsleep"
)

// ApplyTransfer moves t.Amount from t.From to t.To at most once per t.ID, in
// one etcd transaction that succeeds only if the transfer key is still
// absent and both balances are unchanged since they were read. So two
// replicas (in one unit or two) applying the same ID race in etcd and
// exactly one wins; the other re-reads and returns the stored transfer.
//
// applied is true when this call moved the money. It is false, with the
// stored transfer, when the ID had been applied before, by an earlier
// request or by an attempt of this one whose answer from etcd was lost.
// ErrStoreUnavailable means the outcome is unknown: retry with the same ID.
func (s *Store) ApplyTransfer(ctx context.Context, t Transfer) (stored Transfer, applied bool, err error) {
	for attempt := 0; ; attempt++ {
		snap, err := s.readForTransfer(ctx, t)
		if errors.Is(err, ErrStoreUnavailable) && sleepBeforeRetry(ctx, attempt) {
			continue // another etcd member may answer the next read
		}
		if err != nil {
			return Transfer{}, false, err
		}
		if snap.stored != nil {
			if !snap.stored.SameRequest(t) {
				return *snap.stored, false, ErrIdempotencyConflict
			}
			return *snap.stored, false, nil
		}
		if err := snap.check(t); err != nil {
			return Transfer{}, false, err
		}
		committed, commitErr := s.commitTransfer(ctx, t, snap)
		if committed {
			return t, true, nil
		}
		// A balance changed under us, or etcd did not answer: whether the
		// transaction was applied or not, the next read tells.
		if !sleepBeforeRetry(ctx, attempt) {
			if commitErr != nil {
				return Transfer{}, false, storeError("transfer (outcome unknown, retry with the same id)", commitErr)
			}
			return Transfer{}, false, storeError("transfer", fmt.Errorf("balances kept changing for %d attempts: %w", attempt+1, ctx.Err()))
		}
	}
}

// transferSnapshot is what one linearizable read saw before a transfer.
type transferSnapshot struct {
	stored   *Transfer
	from, to storedAccount
}

type storedAccount struct {
	Account
	modRevision int64
}

func (s *Store) readForTransfer(ctx context.Context, t Transfer) (transferSnapshot, error) {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	resp, err := s.client.Txn(ctx).Then(
		clientv3.OpGet(s.transferKey(t.ID)),
		clientv3.OpGet(s.accountKey(t.From)),
		clientv3.OpGet(s.accountKey(t.To)),
	).Commit()
	if err != nil {
		return transferSnapshot{}, storeError("read for transfer", err)
	}
	var snap transferSnapshot
	if kvs := resp.Responses[0].GetResponseRange().Kvs; len(kvs) > 0 {
		stored, err := decode[Transfer](kvs[0].Value, string(kvs[0].Key))
		if err != nil {
			return snap, err
		}
		snap.stored = &stored
		return snap, nil
	}
	if snap.from, err = accountAt(resp.Responses[1], t.From); err != nil {
		return snap, err
	}
	if snap.to, err = accountAt(resp.Responses[2], t.To); err != nil {
		return snap, err
	}
	return snap, nil
}

// accountAt decodes account id from one read of a transaction.
func accountAt(read *etcdserverpb.ResponseOp, id string) (storedAccount, error) {
	kvs := read.GetResponseRange().Kvs
	if len(kvs) == 0 {
		return storedAccount{}, fmt.Errorf("%w: account %q does not exist: open it first with PUT /accounts/%s", ErrNotFound, id, id)
	}
	acct, err := decode[Account](kvs[0].Value, string(kvs[0].Key))
	return storedAccount{Account: acct, modRevision: kvs[0].ModRevision}, err
}

// check decides, on the balances read, whether the transfer may go ahead.
func (snap transferSnapshot) check(t Transfer) error {
	if snap.from.Balance < t.Amount {
		return fmt.Errorf("%w: account %q holds %d, the transfer needs %d", ErrInsufficientFunds, t.From, snap.from.Balance, t.Amount)
	}
	if snap.to.Balance > math.MaxInt64-t.Amount {
		return fmt.Errorf("account %q would overflow: its balance %d cannot grow by %d", t.To, snap.to.Balance, t.Amount)
	}
	return nil
}

// commitTransfer writes both balances and the transfer record if nothing
// changed since snap was read; committed is false on any change.
func (s *Store) commitTransfer(ctx context.Context, t Transfer, snap transferSnapshot) (committed bool, err error) {
	from, to := snap.from.Account, snap.to.Account
	from.Balance -= t.Amount
	to.Balance += t.Amount
	fromValue, err := json.Marshal(from)
	if err != nil {
		return false, err
	}
	toValue, err := json.Marshal(to)
	if err != nil {
		return false, err
	}
	record, err := json.Marshal(t)
	if err != nil {
		return false, err
	}
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	transferKey, fromKey, toKey := s.transferKey(t.ID), s.accountKey(t.From), s.accountKey(t.To)
	resp, err := s.client.Txn(ctx).
		If(
			clientv3.Compare(clientv3.CreateRevision(transferKey), "=", 0),
			clientv3.Compare(clientv3.ModRevision(fromKey), "=", snap.from.modRevision),
			clientv3.Compare(clientv3.ModRevision(toKey), "=", snap.to.modRevision),
		).
		Then(
			clientv3.OpPut(fromKey, string(fromValue)),
			clientv3.OpPut(toKey, string(toValue)),
			clientv3.OpPut(transferKey, string(record)),
		).
		Commit()
	if err != nil {
		return false, err
	}
	return resp.Succeeded, nil
}

// sleepBeforeRetry waits a short random time, growing with attempt, so that
// replicas contending for one account do not retry in lockstep. It returns
// false if ctx ends first.
func sleepBeforeRetry(ctx context.Context, attempt int) bool {
	limit := time.Millisecond << min(attempt, 6)
	return ctxsleep.For(ctx, time.Millisecond+rand.N(limit))
}
