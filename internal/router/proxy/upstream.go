package proxy

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"sync"
	"time"
)

func (h *Handler) newReverseProxy() *httputil.ReverseProxy {
	return &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			// The host is chosen per attempt by upstreamTransport; the
			// original Host header is kept so upstreams and peer routers
			// see the host the client asked for.
			pr.Out.URL.Scheme = "http"
			if xff := pr.In.Header["X-Forwarded-For"]; len(xff) > 0 {
				pr.Out.Header["X-Forwarded-For"] = xff
			}
			pr.SetXForwarded()
		},
		Transport:      &upstreamTransport{h: h},
		BufferPool:     copyBuffers{},
		ModifyResponse: h.modifyResponse,
		ErrorHandler:   h.proxyError,
		ErrorLog:       slog.NewLogLogger(h.logger.Handler(), slog.LevelWarn),
	}
}

// upstreamTransport picks the endpoint for each attempt and retries what is
// safe to retry.
type upstreamTransport struct {
	h *Handler
}

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

func (t *upstreamTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	ex := req.Context().Value(exchangeKey{}).(*exchange)
	h := t.h
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
		result := classify(req, resp, err)
		bodyRead, bodyErr := body.state()
		if bodyErr != nil && err != nil {
			// The client's body failed, not the upstream.
			err = &clientBodyError{err: bodyErr}
			result = attemptResult{kind: attemptFinal}
		}
		if ep != nil {
			if ep.record(h.outlier, result.failed, h.now()) {
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
	now := ex.h.now().UnixNano()
	ep := set.pick(now, tried)
	if ep == nil {
		return nil, "", &noEndpointError{route: ex.route.Name, unit: ex.h.unit, total: len(set.endpoints), ejected: len(set.endpoints) - set.readyCount(now)}
	}
	tried.add(ep)
	ep.inflight.Add(1)
	return ep, ep.addr, nil
}

// attempt sends one copy of req to addr.
func (h *Handler) attempt(ex *exchange, req *http.Request, addr string, body *trackedBody) (*http.Response, error) {
	out := *req
	u := *req.URL
	u.Host = addr
	out.URL = &u
	if body != nil {
		out.Body = body
	}
	d := ex.route.Timeouts.ResponseHeader
	if d <= 0 {
		return h.transport.RoundTrip(&out)
	}
	// A context deadline would also cut the response body; this timer
	// only covers the wait for headers.
	ctx, cancel := context.WithCancelCause(req.Context())
	timer := time.AfterFunc(d, func() { cancel(errResponseHeaderTimeout) })
	resp, err := h.transport.RoundTrip(out.WithContext(ctx))
	if !timer.Stop() && err != nil {
		err = fmt.Errorf("%w after %v", errResponseHeaderTimeout, d)
	}
	if err != nil {
		cancel(nil)
		return nil, err
	}
	resp.Body = &cancelOnClose{ReadCloser: resp.Body, cancel: func() { cancel(nil) }}
	return resp, nil
}

type cancelOnClose struct {
	io.ReadCloser
	cancel func()
}

func (c *cancelOnClose) Close() error {
	err := c.ReadCloser.Close()
	c.cancel()
	return err
}

// trackedBody records whether the transport read the request body, which
// decides whether the body can be sent again, and any error reading it,
// which is the client's fault, not the upstream's. Close is a no-op: the
// server closes the real body when the handler returns, and the transport
// may close a body after RoundTrip returns, which must not end a retry.
type trackedBody struct {
	body io.ReadCloser
	mu   sync.Mutex
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
	b.mu.Lock()
	b.read = true
	if err != nil && err != io.EOF {
		b.err = err
	}
	b.mu.Unlock()
	return n, err
}

func (b *trackedBody) Close() error { return nil }

func (b *trackedBody) state() (read bool, err error) {
	if b == nil {
		return false, nil
	}
	b.mu.Lock()
	defer b.mu.Unlock()
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

func classify(req *http.Request, resp *http.Response, err error) attemptResult {
	if err != nil {
		var tooLarge *http.MaxBytesError
		var opErr *net.OpError
		switch {
		case errors.As(err, &tooLarge), errors.Is(req.Context().Err(), context.Canceled):
			return attemptResult{kind: attemptFinal}
		case errors.Is(req.Context().Err(), context.DeadlineExceeded):
			return attemptResult{failed: true, kind: attemptFinal}
		case errors.As(err, &opErr) && opErr.Op == "dial":
			return attemptResult{failed: true, kind: attemptNotConnected}
		}
		return attemptResult{failed: true, kind: attemptTransient}
	}
	switch resp.StatusCode {
	case http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return attemptResult{failed: true, kind: attemptTransient}
	}
	if resp.StatusCode >= 500 {
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
func discard(resp *http.Response) {
	if resp == nil {
		return
	}
	_, _ = io.CopyN(io.Discard, resp.Body, 64<<10)
	_ = resp.Body.Close()
}

// copyBuffers pools the reverse proxy's 32 KiB copy buffers.
type copyBuffers struct{}

var copyBufferPool = sync.Pool{New: func() any { b := make([]byte, 32<<10); return &b }}

func (copyBuffers) Get() []byte  { return *copyBufferPool.Get().(*[]byte) }
func (copyBuffers) Put(b []byte) { copyBufferPool.Put(&b) }
