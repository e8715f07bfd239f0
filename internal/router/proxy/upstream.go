package proxy

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
)

// errResponseHeaderTimeout is the cause when an attempt's response headers
// did not arrive within the route's ResponseHeader timeout.
var errResponseHeaderTimeout = errors.New("timed out awaiting response headers")

// noEndpointError means this unit has no ready endpoint for the route.
type noEndpointError struct {
	route, unit    string
	total, ejected int
}

func (e *noEndpointError) Error() string {
	if e.total == 0 {
		return fmt.Sprintf("unit %q has no endpoints for route %q", e.unit, e.route)
	}
	return fmt.Sprintf("unit %q has no usable endpoint for route %q: all %d endpoints are ejected after repeated failures and were tried anyway", e.unit, e.route, e.total)
}

// roundTrip sends the request to this unit's endpoints (or the owning
// unit's router), retrying what is safe to retry, and fails it over to the
// unit's failoverTo when this unit cannot serve it.
func (h *Handler) roundTrip(ex *exchange, req *http.Request) (*upstreamResponse, error) {
	body := trackBody(req)
	var tried triedList

	ep, addr, err := ex.next(&tried)
	if err != nil {
		ex.err = err
		target, why := ex.failoverTarget(req, false)
		if why != "" {
			ex.noFailover = why
			return nil, err
		}
		return h.failOver(ex, req, target, body)
	}
	for attempt := 0; ; attempt++ {
		ex.attempts++
		ex.upstream = addr
		resp, err := h.attempt(ex, req, addr, body)
		result := ex.classify(resp, err)
		bodyRead, bodyErr := body.state()
		if bodyErr != nil && err != nil {
			// The client's body failed, not the upstream.
			err = &clientBodyError{err: bodyErr}
			result = attemptResult{kind: attemptFinal}
		}
		if ep != nil {
			if ep.record(h.outlier, result.failed, h.now) {
				h.metrics.ejected(ex.route.Name)
			}
		}
		if err != nil {
			ex.err = err
		}
		retry := attempt < ex.route.Retries.Attempts && retryAllowed(req.Method, bodyRead, result)
		var nextEp *endpoint
		var nextAddr string
		if retry {
			var nextErr error
			if nextEp, nextAddr, nextErr = ex.next(&tried); nextErr != nil {
				retry = false
			}
		}
		if !retry {
			// A peer router's failure is not this unit's: only what this
			// unit failed to serve fails over.
			if unitFailed(result) && !ex.forward {
				target, why := ex.failoverTarget(req, bodyRead)
				if why == "" {
					if ep != nil {
						ep.inflight.Add(-1)
					}
					discard(resp)
					return h.failOver(ex, req, target, body)
				}
				ex.noFailover = why
			}
			ex.chosen = ep
			return resp, err
		}
		if ep != nil {
			ep.inflight.Add(-1)
		}
		discard(resp)
		ep, addr = nextEp, nextAddr
	}
}

// unitFailed reports an attempt that says more about this unit than about
// the request: nothing was sent, or the upstream failed in a way another
// unit's copy of the application may not.
func unitFailed(r attemptResult) bool {
	return r.kind == attemptNotConnected || r.kind == attemptTransient
}

// next returns the next attempt's target: the peer router when forwarding,
// else a ready endpoint of this unit (counted in flight).
func (ex *exchange) next(tried *triedList) (*endpoint, string, error) {
	if ex.forward {
		return nil, ex.target.RouterAddress, nil
	}
	set := ex.route.pool.set.Load()
	if set == nil {
		set = &endpointSet{}
	}
	now := ex.start.UnixNano()
	ep := set.pick(now, tried)
	if ep == nil {
		return nil, "", &noEndpointError{route: ex.route.Name, unit: ex.h.unit, total: len(set.endpoints), ejected: len(set.endpoints) - set.readyCount(now)}
	}
	tried.add(ep)
	ep.inflight.Add(1)
	return ep, ep.addr, nil
}

// attempt sends one copy of req to addr.
func (h *Handler) attempt(ex *exchange, req *http.Request, addr string, body *trackedBody) (*upstreamResponse, error) {
	out := &upstreamRequest{
		replayable:     replayable(req),
		noResponseBody: req.Method == http.MethodHead,
		headerTimeout:  ex.route.Timeouts.ResponseHeader,
	}
	if body != nil {
		// A body without a positive length (HTTP/2 need not declare
		// one) goes chunked.
		out.body, out.bodyLength = body, req.ContentLength
		if out.bodyLength <= 0 {
			out.bodyLength = -1
		}
	}
	if out.headerTimeout <= 0 {
		out.headerTimeout = h.upstreams.o.ResponseHeaderTimeout
	}
	buf := headBufferPool.Get().(*[]byte)
	defer headBufferPool.Put(buf)
	*buf = appendRequestHead((*buf)[:0], req, out.body != nil, out.bodyLength)
	out.head = *buf
	return h.upstreams.roundTrip(ex.ctx, addr, out, body)
}

// trackedBody records whether an attempt read the request body, which
// decides whether the body can be sent again, and any error reading it,
// which is the client's fault, not the upstream's.
type trackedBody struct {
	body io.Reader
	read bool
	err  error
}

func trackBody(req *http.Request) *trackedBody {
	if req.Body == nil || req.Body == http.NoBody {
		return nil
	}
	return &trackedBody{body: req.Body}
}

func (b *trackedBody) Read(p []byte) (int, error) {
	n, err := b.body.Read(p)
	b.read = true
	if err != nil && err != io.EOF {
		b.err = err
	}
	return n, err
}

func (b *trackedBody) state() (read bool, err error) {
	if b == nil {
		return false, nil
	}
	return b.read, b.err
}

// clientBodyError is a failure to read the client's request body: it was
// malformed, cut short or too large.
type clientBodyError struct{ err error }

func (e *clientBodyError) Error() string { return "reading the request body: " + e.err.Error() }
func (e *clientBodyError) Unwrap() error { return e.err }

// attemptResult is how one attempt went.
type attemptResult struct {
	// failed counts against the endpoint for outlier ejection.
	failed bool
	// kind decides whether a retry is allowed.
	kind attemptKind
}

type attemptKind int

const (
	attemptSucceeded attemptKind = iota
	// attemptNotConnected failed before a connection existed, so nothing
	// was sent: any method can be retried.
	attemptNotConnected
	// attemptTransient failed in a way another endpoint may not (a reset
	// connection, a header timeout, 502/503/504): retry only requests that
	// are idempotent and whose body was not consumed.
	attemptTransient
	// attemptFinal must not be retried: an application error, or the
	// client went away, or the request's own deadline or body limit hit.
	attemptFinal
)

func (ex *exchange) classify(resp *upstreamResponse, err error) attemptResult {
	if err != nil {
		var tooLarge *http.MaxBytesError
		var opErr *net.OpError
		switch {
		case errors.As(err, &tooLarge), errors.Is(ex.ctx.Err(), context.Canceled):
			return attemptResult{kind: attemptFinal}
		case ex.pastDeadline():
			return attemptResult{failed: true, kind: attemptFinal}
		case errors.As(err, &opErr) && opErr.Op == "dial":
			return attemptResult{failed: true, kind: attemptNotConnected}
		}
		return attemptResult{failed: true, kind: attemptTransient}
	}
	switch resp.status {
	case http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return attemptResult{failed: true, kind: attemptTransient}
	}
	if resp.status >= 500 {
		return attemptResult{failed: true, kind: attemptFinal}
	}
	return attemptResult{kind: attemptSucceeded}
}

// retryAllowed is the retry policy: a request that never reached an
// upstream is always safe to send again; otherwise only an idempotent
// request whose body was not consumed, after a transient failure.
func retryAllowed(method string, bodyRead bool, r attemptResult) bool {
	switch r.kind {
	case attemptNotConnected:
		return !bodyRead
	case attemptTransient:
		return idempotent(method) && !bodyRead
	}
	return false
}

func idempotent(method string) bool {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodTrace, http.MethodPut, http.MethodDelete:
		return true
	}
	return false
}

// discard drains a little of a response that will be retried, so its
// connection can be reused, and closes it.
func discard(resp *upstreamResponse) {
	if resp == nil {
		return
	}
	_, _ = io.CopyN(io.Discard, resp, 64<<10)
	resp.close()
}
