package netlab

import (
	"errors"
	"io"
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// HeaderBackend names the backend that answered.
const HeaderBackend = "X-Backend"

// Backend is a small HTTP server in a unit's namespace that answers every
// request with its name, in HeaderBackend and as the body.
type Backend struct {
	Name string
	Unit *Unit
	Port int
	hits atomic.Int64

	mu  sync.Mutex
	srv *http.Server
}

// StartBackend starts a backend named name on u's address and port.
func StartBackend(u *Unit, port int, name string) (*Backend, error) {
	b := &Backend{Name: name, Unit: u, Port: port}
	return b, b.Start()
}

// Addr is host:port.
func (b *Backend) Addr() string { return net.JoinHostPort(b.Unit.NetnsIP, strconv.Itoa(b.Port)) }

// Hits counts the requests answered.
func (b *Backend) Hits() int64 { return b.hits.Load() }

// Start listens again after Stop, on the same address.
func (b *Backend) Start() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.srv != nil {
		return errors.New("netlab: backend " + b.Name + " is running")
	}
	l, err := b.Unit.Listen(b.Port)
	if err != nil {
		return err
	}
	srv := &http.Server{
		ReadHeaderTimeout: 10 * time.Second,
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			b.hits.Add(1)
			_, _ = io.Copy(io.Discard, r.Body)
			w.Header().Set(HeaderBackend, b.Name)
			_, _ = io.WriteString(w, b.Name+"\n")
		}),
	}
	b.srv = srv
	go func() { _ = srv.Serve(l) }()
	return nil
}

// Stop closes the listener and every connection at once, as a crashed
// process would: new connections are refused, open ones reset.
func (b *Backend) Stop() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.srv != nil {
		_ = b.srv.Close()
		b.srv = nil
	}
}
