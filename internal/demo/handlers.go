package demo

import (
	"errors"
	"net/http"
)

// HeaderIdempotencyKey, when a client sends it on POST /transfers, must
// equal the transfer's id. Routers treat a POST carrying it as replayable,
// which lets them fail it over to another unit.
const HeaderIdempotencyKey = "Idempotency-Key"

type openAccountRequest struct {
	Balance *int64 `json:"balance"`
}

type transferRequest struct {
	ID     string `json:"id"`
	From   string `json:"from"`
	To     string `json:"to"`
	Amount int64  `json:"amount"`
}

const transferOutcomeUnknown = "; the transfer may or may not have been applied: retry with the same id"

func (s *Server) openAccount(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if err := ValidateID("account id in the path", id); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	var req openAccountRequest
	if err := decodeBody(r, w, &req); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	if req.Balance == nil {
		writeError(w, http.StatusBadRequest, `balance is missing: send {"balance": <opening balance in minor units>}`)
		return
	}
	if err := ValidateBalance(*req.Balance); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	acct, created, err := s.ledger.OpenAccount(r.Context(), id, *req.Balance)
	switch {
	case errors.Is(err, ErrAccountExists):
		writeError(w, http.StatusConflict, "account "+id+" is already open with another opening balance: open it with the same balance, or use another id")
	case err != nil:
		writeStoreError(w, err, "; the account may or may not have been opened: retry")
	case created:
		writeJSON(w, http.StatusCreated, acct)
	default:
		writeJSON(w, http.StatusOK, acct)
	}
}

func (s *Server) getAccount(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if err := ValidateID("account id in the path", id); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	acct, err := s.ledger.GetAccount(r.Context(), id)
	if err != nil {
		writeStoreError(w, err, "")
		return
	}
	writeJSON(w, http.StatusOK, acct)
}

func (s *Server) postTransfer(w http.ResponseWriter, r *http.Request) {
	var req transferRequest
	if err := decodeBody(r, w, &req); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	if key := r.Header.Get(HeaderIdempotencyKey); key != "" && key != req.ID {
		writeError(w, http.StatusBadRequest, "header "+HeaderIdempotencyKey+" "+key+" differs from the body's id "+req.ID+": send the same value in both, or leave the header out")
		return
	}
	t := Transfer{ID: req.ID, From: req.From, To: req.To, Amount: req.Amount}
	if err := t.Validate(); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	t.AppliedAt = s.now().UTC()
	t.AppliedBy = &s.identity
	stored, applied, err := s.ledger.ApplyTransfer(r.Context(), t)
	switch {
	case errors.Is(err, ErrIdempotencyConflict):
		writeError(w, http.StatusConflict, "transfer id "+t.ID+" was already used for a different transfer: use a new id for a new transfer")
	case err != nil:
		writeStoreError(w, err, transferOutcomeUnknown)
	case applied:
		writeJSON(w, http.StatusCreated, stored)
	default:
		writeJSON(w, http.StatusOK, stored)
	}
}

func (s *Server) getTransfer(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if err := ValidateID("transfer id in the path", id); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	t, err := s.ledger.GetTransfer(r.Context(), id)
	if err != nil {
		writeStoreError(w, err, "")
		return
	}
	writeJSON(w, http.StatusOK, t)
}
