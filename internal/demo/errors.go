package demo

import "errors"

// Errors of the store, which the HTTP layer maps to status codes.
var (
	// ErrNotFound: the account or transfer does not exist (404).
	ErrNotFound = errors.New("not found")
	// ErrAccountExists: the account was opened with another opening balance (409).
	ErrAccountExists = errors.New("account already open with a different opening balance")
	// ErrIdempotencyConflict: the transfer ID was used for another transfer (409).
	ErrIdempotencyConflict = errors.New("transfer ID already used for a different transfer")
	// ErrInsufficientFunds: the source account's balance is below the amount (422).
	ErrInsufficientFunds = errors.New("insufficient funds")
	// ErrStoreUnavailable: etcd did not answer in time; for a transfer the
	// outcome is unknown and the client should retry with the same ID (503).
	ErrStoreUnavailable = errors.New("store unavailable")
)
