package demo

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// fakeLedger answers every call with its fields; the store's own behaviour
// is tested against a real etcd (the integration tests).
type fakeLedger struct {
	err     error
	applied bool
	pingErr error
	got     Transfer
}

func (f *fakeLedger) Ping(context.Context) error { return f.pingErr }
func (f *fakeLedger) OpenAccount(_ context.Context, id string, balance int64) (Account, bool, error) {
	return Account{ID: id, Balance: balance, OpeningBalance: balance}, f.applied, f.err
}
func (f *fakeLedger) GetAccount(_ context.Context, id string) (Account, error) {
	return Account{ID: id, Balance: 7}, f.err
}
func (f *fakeLedger) ApplyTransfer(_ context.Context, t Transfer) (Transfer, bool, error) {
	f.got = t
	return t, f.applied, f.err
}
func (f *fakeLedger) GetTransfer(_ context.Context, id string) (Transfer, error) {
	return Transfer{ID: id}, f.err
}

var testIdentity = Identity{Version: "v2", Unit: "unit-a", Pod: "pay-a-0"}

func serve(ledger Ledger, method, path, body string, header ...string) *httptest.ResponseRecorder {
	s := NewServer(testIdentity, ledger, time.Second)
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	w := httptest.NewRecorder()
	s.ServeHTTP(w, req)
	return w
}

func TestTransferStatusCodes(t *testing.T) {
	const valid = `{"id":"t1","from":"alice","to":"bob","amount":5}`
	tests := []struct {
		name       string
		body       string
		header     []string
		ledger     fakeLedger
		wantStatus int
		wantInBody string
	}{
		{"applied now", valid, nil, fakeLedger{applied: true}, 201, `"id":"t1"`},
		{"applied before", valid, nil, fakeLedger{}, 200, `"id":"t1"`},
		{"key reused", valid, nil, fakeLedger{err: ErrIdempotencyConflict}, 409, "already used for a different transfer"},
		{"insufficient funds", valid, nil, fakeLedger{err: fmt.Errorf("%w: account alice holds 1", ErrInsufficientFunds)}, 422, "holds 1"},
		{"unknown account", valid, nil, fakeLedger{err: fmt.Errorf("%w: account \"bob\" does not exist", ErrNotFound)}, 404, "bob"},
		{"etcd away", valid, nil, fakeLedger{err: fmt.Errorf("%w: deadline", ErrStoreUnavailable)}, 503, "retry with the same id"},
		{"not JSON", `{"id":`, nil, fakeLedger{}, 400, "not the expected JSON"},
		{"misspelt field", `{"id":"t1","from":"a","to":"b","amout":5}`, nil, fakeLedger{}, 400, "unknown field"},
		{"two objects", valid + valid, nil, fakeLedger{}, 400, "more than one JSON value"},
		{"missing amount", `{"id":"t1","from":"a","to":"b"}`, nil, fakeLedger{}, 400, "amount 0 is outside"},
		{"bad from", `{"id":"t1","from":"a b","to":"b","amount":1}`, nil, fakeLedger{}, 400, "from"},
		{"header matches", valid, []string{HeaderIdempotencyKey, "t1"}, fakeLedger{applied: true}, 201, ""},
		{"header differs", valid, []string{HeaderIdempotencyKey, "t2"}, fakeLedger{}, 400, "Idempotency-Key t2 differs"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := serve(&tt.ledger, http.MethodPost, "/transfers", tt.body, tt.header...)
			if w.Code != tt.wantStatus || !strings.Contains(w.Body.String(), tt.wantInBody) {
				t.Errorf("got %d %s, want %d with %q", w.Code, w.Body, tt.wantStatus, tt.wantInBody)
			}
			if w.Header().Get(HeaderVersion) != "v2" || w.Header().Get(HeaderUnit) != "unit-a" {
				t.Errorf("identity headers %v", w.Header())
			}
		})
	}
}

func TestTransferRecordsWhoApplied(t *testing.T) {
	ledger := &fakeLedger{applied: true}
	serve(ledger, http.MethodPost, "/transfers", `{"id":"t1","from":"a","to":"b","amount":5}`)
	if ledger.got.AppliedBy == nil || *ledger.got.AppliedBy != testIdentity || ledger.got.AppliedAt.IsZero() {
		t.Errorf("stored transfer %+v does not say who applied it when", ledger.got)
	}
}

func TestAccountStatusCodes(t *testing.T) {
	tests := []struct {
		name       string
		method     string
		path, body string
		ledger     fakeLedger
		wantStatus int
		wantInBody string
	}{
		{"open", http.MethodPut, "/accounts/alice", `{"balance":100}`, fakeLedger{applied: true}, 201, `"openingBalance":100`},
		{"open again", http.MethodPut, "/accounts/alice", `{"balance":100}`, fakeLedger{}, 200, `"id":"alice"`},
		{"open with another balance", http.MethodPut, "/accounts/alice", `{"balance":5}`, fakeLedger{err: ErrAccountExists}, 409, "another opening balance"},
		{"open without balance", http.MethodPut, "/accounts/alice", `{}`, fakeLedger{}, 400, "balance is missing"},
		{"open with a negative balance", http.MethodPut, "/accounts/alice", `{"balance":-1}`, fakeLedger{}, 400, "balance -1"},
		{"open a bad id", http.MethodPut, "/accounts/a%20b", `{"balance":1}`, fakeLedger{}, 400, "account id in the path"},
		{"get", http.MethodGet, "/accounts/alice", "", fakeLedger{}, 200, `"balance":7`},
		{"get unknown", http.MethodGet, "/accounts/zed", "", fakeLedger{err: ErrNotFound}, 404, "not found"},
		{"get while etcd is away", http.MethodGet, "/accounts/alice", "", fakeLedger{err: ErrStoreUnavailable}, 503, "store unavailable"},
		{"get transfer", http.MethodGet, "/transfers/t1", "", fakeLedger{}, 200, `"id":"t1"`},
		{"wrong method", http.MethodDelete, "/accounts/alice", "", fakeLedger{}, 405, ""},
		{"unexpected store error", http.MethodGet, "/transfers/t1", "", fakeLedger{err: errors.New("etcd key holds garbage")}, 500, "garbage"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := serve(&tt.ledger, tt.method, tt.path, tt.body)
			if w.Code != tt.wantStatus || !strings.Contains(w.Body.String(), tt.wantInBody) {
				t.Errorf("got %d %s, want %d with %q", w.Code, w.Body, tt.wantStatus, tt.wantInBody)
			}
		})
	}
}

func TestReadinessAndVersion(t *testing.T) {
	if w := serve(&fakeLedger{}, http.MethodGet, "/readyz", ""); w.Code != 200 {
		t.Errorf("readyz with a store: %d", w.Code)
	}
	if w := serve(&fakeLedger{pingErr: ErrStoreUnavailable}, http.MethodGet, "/readyz", ""); w.Code != 503 || !strings.Contains(w.Body.String(), "store unreachable") {
		t.Errorf("readyz without a store: %d %s", w.Code, w.Body)
	}
	s := NewServer(testIdentity, &fakeLedger{}, time.Second)
	s.StartDraining()
	for path, want := range map[string]int{"/readyz": 503, "/healthz": 200, "/accounts/alice": 200} {
		w := httptest.NewRecorder()
		s.ServeHTTP(w, httptest.NewRequest(http.MethodGet, path, nil))
		if w.Code != want {
			t.Errorf("draining: %s answered %d, want %d", path, w.Code, want)
		}
	}
	w := serve(&fakeLedger{}, http.MethodGet, "/version", "")
	var got Identity
	if err := json.Unmarshal(w.Body.Bytes(), &got); err != nil || got != testIdentity {
		t.Errorf("version %s (%v)", w.Body, err)
	}
}
