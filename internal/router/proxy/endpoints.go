package proxy

import (
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"
)

// endpoint is one upstream address of this router's unit. Its outlier
// history survives endpoint-set updates that keep the address.
type endpoint struct {
	addr     string
	inflight atomic.Int64
	// ejectedUntil is a Unix-nanosecond deadline read lock-free on the hot
	// path; mu guards the history that decides it.
	ejectedUntil atomic.Int64
	// ejectedAt is when the latest ejection began, which orders endpoints
	// in panic mode.
	ejectedAt atomic.Int64
	mu        sync.Mutex
	history   outlierState
	// clean is set while history is empty and the endpoint not ejected.
	clean atomic.Bool
}

func (e *endpoint) ready(now int64) bool { return e.ejectedUntil.Load() <= now }

// record applies one attempt's outcome and reports whether it ejected e.
func (e *endpoint) record(policy OutlierPolicy, failed bool, now func() time.Time) bool {
	if !failed && e.clean.Load() {
		return false // the common case: nothing to forget, no lock
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	var ejectFor time.Duration
	e.history, ejectFor = policy.next(e.history, failed)
	e.clean.Store(!failed)
	switch {
	case ejectFor > 0:
		at := now()
		e.ejectedAt.Store(at.UnixNano())
		e.ejectedUntil.Store(at.Add(ejectFor).UnixNano())
		return true
	case !failed && e.ejectedUntil.Load() != 0:
		// A success, most likely in panic mode, ends the ejection as it
		// ends the failure history.
		e.ejectedUntil.Store(0)
	}
	return false
}

// endpointSet is an immutable list of endpoints, swapped whole.
type endpointSet struct {
	endpoints []*endpoint
}

// endpointPool holds a route's current endpoint set.
type endpointPool struct {
	set atomic.Pointer[endpointSet]
}

// replace installs addrs, reusing endpoints (and their ejection state) for
// addresses already present, and returns the addresses dropped.
func (p *endpointPool) replace(addrs []string) (dropped []string) {
	old := map[string]*endpoint{}
	if s := p.set.Load(); s != nil {
		for _, e := range s.endpoints {
			old[e.addr] = e
		}
	}
	next := &endpointSet{}
	seen := map[string]bool{}
	for _, a := range addrs {
		if seen[a] {
			continue
		}
		seen[a] = true
		e := old[a]
		if e == nil {
			e = &endpoint{addr: a}
		}
		next.endpoints = append(next.endpoints, e)
	}
	p.set.Store(next)
	for a := range old {
		if !seen[a] {
			dropped = append(dropped, a)
		}
	}
	return dropped
}

// maxAttempts bounds attempts per request, which lets the tried list live in
// a fixed array instead of a heap slice.
const maxAttempts = 6

type triedList struct {
	n   int
	eps [maxAttempts]*endpoint
}

func (t *triedList) add(e *endpoint) {
	if t.n < maxAttempts {
		t.eps[t.n] = e
		t.n++
	}
}

func (t *triedList) has(e *endpoint) bool {
	for i := 0; i < t.n; i++ {
		if t.eps[i] == e {
			return true
		}
	}
	return false
}

// pick chooses an endpoint by the power of two choices: two random ready
// endpoints not tried yet, the one with fewer requests in flight. When every
// ready endpoint was tried it falls back to a tried one, because a retry
// after a connection failure may well succeed on the same address. When
// every endpoint is ejected it panics, as Envoy does: an ejection is a guess
// from past failures, and trying the endpoint ejected longest ago beats
// failing for sure. It returns nil when every endpoint is ejected and tried.
func (s *endpointSet) pick(now int64, tried *triedList) *endpoint {
	n := len(s.endpoints)
	if n == 0 {
		return nil
	}
	usable := func(e *endpoint) bool { return e.ready(now) && !tried.has(e) }
	if n > 1 {
		i, j := rand.IntN(n), rand.IntN(n-1)
		if j >= i {
			j++
		}
		a, b := s.endpoints[i], s.endpoints[j]
		switch ua, ub := usable(a), usable(b); {
		case ua && ub:
			if b.inflight.Load() < a.inflight.Load() {
				return b
			}
			return a
		case ua:
			return a
		case ub:
			return b
		}
	}
	start := rand.IntN(n)
	for k := 0; k < n; k++ {
		if e := s.endpoints[(start+k)%n]; usable(e) {
			return e
		}
	}
	for k := 0; k < n; k++ {
		if e := s.endpoints[(start+k)%n]; e.ready(now) {
			return e
		}
	}
	return s.leastRecentlyEjected(tried)
}

// leastRecentlyEjected is panic mode's choice: the untried endpoint whose
// latest ejection is oldest.
func (s *endpointSet) leastRecentlyEjected(tried *triedList) *endpoint {
	var best *endpoint
	for _, e := range s.endpoints {
		if !tried.has(e) && (best == nil || e.ejectedAt.Load() < best.ejectedAt.Load()) {
			best = e
		}
	}
	return best
}

// readyCount counts endpoints not ejected, for error messages.
func (s *endpointSet) readyCount(now int64) int {
	ready := 0
	for _, e := range s.endpoints {
		if e.ready(now) {
			ready++
		}
	}
	return ready
}
