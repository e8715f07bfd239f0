package loadgen

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/cafe-dev/cafe/internal/demo"
)

// ServiceLedger reads accounts and transfers through the service's API (a
// router or a replica). Each read carries the ID as X-Cafe-Uid: account IDs
// are user IDs and transfer IDs end with the sender's user ID, so a router
// routes them to the unit owning the shard.
type ServiceLedger struct {
	baseURL string
	client  *client
	timeout time.Duration
}

// NewServiceLedger reads through baseURL, each read within timeout.
func NewServiceLedger(baseURL string, timeout time.Duration) *ServiceLedger {
	return &ServiceLedger{baseURL: baseURL, client: newClient(Config{Targets: []string{baseURL}}), timeout: timeout}
}

// GetAccount reads an account.
func (l *ServiceLedger) GetAccount(ctx context.Context, id string) (demo.Account, error) {
	var acct demo.Account
	return acct, l.get(ctx, "/accounts/"+id, id, &acct)
}

// GetTransfer reads a stored transfer.
func (l *ServiceLedger) GetTransfer(ctx context.Context, id string) (demo.Transfer, error) {
	var t demo.Transfer
	return t, l.get(ctx, "/transfers/"+id, id, &t)
}

// ledgerReadAttempts bounds the tries of one ledger read. Unlike the load,
// the check may try again: it asks what is stored, not whether the service
// answers, and right after a drill a unit's store member may still be
// catching up. A 404 is an answer and is never tried again.
const (
	ledgerReadAttempts = 5
	ledgerReadBackoff  = time.Second
)

func (l *ServiceLedger) get(ctx context.Context, path, uid string, v any) error {
	var err error
	for attempt := 1; ; attempt++ {
		err = l.getOnce(ctx, path, uid, v)
		if err == nil || errors.Is(err, demo.ErrNotFound) || attempt == ledgerReadAttempts {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(ledgerReadBackoff):
		}
	}
}

func (l *ServiceLedger) getOnce(ctx context.Context, path, uid string, v any) error {
	ctx, cancel := context.WithTimeout(ctx, l.timeout)
	defer cancel()
	a, err := l.client.send(ctx, http.MethodGet, l.baseURL+path, uid, nil, nil)
	switch {
	case err != nil:
		return fmt.Errorf("GET %s%s: %w", l.baseURL, path, err)
	case a.status == http.StatusNotFound:
		return fmt.Errorf("GET %s%s: %w", l.baseURL, path, demo.ErrNotFound)
	case a.status != http.StatusOK:
		return fmt.Errorf("GET %s%s: status %d: %s", l.baseURL, path, a.status, excerpt(a.body))
	}
	if err := json.Unmarshal(a.body, v); err != nil {
		return fmt.Errorf("GET %s%s: answer does not parse: %w", l.baseURL, path, err)
	}
	return nil
}
