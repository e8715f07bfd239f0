package proxy

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"strconv"
	"time"
)

// recorder remembers the status written through it. Unwrap lets
// http.ResponseController reach the server's writer for Flush and Hijack.
type recorder struct {
	http.ResponseWriter
	status int
}

func (r *recorder) WriteHeader(code int) {
	if r.status == 0 && code >= 200 {
		r.status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *recorder) Write(p []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.ResponseWriter.Write(p)
}

func (r *recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// reject answers a request the router will not pass on, with a plain-text
// body that says why.
func (h *Handler) reject(ex *exchange, status int, reason string) {
	body := fmt.Sprintf("%d %s: %s\n", status, http.StatusText(status), reason)
	header := ex.rec.Header()
	header["Content-Type"] = []string{"text/plain; charset=utf-8"}
	header["Content-Length"] = []string{strconv.Itoa(len(body))}
	header["X-Content-Type-Options"] = []string{"nosniff"}
	header[HeaderUnit] = h.unitHeader
	header[HeaderRequestID] = []string{ex.requestID}
	ex.rec.WriteHeader(status)
	_, _ = io.WriteString(&ex.rec, body)
}

// proxyError turns a failed exchange into a response. Bodies name units and
// routes, never upstream addresses, which stay in the log.
func (h *Handler) proxyError(ex *exchange, err error) {
	ex.err = err
	var noEndpoint *noEndpointError
	var tooLarge *http.MaxBytesError
	var badBody *clientBodyError
	switch {
	case errors.As(err, &noEndpoint):
		h.reject(ex, http.StatusServiceUnavailable, noEndpoint.Error()+ex.failoverNote())
	case errors.As(err, &tooLarge):
		h.reject(ex, http.StatusRequestEntityTooLarge, fmt.Sprintf("request body exceeds the limit of %d bytes", tooLarge.Limit))
	case errors.Is(ex.ctx.Err(), context.Canceled):
		// The client is gone; 499 (client closed request) is only recorded.
		// The connection is aborted, not answered: a watcher takes a
		// client that only half-closed (its FIN looks the same as a close)
		// for gone, and the writer would otherwise complete the empty
		// response with a made-up 200 that a client still reading would
		// take for the upstream's success.
		ex.rec.status = 499
		ex.abort, ex.abortReason = true, abortClientGone
	case ex.pastDeadline():
		// Before a body error: the deadline interrupts a stalled body.
		h.reject(ex, http.StatusGatewayTimeout, fmt.Sprintf("route %q did not answer within its %v request timeout", ex.route.Name, ex.route.Timeouts.Request))
	case errors.As(err, &badBody):
		h.reject(ex, http.StatusBadRequest, "the request body is malformed or was cut short")
	case errors.Is(err, errResponseHeaderTimeout):
		h.reject(ex, http.StatusGatewayTimeout, fmt.Sprintf("%s did not send response headers within %v (%d attempts)%s", ex.targetDescription(), ex.route.Timeouts.ResponseHeader, ex.attempts, ex.failoverNote()))
	default:
		h.reject(ex, http.StatusBadGateway, fmt.Sprintf("%s failed (%d attempts)%s", ex.targetDescription(), ex.attempts, ex.failoverNote()))
	}
}

// failoverNote tells the client why a request this unit failed was not
// tried on its failover unit.
func (ex *exchange) failoverNote() string {
	if ex.noFailover == "" {
		return ""
	}
	return "; it was not sent to a failover unit because " + ex.noFailover
}

func (ex *exchange) targetDescription() string {
	if ex.failedOver {
		return fmt.Sprintf("the router of unit %q, tried as failover after unit %q failed,", ex.target.Name, ex.h.unit)
	}
	if ex.forward {
		return fmt.Sprintf("the router of unit %q", ex.target.Name)
	}
	return fmt.Sprintf("the upstream of route %q in unit %q", ex.route.Name, ex.h.unit)
}

// ensureRequestID keeps a sane client request ID and replaces a missing or
// unsafe one (too long, or bytes outside visible ASCII) with a random one.
func ensureRequestID(r *http.Request) string {
	if ids := r.Header[HeaderRequestID]; len(ids) == 1 && validRequestID(ids[0]) {
		return ids[0]
	}
	var raw [16]byte
	for i := 0; i < len(raw); i += 8 {
		x := rand.Uint64()
		for j := 0; j < 8; j++ {
			raw[i+j] = byte(x >> (8 * j))
		}
	}
	id := hex.EncodeToString(raw[:])
	r.Header[HeaderRequestID] = []string{id}
	return id
}

func validRequestID(id string) bool {
	if id == "" || len(id) > 128 {
		return false
	}
	for i := 0; i < len(id); i++ {
		if id[i] < 0x21 || id[i] > 0x7e {
			return false
		}
	}
	return true
}

func (h *Handler) sampled() bool {
	switch {
	case h.sampleRate <= 0:
		return false
	case h.sampleRate >= 1:
		return true
	}
	return h.random() < h.sampleRate
}

func (h *Handler) logAccess(r *http.Request, ex *exchange, route string, elapsed time.Duration) {
	attrs := []slog.Attr{
		slog.String("request_id", ex.requestID),
		slog.String("method", r.Method),
		slog.String("host", r.Host),
		slog.String("path", r.URL.Path),
		slog.String("route", route),
		slog.String("shard_map", ex.shardMap),
		slog.Int64("epoch", ex.epoch),
		slog.String("shard_group", ex.group),
		slog.String("unit", h.unit),
		slog.String("served_by", ex.target.Name),
		slog.Bool("forwarded", ex.forward),
		slog.Int("status", ex.rec.status),
		slog.Int64("duration_us", elapsed.Microseconds()),
		slog.Int("attempts", ex.attempts),
		slog.String("upstream", ex.upstream),
	}
	if ex.forwardedBy != "" {
		attrs = append(attrs, slog.String("forwarded_by", ex.forwardedBy))
	}
	if ex.failoverFrom != "" {
		attrs = append(attrs, slog.String("failover_from", ex.failoverFrom))
	}
	if ex.failedOver {
		attrs = append(attrs, slog.Bool("failed_over", true))
	}
	if ex.err != nil {
		attrs = append(attrs, slog.String("error", ex.err.Error()))
	}
	h.logger.LogAttrs(r.Context(), slog.LevelInfo, "access", attrs...)
}
