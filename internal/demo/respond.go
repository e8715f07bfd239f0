package demo

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
)

// maxBodyBytes bounds request bodies: the API's bodies are a few fields.
const maxBodyBytes = 64 << 10

type errorBody struct {
	Error string `json:"error"`
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, status int, message string) {
	writeJSON(w, status, errorBody{Error: message})
}

// writeStoreError answers a store error with its status code. unknownOutcome
// is added to 503 answers of writes, whose effect the client cannot know.
func writeStoreError(w http.ResponseWriter, err error, unknownOutcome string) {
	switch {
	case errors.Is(err, ErrNotFound):
		writeError(w, http.StatusNotFound, err.Error())
	case errors.Is(err, ErrAccountExists), errors.Is(err, ErrIdempotencyConflict):
		writeError(w, http.StatusConflict, err.Error())
	case errors.Is(err, ErrInsufficientFunds):
		writeError(w, http.StatusUnprocessableEntity, err.Error())
	case errors.Is(err, ErrStoreUnavailable):
		writeError(w, http.StatusServiceUnavailable, err.Error()+unknownOutcome)
	default:
		writeError(w, http.StatusInternalServerError, err.Error())
	}
}

// decodeBody reads a JSON body into v, refusing unknown fields so that a
// misspelt field is an error instead of a silent zero.
func decodeBody(r *http.Request, w http.ResponseWriter, v any) error {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBodyBytes))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("body is not the expected JSON object: %w", err)
	}
	if dec.Decode(&struct{}{}) != io.EOF {
		return errors.New("body holds more than one JSON value: send exactly one object")
	}
	return nil
}
