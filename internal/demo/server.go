package demo

import (
	"context"
	"net/http"
	"sync/atomic"
	"time"
)

// Headers on every response, so that a client (the load generator) sees
// which version and unit answered.
const (
	HeaderVersion = "X-Demo-Version"
	HeaderUnit    = "X-Demo-Unit"
)

// Ledger is what the HTTP API needs from the store; *Store implements it.
type Ledger interface {
	Ping(ctx context.Context) error
	OpenAccount(ctx context.Context, id string, balance int64) (Account, bool, error)
	GetAccount(ctx context.Context, id string) (Account, error)
	ApplyTransfer(ctx context.Context, t Transfer) (Transfer, bool, error)
	GetTransfer(ctx context.Context, id string) (Transfer, error)
}

// Server is the service's HTTP API.
type Server struct {
	identity       Identity
	ledger         Ledger
	requestTimeout time.Duration
	draining       atomic.Bool
	now            func() time.Time
	handler        http.Handler
}

// NewServer serves ledger's accounts and transfers as identity; each
// request may take at most requestTimeout.
func NewServer(identity Identity, ledger Ledger, requestTimeout time.Duration) *Server {
	s := &Server{identity: identity, ledger: ledger, requestTimeout: requestTimeout, now: time.Now}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", s.healthz)
	mux.HandleFunc("GET /readyz", s.readyz)
	mux.HandleFunc("GET /version", s.version)
	mux.HandleFunc("PUT /accounts/{id}", s.openAccount)
	mux.HandleFunc("GET /accounts/{id}", s.getAccount)
	mux.HandleFunc("POST /transfers", s.postTransfer)
	mux.HandleFunc("GET /transfers/{id}", s.getTransfer)
	s.handler = s.withIdentityAndDeadline(mux)
	return s
}

// ServeHTTP serves the API.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handler.ServeHTTP(w, r) }

// StartDraining turns /readyz to 503 for good: the replica is shutting down
// and routers should stop sending, while it still serves what they send.
func (s *Server) StartDraining() { s.draining.Store(true) }

func (s *Server) withIdentityAndDeadline(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set(HeaderVersion, s.identity.Version)
		w.Header().Set(HeaderUnit, s.identity.Unit)
		ctx, cancel := context.WithTimeout(r.Context(), s.requestTimeout)
		defer cancel()
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

func (s *Server) healthz(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	if s.draining.Load() {
		writeError(w, http.StatusServiceUnavailable, "shutting down: in-flight requests are still served, send new ones elsewhere")
		return
	}
	if err := s.ledger.Ping(r.Context()); err != nil {
		writeError(w, http.StatusServiceUnavailable, "store unreachable: "+err.Error())
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
}

func (s *Server) version(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, s.identity)
}
