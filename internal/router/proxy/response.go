package proxy

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/textproto"
	"strings"
	"syscall"
	"time"
)

// maxResponseHeadLines bounds the number of lines in a response head,
// besides TransportOptions.MaxResponseHeaderBytes.
const maxResponseHeadLines = 1000

// upstreamResponse is a response whose head was read; its body streams from
// the connection. It lives in its connection and is valid until close.
type upstreamResponse struct {
	uc     *upstreamConn
	status int
	// fields are the head's fields, names in canonical form.
	fields []headerField
	// contentLength is -1 when the body is chunked or ends with the
	// connection.
	contentLength int64
	body          io.Reader
	keepAlive     bool
	// connection lists the Connection field's tokens, lowercased: the
	// hop-by-hop fields not to pass on.
	connection string

	stop          func() bool
	resetDeadline bool
	// idle, when not 0, bounds each read of a body not already buffered
	// (see Read); armed is when its deadline was last set, deadline the
	// request's, if hasDeadline, and ctx the exchange's.
	idle        time.Duration
	armed       time.Time
	deadline    time.Time
	hasDeadline bool
	ctx         context.Context
	// lb and cb back body, so a response costs no allocation of its own.
	lb lengthBody
	cb chunkedBody
}

func (r *upstreamResponse) Read(p []byte) (int, error) {
	if r.idle > 0 {
		if now := time.Now(); now.Sub(r.armed) > r.idle/8 {
			r.armIdle(now)
		}
	}
	return r.body.Read(p)
}

// armIdle gives the next reads of the body the idle timeout from now,
// within the request's deadline. It is moved only once an eighth of the
// timeout old, not before every read: a read always has at least seven
// eighths of it.
func (r *upstreamResponse) armIdle(now time.Time) {
	r.armed = now
	t := now.Add(r.idle)
	if r.hasDeadline && r.deadline.Before(t) {
		t = r.deadline
	}
	r.uc.setDeadline(r.ctx, false, t)
}

// close ends the exchange: a connection whose response was read to its end
// and whose deadline was not forced goes back to the pool, any other is
// closed. So is one holding bytes past the response (beyond its length, or
// a body where none belongs): they would be read as the answer to the next
// request, whoever sends it.
func (r *upstreamResponse) close() {
	uc := r.uc
	r.ctx = nil // no context outlives its exchange in the pool
	reusable := r.keepAlive && r.stop() && bodyDone(r.body) && uc.br.Buffered() == 0
	if reusable && r.resetDeadline {
		reusable = uc.conn.SetDeadline(noDeadline) == nil
	}
	if reusable {
		uc.pool.put(uc)
		return
	}
	_ = uc.conn.Close()
}

func bodyDone(body io.Reader) bool {
	switch b := body.(type) {
	case *lengthBody:
		return b.done()
	case *chunkedBody:
		return b.done()
	case noBody:
		return true
	}
	return false
}

// bodyBuffered reports whether the whole body is in the connection's
// buffer, so reading it makes no more reads on the connection.
func (r *upstreamResponse) bodyBuffered() bool {
	switch b := r.body.(type) {
	case noBody:
		return r.status != http.StatusSwitchingProtocols
	case *lengthBody:
		return int64(r.uc.br.Buffered()) >= b.remaining
	}
	return false
}

// noBody is the body of a response that has none by definition.
type noBody struct{}

func (noBody) Read([]byte) (int, error) { return 0, io.EOF }

// readResponse reads a response head, skipping interim 1xx responses other
// than 101, and sets up the body reader.
func (uc *upstreamConn) readResponse(headRequest bool) (*upstreamResponse, error) {
	limit := uc.pool.o.MaxResponseHeaderBytes
	for first := true; ; first = false {
		head, err := uc.readHead(limit)
		if err != nil {
			if first && uc.reused && len(uc.headBuf) == 0 && isClosedConn(err) {
				return nil, &peerClosedError{err: err}
			}
			return nil, err
		}
		resp := &uc.resp
		*resp = upstreamResponse{uc: uc, fields: uc.fields[:0]}
		if err := resp.parseHead(head); err != nil {
			return nil, err
		}
		uc.fields = resp.fields
		if resp.status >= 100 && resp.status < 200 && resp.status != 101 {
			continue
		}
		resp.frame(uc.br, headRequest)
		return resp, nil
	}
}

// readHead reads lines until the empty line that ends a head.
func (uc *upstreamConn) readHead(limit int64) (string, error) {
	uc.headBuf = uc.headBuf[:0]
	for lines := 0; ; {
		line, err := uc.br.ReadSlice('\n')
		uc.headBuf = append(uc.headBuf, line...)
		if int64(len(uc.headBuf)) > limit || lines > maxResponseHeadLines {
			return "", fmt.Errorf("response head exceeds %d bytes or %d lines", limit, maxResponseHeadLines)
		}
		switch {
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		case err != nil:
			return "", err
		}
		lines++
		if lines > 1 && (bytes.HasSuffix(uc.headBuf, []byte("\n\r\n")) || bytes.HasSuffix(uc.headBuf, []byte("\n\n"))) {
			return string(uc.headBuf), nil
		}
	}
}

func isClosedConn(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, syscall.ECONNRESET)
}

// parseHead parses a status line and header fields. Line endings may be
// CRLF or, as clients tolerate, bare LF; an obs-fold or a field without a
// name is an error, since the body's framing might hide behind it.
func (r *upstreamResponse) parseHead(head string) error {
	line, rest, _ := strings.Cut(head, "\n")
	line = strings.TrimSuffix(line, "\r")
	version, status, ok := strings.Cut(line, " ")
	if !ok || (version != "HTTP/1.1" && version != "HTTP/1.0") || len(status) < 3 {
		return fmt.Errorf("malformed status line %q", line)
	}
	code := 0
	for _, c := range []byte(status[:3]) {
		if c < '0' || c > '9' {
			return fmt.Errorf("malformed status line %q", line)
		}
		code = code*10 + int(c-'0')
	}
	if code < 100 || len(status) > 3 && status[3] != ' ' {
		return fmt.Errorf("malformed status line %q", line)
	}
	r.status = code
	r.keepAlive = version == "HTTP/1.1"
	r.contentLength = -1
	lengths, encodings, chunked := 0, 0, false
	for {
		line, rest, _ = strings.Cut(rest, "\n")
		line = strings.TrimSuffix(line, "\r")
		if line == "" {
			break
		}
		if line[0] == ' ' || line[0] == '\t' {
			return errors.New("obs-fold in a response head")
		}
		name, value, ok := strings.Cut(line, ":")
		if !ok || !isToken(name) {
			return fmt.Errorf("malformed response header line %q", line)
		}
		value = trimOWS(value)
		if !validFieldValue(value) {
			return fmt.Errorf("control character in response header %q", name)
		}
		name = textproto.CanonicalMIMEHeaderKey(name)
		switch name {
		case "Content-Length":
			n, ok := parseDecimal(value)
			if !ok || lengths > 0 && n != r.contentLength {
				return fmt.Errorf("bad Content-Length %q in response", value)
			}
			r.contentLength = n
			lengths++
		case "Transfer-Encoding":
			chunked = strings.EqualFold(value, "chunked")
			encodings++
		case "Connection":
			// Every Connection field counts: a close in any of them
			// ends the connection, and all of them name hop-by-hop
			// fields.
			if r.connection != "" {
				r.connection += ", "
			}
			r.connection += strings.ToLower(value)
		}
		r.fields = append(r.fields, headerField{name, value})
	}
	switch {
	case hasToken(r.connection, "close"):
		r.keepAlive = false
	case hasToken(r.connection, "keep-alive"):
		r.keepAlive = true
	}
	switch {
	case encodings > 0 && lengths > 0:
		// RFC 9112 section 6.3 lets the chunked encoding win, but a
		// response framed two ways is a response-splitting attempt or a
		// broken upstream either way: refuse it, as for requests.
		return errors.New("response has both Content-Length and Transfer-Encoding")
	case encodings > 1 || encodings == 1 && !chunked:
		return errors.New("unsupported Transfer-Encoding in response")
	case encodings > 0 && version == "HTTP/1.0":
		// RFC 9112 section 6.1: an HTTP/1.0 message with
		// Transfer-Encoding has faulty framing. net/http ignores the
		// field and reads the body to the connection's end, where
		// decoding it would take a different response: refuse it, as
		// for requests.
		return errors.New("Transfer-Encoding in an HTTP/1.0 response")
	case encodings == 1:
		r.cb = chunkedBody{}
		r.body = &r.cb
	}
	return nil
}

// hasBody reports whether the response has a body on the wire: not one to
// HEAD, nor a 1xx, 204 or 304, whose Content-Length describes the
// representation rather than framing anything.
func (r *upstreamResponse) hasBody() bool {
	_, none := r.body.(noBody)
	return !none
}

// frame sets up the body reader once the head is parsed.
func (r *upstreamResponse) frame(br *bufio.Reader, headRequest bool) {
	switch {
	case headRequest || r.status < 200 || r.status == 204 || r.status == 304:
		r.body, r.contentLength = noBody{}, 0
		if r.status == 101 {
			r.keepAlive = false
		}
	case r.body != nil:
		r.cb.r = br
	case r.contentLength >= 0:
		r.lb = lengthBody{r: br, remaining: r.contentLength}
		r.body = &r.lb
	default:
		// Delimited by the connection's end.
		r.body, r.keepAlive = br, false
	}
}
