package proxy

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/http"
	"net/textproto"
	"net/url"
	"runtime/debug"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"
)

// h2Preface starts every HTTP/2 connection with prior knowledge.
const h2Preface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"

// maxDrainBytes is how much of an unread request body is read and dropped
// to keep a connection for the next request; beyond it the connection
// closes, as net/http does.
const maxDrainBytes = 256 << 10

// frontConn is one client connection on the lean path, with everything a
// request needs reused from one request to the next.
type frontConn struct {
	s *Server
	// raw is the accepted connection, which the server closes or wakes:
	// c, what requests are read from, changes with TLS.
	raw net.Conn
	c   net.Conn
	// wc is c with every write bounded by the body idle timeout: bw
	// writes to it, and connections handed to net/http are built on it.
	wc  idleWriteConn
	br  *bufio.Reader
	bw  *bufio.Writer
	tls *tls.ConnectionState
	// remoteAddr is the client's address, formatted once.
	remoteAddr string
	idle       atomic.Bool
	// handedOff is set once net/http owns the connection.
	handedOff bool
	// refused is set once an error answer ends the connection: the client
	// may still be sending the rest of its request.
	refused bool
	// ctx is every request's context, carrying watch: it ends when the
	// client goes away mid-request (see startWatch) or the connection
	// ends. reqBase is a request carrying it, which each request starts
	// from.
	ctx     context.Context
	cancel  context.CancelFunc
	reqBase http.Request
	watch   clientWatch
	// watching is set while a request is watched for the client's end;
	// hangupID is the connection's id with the hang-up watcher (0: none,
	// a goroutine watches, and watched carries what it read).
	watchable, watching bool
	hangupID            uint64
	hangupRaw           syscall.RawConn
	watched             chan error

	headBuf []byte
	fields  []headerField
	values  []string
	header  http.Header
	url     url.URL
	req     http.Request
	lb      lengthBody
	cb      chunkedBody
	// body is the current request's body as read from the connection,
	// whatever the handler wrapped it in; fb is what the handler gets.
	body io.Reader
	fb   frontBody
	w    frontWriter
}

func newFrontConn(s *Server, c net.Conn) *frontConn {
	fc := &frontConn{s: s, raw: c, header: http.Header{}, remoteAddr: c.RemoteAddr().String(), watched: make(chan error, 1)}
	ctx, cancel := context.WithCancel(context.Background())
	fc.ctx, fc.cancel = context.WithValue(ctx, clientWatchKey{}, &fc.watch), cancel
	fc.watch.cancel = cancel
	fc.reqBase = *fc.reqBase.WithContext(fc.ctx)
	fc.fb.fc = fc
	fc.setConn(c)
	fc.w.fc = fc
	fc.w.header = http.Header{}
	fc.cb.onMalformed = func() { s.o.OnRefuse(RefuseMalformedHead) }
	return fc
}

func (fc *frontConn) setConn(c net.Conn) {
	fc.c = c
	fc.wc.Conn, fc.wc.idle = c, fc.s.o.BodyIdleTimeout
	fc.br = bufio.NewReaderSize(c, 4<<10)
	fc.bw = bufio.NewWriterSize(&fc.wc, 4<<10)
}

// idleWriteConn bounds every write to a client by the body idle timeout: a
// client that stops reading fills the socket buffers, and a write that
// makes no progress for that long fails, which ends the connection and the
// exchange whose response it carried. Setting a deadline on every write
// would cost the lean path a timer update per response, so the deadline is
// moved only when it is an eighth of the timeout old: a write always starts
// with at least seven eighths of it ahead, as nginx's send_timeout bounds
// the time between two writes.
type idleWriteConn struct {
	net.Conn
	idle time.Duration
	// armed is when the write deadline was last set, in Unix
	// nanoseconds; atomic, since net/http may write from more than one
	// goroutine on a connection handed to it.
	armed atomic.Int64
}

func (c *idleWriteConn) Write(p []byte) (int, error) {
	now := time.Now()
	if ns := now.UnixNano(); ns-c.armed.Load() > int64(c.idle/8) {
		c.armed.Store(ns)
		_ = c.Conn.SetWriteDeadline(now.Add(c.idle))
	}
	return c.Conn.Write(p)
}

func (fc *frontConn) serve() {
	defer func() {
		if p := recover(); p != nil && p != http.ErrAbortHandler {
			fc.s.o.Logger.Error("panic serving a request", "panic", p, "stack", string(debug.Stack()))
		}
		fc.stopWatch()
		fc.unwatchHangups()
		fc.cancel()
		if !fc.handedOff {
			if fc.refused {
				drainBeforeClose(fc.c)
			}
			_ = fc.c.Close()
		}
		fc.s.forget(fc)
	}()
	if fc.s.o.TLSConfig != nil && !fc.startTLS() {
		return
	}
	if fc.tls == nil {
		// A TLS client's close_notify arrives as bytes to read, which the
		// hang-up watcher cannot tell from a pipelined request.
		fc.watchHangups()
	}
	for first := true; fc.waitForRequest(first); first = false {
		if first && fc.tls == nil && fc.startsH2() {
			_ = fc.c.SetReadDeadline(noDeadline)
			fc.handOff(&replayConn{Conn: &fc.wc, r: fc.br})
			return
		}
		if !fc.serveRequest() {
			return
		}
	}
}

// waitForRequest waits for a request's first byte, within the idle
// timeout, and reports false when the connection should close. A new
// connection gets the read-header timeout instead: one that sends nothing
// must not hold a connection as long as a client between requests.
func (fc *frontConn) waitForRequest(first bool) bool {
	if fc.br.Buffered() > 0 {
		return !fc.s.closing.Load()
	}
	wait := fc.s.o.IdleTimeout
	if first {
		wait = fc.s.o.ReadHeaderTimeout
	}
	fc.idle.Store(true)
	_ = fc.c.SetReadDeadline(time.Now().Add(wait))
	if fc.s.closing.Load() {
		fc.idle.Store(false)
		return false
	}
	_, err := fc.br.Peek(1)
	fc.idle.Store(false)
	return err == nil && !fc.s.closing.Load()
}

// startsH2 reports whether the connection starts with the HTTP/2 preface.
// Only bytes that could begin the preface are waited for: an HTTP/1
// request line differs within its first few bytes.
func (fc *frontConn) startsH2() bool {
	got, _ := fc.br.Peek(min(fc.br.Buffered(), len(h2Preface)))
	if !strings.HasPrefix(h2Preface, string(got)) {
		return false
	}
	_ = fc.c.SetReadDeadline(time.Now().Add(fc.s.o.ReadHeaderTimeout))
	got, err := fc.br.Peek(len(h2Preface))
	return err == nil && string(got) == h2Preface
}

// serveRequest reads, routes and answers one request. It reports whether
// the connection can carry another.
func (fc *frontConn) serveRequest() bool {
	o := &fc.s.o
	if !fc.headBuffered() {
		// The defence against slowloris: the idle deadline no longer
		// applies once a request began.
		_ = fc.c.SetReadDeadline(time.Now().Add(o.ReadHeaderTimeout))
	}
	head, refusal, err := fc.readHead()
	switch {
	case errors.Is(err, errHeadTooLarge):
		fc.writeError(http.StatusRequestHeaderFieldsTooLarge, "")
		return false
	case err != nil:
		return false // a timeout or a client gone: nothing to answer
	case refusal != "":
		o.OnRefuse(refusal)
		fc.writeError(http.StatusBadRequest, "")
		return false
	}
	rh, refusal := parseRequestHead(head, fc.fields)
	fc.fields = rh.fields
	switch {
	case refusal != "":
		o.OnRefuse(refusal)
		fc.writeError(http.StatusBadRequest, "")
		return false
	case needsNetHTTP(&rh):
		_ = fc.c.SetReadDeadline(noDeadline)
		fc.handOff(fc.guard(head))
		return false
	case rh.hosts != 1:
		fc.writeError(http.StatusBadRequest, "a request needs exactly one Host header")
		return false
	}
	r, ok := fc.request(&rh)
	if !ok {
		fc.writeError(http.StatusBadRequest, "malformed request target")
		return false
	}
	if fc.body != nil {
		// Bodies may stream for long; route timeouts bound them, by a
		// read deadline in the past when they end (see interruptBody).
		// Without one, nothing reads the connection until the next
		// request, which sets its own deadline.
		_ = fc.c.SetReadDeadline(noDeadline)
	}
	// A client that said it sends nothing more (Connection: close) may
	// shut down its side at once, which is no sign that it is gone.
	fc.watchable = !rh.close
	if fc.body == nil {
		fc.startWatch()
	}
	fc.w.reset(&rh, fc.s.closing.Load())
	fc.s.handler.ServeHTTP(&fc.w, r)
	fc.stopWatch()
	if !fc.w.finish() || rh.close || fc.w.closeAfter {
		return false
	}
	return fc.drainBody()
}

// headBuffered reports whether a whole request head already arrived, so
// reading it needs no deadline of its own.
func (fc *frontConn) headBuffered() bool {
	buffered, _ := fc.br.Peek(fc.br.Buffered())
	return bytes.Contains(buffered, []byte("\r\n\r\n"))
}

var errHeadTooLarge = errors.New("request head too large")

// readHead reads a request head line by line. Every line must end in CRLF;
// a head beyond MaxHeaderBytes is errHeadTooLarge.
func (fc *frontConn) readHead() (string, string, error) {
	fc.headBuf = fc.headBuf[:0]
	limit := fc.s.o.MaxHeaderBytes
	for {
		start := len(fc.headBuf)
		line, err := fc.br.ReadSlice('\n')
		for errors.Is(err, bufio.ErrBufferFull) && len(fc.headBuf)+len(line) <= limit {
			fc.headBuf = append(fc.headBuf, line...)
			line, err = fc.br.ReadSlice('\n')
		}
		fc.headBuf = append(fc.headBuf, line...)
		switch {
		case len(fc.headBuf) > limit:
			return "", "", errHeadTooLarge
		case err != nil:
			return "", "", err
		}
		line = fc.headBuf[start:]
		if !bytes.HasSuffix(line, []byte("\r\n")) {
			return "", RefuseBareLF, nil
		}
		if len(line) == 2 {
			if start == 0 {
				return "", RefuseMalformedHead, nil // an empty line where the request line belongs
			}
			return string(fc.headBuf), "", nil
		}
	}
}

// needsNetHTTP picks out the requests the lean path leaves to net/http.
func needsNetHTTP(rh *requestHead) bool {
	return rh.http10 || rh.upgrade || rh.expect || rh.method == http.MethodConnect ||
		!strings.HasPrefix(rh.target, "/")
}

// request builds the http.Request the handler sees, in the connection's
// reused storage.
func (fc *frontConn) request(rh *requestHead) (*http.Request, bool) {
	u := &fc.url
	if strings.ContainsAny(rh.target, "%#") {
		parsed, err := url.ParseRequestURI(rh.target)
		if err != nil {
			return nil, false
		}
		u = parsed
	} else {
		path, query, _ := strings.Cut(rh.target, "?")
		*u = url.URL{Path: path, RawQuery: query}
	}
	clear(fc.header)
	if cap(fc.values) < len(rh.fields) {
		fc.values = make([]string, 0, len(rh.fields)+8)
	}
	values := fc.values[:0]
	for _, f := range rh.fields {
		name := textproto.CanonicalMIMEHeaderKey(f.name)
		if name != "Host" {
			values = appendValue(fc.header, values, name, f.value)
		}
	}
	// reqBase carries the connection's context, which a literal cannot
	// set and WithContext would set in a copy, costing an allocation.
	fc.req = fc.reqBase
	req := &fc.req
	req.Method, req.URL, req.Header, req.Body = rh.method, u, fc.header, http.NoBody
	req.Proto, req.ProtoMajor, req.ProtoMinor = "HTTP/1.1", 1, 1
	req.Host, req.RemoteAddr, req.RequestURI = rh.host, fc.remoteAddr, rh.target
	req.TLS, req.Close = fc.tls, rh.close
	fc.body = nil
	switch {
	case rh.framing.chunked:
		fc.cb = chunkedBody{r: fc.br, onMalformed: fc.cb.onMalformed}
		fc.body, fc.req.ContentLength = &fc.cb, -1
	case rh.framing.length > 0:
		fc.lb = lengthBody{r: fc.br, remaining: rh.framing.length}
		fc.body, fc.req.ContentLength = &fc.lb, rh.framing.length
	}
	if fc.body != nil {
		fc.req.Body = &fc.fb
	}
	return &fc.req, true
}

// drainBody reads what the handler left of a request body, so the next
// request can follow, and reports whether that worked. A client that does
// not send it within the read-header timeout loses the connection.
func (fc *frontConn) drainBody() bool {
	switch {
	case fc.body == nil || bodyDone(fc.body):
		return true
	case fc.body == &fc.lb && fc.lb.remaining > maxDrainBytes:
		return false
	}
	_ = fc.c.SetReadDeadline(time.Now().Add(fc.s.o.ReadHeaderTimeout))
	_, _ = io.CopyN(io.Discard, fc.body, maxDrainBytes)
	return bodyDone(fc.body)
}

// writeError answers a request the lean path refuses before routing, and
// closes the connection.
func (fc *frontConn) writeError(status int, detail string) {
	fc.refused = true
	body := http.StatusText(status)
	if detail != "" {
		body += ": " + detail
	}
	w := &fc.w
	w.reset(&requestHead{close: true}, true)
	w.header["Content-Type"] = []string{"text/plain; charset=utf-8"}
	w.header["Content-Length"] = []string{strconv.Itoa(len(body))}
	w.WriteHeader(status)
	_, _ = io.WriteString(w, body)
	w.finish()
}

// refusalLinger is how long a refused connection is read, and what it
// brings discarded, after its answer, as net/http does: closing with the
// rest of a request unread resets the connection, and the reset can reach
// the client before it has read the answer (a 431 for an oversized head is
// the usual case). A client that reads the answer and closes ends it sooner.
const refusalLinger = 500 * time.Millisecond

func drainBeforeClose(c net.Conn) {
	if cw, ok := c.(interface{ CloseWrite() error }); ok {
		_ = cw.CloseWrite()
	}
	_ = c.SetReadDeadline(time.Now().Add(refusalLinger))
	_, _ = io.Copy(io.Discard, io.LimitReader(c, 1<<20))
}

// guard wraps the connection, with the head already read put back in
// front, in the request-smuggling guard for net/http.
func (fc *frontConn) guard(head string) net.Conn {
	r := io.MultiReader(strings.NewReader(head), fc.br)
	g := newGuardedConn(&replayConn{Conn: &fc.wc, r: r}, fc.s.o.MaxHeaderBytes, fc.s.o.OnRefuse)
	g.tls = fc.tls
	return g
}

// handOff gives the connection to the net/http server.
func (fc *frontConn) handOff(c net.Conn) {
	fc.unwatchHangups()
	fc.handedOff = true
	fc.s.forget(fc)
	fc.s.handoff.hand(c)
}

// replayConn reads from r, which holds bytes already read from the
// connection before the rest of it.
type replayConn struct {
	net.Conn
	r io.Reader
}

func (c *replayConn) Read(p []byte) (int, error) { return c.r.Read(p) }
