package demo

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// Store keeps accounts and transfers in etcd, one key each:
// <prefix>accounts/<id> and <prefix>transfers/<id>, JSON values. Every read
// is linearizable (etcd's default), so a replica never acts on a balance
// older than one another replica has already acknowledged.
type Store struct {
	client  *clientv3.Client
	prefix  string
	timeout time.Duration
}

// OpenStore connects to etcd. It does not wait for etcd: a replica whose
// etcd is away starts, reports not ready, and serves once etcd answers.
func OpenStore(endpoints []string, prefix string, timeout time.Duration) (*Store, error) {
	client, err := clientv3.New(clientv3.Config{
		Endpoints:   endpoints,
		DialTimeout: timeout,
		// Keepalives notice a connection cut without a reset (a unit cut
		// off the network) so the client moves to another member.
		DialKeepAliveTime:    5 * time.Second,
		DialKeepAliveTimeout: timeout,
	})
	if err != nil {
		return nil, fmt.Errorf("etcd client for %v: %w", endpoints, err)
	}
	return NewStore(client, prefix, timeout), nil
}

// NewStore uses an existing client; timeout bounds every call.
func NewStore(client *clientv3.Client, prefix string, timeout time.Duration) *Store {
	return &Store{client: client, prefix: prefix, timeout: timeout}
}

// Close closes the etcd client.
func (s *Store) Close() error { return s.client.Close() }

func (s *Store) accountKey(id string) string  { return s.prefix + "accounts/" + id }
func (s *Store) transferKey(id string) string { return s.prefix + "transfers/" + id }

// Ping does a linearizable read, which needs an etcd quorum: a replica cut
// off from the majority of etcd is not ready.
func (s *Store) Ping(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	_, err := s.client.Get(ctx, s.prefix+"ping", clientv3.WithCountOnly())
	return storeError("read", err)
}

// OpenAccount creates the account with balance, or finds it open already:
// created is false then, and the error is ErrAccountExists when it was
// opened with another balance.
func (s *Store) OpenAccount(ctx context.Context, id string, balance int64) (acct Account, created bool, err error) {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	key := s.accountKey(id)
	acct = Account{ID: id, Balance: balance, OpeningBalance: balance}
	value, err := json.Marshal(acct)
	if err != nil {
		return Account{}, false, err
	}
	resp, err := s.client.Txn(ctx).
		If(clientv3.Compare(clientv3.CreateRevision(key), "=", 0)).
		Then(clientv3.OpPut(key, string(value))).
		Else(clientv3.OpGet(key)).
		Commit()
	if err != nil {
		return Account{}, false, storeError("open account", err)
	}
	if resp.Succeeded {
		return acct, true, nil
	}
	existing, err := decode[Account](resp.Responses[0].GetResponseRange().Kvs[0].Value, key)
	if err != nil {
		return Account{}, false, err
	}
	if existing.OpeningBalance != balance {
		return existing, false, ErrAccountExists
	}
	return existing, false, nil
}

// GetAccount reads one account.
func (s *Store) GetAccount(ctx context.Context, id string) (Account, error) {
	return getJSON[Account](ctx, s, s.accountKey(id), "account "+id)
}

// GetTransfer reads one applied transfer.
func (s *Store) GetTransfer(ctx context.Context, id string) (Transfer, error) {
	return getJSON[Transfer](ctx, s, s.transferKey(id), "transfer "+id)
}

// TransfersWithPrefix reads every applied transfer whose ID starts with
// idPrefix, in one linearizable range read: a ledger check of one load run
// (whose transfer IDs share a prefix) needs no request per transfer.
func (s *Store) TransfersWithPrefix(ctx context.Context, idPrefix string) ([]Transfer, error) {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	resp, err := s.client.Get(ctx, s.transferKey(idPrefix), clientv3.WithPrefix())
	if err != nil {
		return nil, storeError("read transfers", err)
	}
	transfers := make([]Transfer, 0, len(resp.Kvs))
	for _, kv := range resp.Kvs {
		t, err := decode[Transfer](kv.Value, string(kv.Key))
		if err != nil {
			return nil, err
		}
		transfers = append(transfers, t)
	}
	return transfers, nil
}

// getJSON reads one key; what names it in a not-found error.
func getJSON[T any](ctx context.Context, s *Store, key, what string) (T, error) {
	var zero T
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	resp, err := s.client.Get(ctx, key)
	if err != nil {
		return zero, storeError("read", err)
	}
	if len(resp.Kvs) == 0 {
		return zero, fmt.Errorf("%w: %s does not exist", ErrNotFound, what)
	}
	return decode[T](resp.Kvs[0].Value, key)
}

func decode[T any](value []byte, key string) (T, error) {
	var v T
	if err := json.Unmarshal(value, &v); err != nil {
		return v, fmt.Errorf("etcd key %s holds something that is not the service's JSON (%w): is another program writing under the service's --etcd-prefix?", key, err)
	}
	return v, nil
}

// storeError wraps an etcd failure as ErrStoreUnavailable, keeping the cause.
func storeError(op string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("%w: etcd %s: %w", ErrStoreUnavailable, op, err)
}
