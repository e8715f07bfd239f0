package demo

import (
	"fmt"
	"time"
)

// Amounts and balances are integers in minor units (cents): money is never
// a float.

// Account is one account as stored and served.
type Account struct {
	ID string `json:"id"`
	// Balance is the current balance.
	Balance int64 `json:"balance"`
	// OpeningBalance is the balance the account was opened with; opening it
	// again is idempotent only with the same opening balance.
	OpeningBalance int64 `json:"openingBalance"`
}

// Transfer is a transfer as requested by a client and, once applied, as
// stored under its ID.
type Transfer struct {
	// ID is the client's idempotency key: one ID moves money at most once.
	ID     string `json:"id"`
	From   string `json:"from"`
	To     string `json:"to"`
	Amount int64  `json:"amount"`
	// AppliedAt and AppliedBy are set by the replica that applied it.
	AppliedAt time.Time `json:"appliedAt,omitzero"`
	AppliedBy *Identity `json:"appliedBy,omitempty"`
}

// SameRequest reports whether t and other ask for the same movement of
// money, whoever applied them and when.
func (t Transfer) SameRequest(other Transfer) bool {
	return t.ID == other.ID && t.From == other.From && t.To == other.To && t.Amount == other.Amount
}

// Identity names the replica serving a request.
type Identity struct {
	Version string `json:"version"`
	Unit    string `json:"unit"`
	Pod     string `json:"pod"`
}

// MaxAmount bounds amounts and balances so that no sum of them can overflow
// an int64 (a trillion in major units, in cents).
const MaxAmount = 100_000_000_000_000

const maxIDLength = 64

// ValidateID checks an account or transfer ID: 1 to 64 characters of
// letters, digits, '.', '_' and '-', so that IDs are safe in URLs and etcd
// keys. field names the input in the error.
func ValidateID(field, id string) error {
	if id == "" {
		return fmt.Errorf("%s is missing: give an ID of 1 to %d letters, digits, '.', '_' or '-'", field, maxIDLength)
	}
	if len(id) > maxIDLength {
		return fmt.Errorf("%s is %d characters long: at most %d are allowed", field, len(id), maxIDLength)
	}
	for _, c := range id {
		if !isIDChar(c) {
			return fmt.Errorf("%s %q contains %q: use only letters, digits, '.', '_' or '-'", field, id, c)
		}
	}
	return nil
}

func isIDChar(c rune) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-'
}

// ValidateBalance checks an opening balance.
func ValidateBalance(balance int64) error {
	if balance < 0 || balance > MaxAmount {
		return fmt.Errorf("balance %d is outside 0..%d (minor units)", balance, int64(MaxAmount))
	}
	return nil
}

// Validate checks a requested transfer, naming the first wrong field.
func (t Transfer) Validate() error {
	if err := ValidateID("id", t.ID); err != nil {
		return err
	}
	if err := ValidateID("from", t.From); err != nil {
		return err
	}
	if err := ValidateID("to", t.To); err != nil {
		return err
	}
	if t.From == t.To {
		return fmt.Errorf("from and to are both %q: a transfer needs two different accounts", t.From)
	}
	if t.Amount <= 0 || t.Amount > MaxAmount {
		return fmt.Errorf("amount %d is outside 1..%d (minor units)", t.Amount, int64(MaxAmount))
	}
	return nil
}
