package proxy

import (
	"errors"
	"io"
	"net/http"
	"os"
	"strconv"
)

// relay sends the upstream's response to the client: its fields minus
// hop-by-hop ones, the serving unit and request ID, then the body. A body
// of unknown length is flushed as it arrives, so streams stay live.
func (h *Handler) relay(ex *exchange, w http.ResponseWriter, r *http.Request, resp *upstreamResponse) {
	header := w.Header()
	hasBody := resp.hasBody()
	// One backing array for the fields' values, and the length's: a
	// slice per field would cost an allocation each.
	values := make([]string, 0, len(resp.fields)+1)
	for _, f := range resp.fields {
		if hopByHop(f.name) || resp.connection != "" && hasToken(resp.connection, f.name) {
			continue
		}
		if hasBody && f.name == "Content-Length" {
			// The body's framing is the router's, from what it read:
			// an upstream's length never frames what the client gets.
			continue
		}
		values = appendValue(header, values, f.name, f.value)
	}
	h.stampResponse(ex, header, r)
	if resp.status == http.StatusSwitchingProtocols {
		h.relayUpgrade(ex, w, r, resp)
		return
	}
	if hasBody && resp.contentLength >= 0 {
		values = appendValue(header, values, "Content-Length", strconv.FormatInt(resp.contentLength, 10))
	}
	ex.rec.WriteHeader(resp.status)
	streaming := resp.contentLength < 0
	buf := copyBufferPool.Get().(*[]byte)
	defer copyBufferPool.Put(buf)
	for {
		n, err := resp.Read(*buf)
		if n > 0 {
			if _, werr := ex.rec.Write((*buf)[:n]); werr != nil {
				ex.err, ex.abort, ex.abortReason = werr, true, abortOf(werr, abortClientStalled, abortClientGone)
				return
			}
			if streaming {
				_ = http.NewResponseController(&ex.rec).Flush()
			}
		}
		if errors.Is(err, io.EOF) {
			return
		}
		if err != nil {
			// The client got a head promising a body it will not get
			// whole: its connection must end.
			ex.err, ex.abort, ex.abortReason = err, true, abortOf(err, abortUpstreamStalled, abortUpstreamBroken)
			return
		}
	}
}

// abortReason says why a response was cut short.
type abortReason string

const (
	abortClientGone      abortReason = "client_gone"
	abortClientStalled   abortReason = "client_stalled"
	abortUpstreamStalled abortReason = "upstream_stalled"
	abortUpstreamBroken  abortReason = "upstream_broken"
)

// abortOf tells a stall (a body idle deadline passed) from other failures.
func abortOf(err error, stalled, other abortReason) abortReason {
	if errors.Is(err, os.ErrDeadlineExceeded) {
		return stalled
	}
	return other
}

// appendValue adds a field's value to header, in values' backing array
// when the field is new, and returns values.
func appendValue(header http.Header, values []string, name, value string) []string {
	if prior, ok := header[name]; ok {
		header[name] = append(prior, value)
		return values
	}
	values = append(values, value)
	n := len(values)
	header[name] = values[n-1 : n : n]
	return values
}

// stampResponse names the serving unit and the request ID. A peer router
// stamps its own unit, which is kept; its absence means an older router,
// so the target's name stands in.
func (h *Handler) stampResponse(ex *exchange, header http.Header, r *http.Request) {
	switch {
	case !ex.forward:
		header[HeaderUnit] = h.unitHeader
	case len(header[HeaderUnit]) == 0:
		header[HeaderUnit] = []string{ex.target.Name}
	}
	if id := r.Header[HeaderRequestID]; len(id) > 0 {
		header[HeaderRequestID] = id
	}
}

// relayUpgrade joins the client's and the upstream's connections once the
// upstream switched protocols, and copies bytes both ways until either
// side ends.
func (h *Handler) relayUpgrade(ex *exchange, w http.ResponseWriter, r *http.Request, resp *upstreamResponse) {
	up := upgradeType(r.Header)
	if up == "" {
		clear(w.Header())
		h.reject(ex, http.StatusBadGateway, "the upstream switched protocols without being asked to")
		return
	}
	client, brw, err := http.NewResponseController(w).Hijack()
	if err != nil {
		clear(w.Header())
		h.reject(ex, http.StatusBadGateway, "this connection cannot switch protocols")
		return
	}
	defer client.Close()
	ex.rec.status = http.StatusSwitchingProtocols
	header := w.Header()
	header["Connection"], header["Upgrade"] = []string{"Upgrade"}, []string{up}
	_, _ = brw.WriteString("HTTP/1.1 101 Switching Protocols\r\n")
	_ = header.Write(brw)
	_, _ = brw.WriteString("\r\n")
	if err := brw.Flush(); err != nil {
		return
	}
	stopInspecting(r.Context())
	upstream := resp.uc.conn
	defer upstream.Close()
	// When either direction ends, both connections close, which ends the
	// other copy.
	done := make(chan struct{}, 2)
	go func() {
		_, _ = io.Copy(upstream, brw.Reader)
		done <- struct{}{}
	}()
	go func() {
		_, _ = io.Copy(client, resp.uc.br)
		done <- struct{}{}
	}()
	<-done
	_ = client.Close()
	_ = upstream.Close()
	<-done
}
