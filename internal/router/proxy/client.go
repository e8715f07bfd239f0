package proxy

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"time"
)

// upstreamPool is the router's HTTP/1.1 client for upstreams and peer
// routers. A router talks to few addresses with many requests each, so it
// keeps a deep stack of idle keep-alive connections per address and runs
// each exchange on the caller's goroutine: no per-connection goroutines,
// no channel hand-offs, as net/http's Transport has.
type upstreamPool struct {
	o      TransportOptions
	dialer net.Dialer

	mu   sync.Mutex
	idle map[string][]*upstreamConn
	// sweeping is set while a sweep is scheduled, which it is while any
	// connection idles: a pool with none costs no timer.
	sweeping bool
}

func newUpstreamPool(o TransportOptions) *upstreamPool {
	o = o.withDefaults()
	return &upstreamPool{
		o:      o,
		dialer: net.Dialer{Timeout: o.DialTimeout, KeepAlive: o.KeepAlive},
		idle:   map[string][]*upstreamConn{},
	}
}

// upstreamConn is one connection to an upstream with its buffers and the
// scratch space of the exchange it carries.
type upstreamConn struct {
	conn   net.Conn
	br     *bufio.Reader
	bw     *bufio.Writer
	addr   string
	pool   *upstreamPool
	idleAt time.Time
	reused bool
	peek   peeker
	// interrupt ends the exchange under way, when its context ends or its
	// client goes away; made once for the connection's exchanges, as is
	// unwatch, which takes it back from the client's watch.
	interrupt func()
	watch     *clientWatch
	unwatch   func() bool
	// sending and progress serve the request being written.
	sending  sending
	progress progressReader
	// headBuf and fields hold the response head being parsed.
	headBuf []byte
	fields  []headerField
	resp    upstreamResponse
}

// get returns an idle connection to addr, most recently used first (warm,
// and least likely to have been closed by the peer), or dials one. Every
// idle connection is peeked at before reuse, however briefly it idled:
// bytes the peer sent after its last response, or its close, must not
// meet the next request.
func (p *upstreamPool) get(ctx context.Context, addr string) (*upstreamConn, error) {
	now := time.Now()
	for {
		p.mu.Lock()
		stack := p.idle[addr]
		if len(stack) == 0 {
			p.mu.Unlock()
			break
		}
		uc := stack[len(stack)-1]
		stack[len(stack)-1] = nil
		p.idle[addr] = stack[:len(stack)-1]
		p.mu.Unlock()
		idle := now.Sub(uc.idleAt)
		if idle < p.o.IdleConnTimeout && uc.peek.peerOpen() {
			uc.reused = true
			return uc, nil
		}
		_ = uc.conn.Close()
	}
	c, err := p.dialer.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	uc := &upstreamConn{
		conn: c,
		br:   bufio.NewReaderSize(c, 4<<10),
		bw:   bufio.NewWriterSize(c, 4<<10),
		addr: addr,
		pool: p,
	}
	uc.peek.init(c)
	uc.interrupt = func() { _ = c.SetDeadline(aLongTimeAgo) }
	uc.unwatch = func() bool {
		w := uc.watch
		uc.watch = nil
		return w.clearInterrupt()
	}
	return uc, nil
}

// put returns a connection whose exchange ended cleanly to the idle stack.
func (p *upstreamPool) put(uc *upstreamConn) {
	uc.idleAt = time.Now()
	p.mu.Lock()
	stack := p.idle[uc.addr]
	if len(stack) >= p.o.MaxIdleConnsPerHost {
		p.mu.Unlock()
		_ = uc.conn.Close()
		return
	}
	p.idle[uc.addr] = append(stack, uc)
	if !p.sweeping {
		p.sweeping = true
		time.AfterFunc(p.o.IdleConnTimeout, p.sweep)
	}
	p.mu.Unlock()
}

// sweep closes the connections idle for IdleConnTimeout and forgets
// addresses left with none. Without it a connection to an address no
// longer used (a pod gone, a peer router moved) would idle forever, in
// CLOSE_WAIT once the peer closed its end. It runs again when the oldest
// connection left expires.
func (p *upstreamPool) sweep() {
	now := time.Now()
	var expired []*upstreamConn
	p.mu.Lock()
	var oldest time.Time
	for addr, stack := range p.idle {
		// Stacks are ordered by idleAt, oldest at the bottom.
		n := 0
		for n < len(stack) && now.Sub(stack[n].idleAt) >= p.o.IdleConnTimeout {
			n++
		}
		expired = append(expired, stack[:n]...)
		if n == len(stack) {
			delete(p.idle, addr)
			continue
		}
		if n > 0 {
			clear(stack[copy(stack, stack[n:]):])
			p.idle[addr] = stack[:len(stack)-n]
		}
		if at := stack[0].idleAt; oldest.IsZero() || at.Before(oldest) {
			oldest = at
		}
	}
	p.sweeping = !oldest.IsZero()
	if p.sweeping {
		time.AfterFunc(oldest.Add(p.o.IdleConnTimeout).Sub(now), p.sweep)
	}
	p.mu.Unlock()
	for _, uc := range expired {
		_ = uc.conn.Close()
	}
}

// closeIdle closes the idle connections to addrs, which are no longer
// endpoints: they would only wait out the idle timeout.
func (p *upstreamPool) closeIdle(addrs []string) {
	var closing []*upstreamConn
	p.mu.Lock()
	for _, addr := range addrs {
		closing = append(closing, p.idle[addr]...)
		delete(p.idle, addr)
	}
	p.mu.Unlock()
	for _, uc := range closing {
		_ = uc.conn.Close()
	}
}

// upstreamRequest is one attempt's request: a serialized head and the body
// to stream after it.
type upstreamRequest struct {
	head []byte
	// body is nil for none; bodyLength is its Content-Length, or -1 to
	// send it chunked.
	body       io.Reader
	bodyLength int64
	// replayable lets a request that met a connection the peer had closed
	// be sent once more on a new connection.
	replayable bool
	// noResponseBody is set for HEAD.
	noResponseBody bool
	headerTimeout  time.Duration
}

// roundTrip sends req to addr and returns the response with its head read
// and its body ready to stream. The caller must close the response.
func (p *upstreamPool) roundTrip(ctx context.Context, addr string, req *upstreamRequest, body *trackedBody) (*upstreamResponse, error) {
	for replayed := false; ; replayed = true {
		uc, err := p.get(ctx, addr)
		if err != nil {
			return nil, err
		}
		resp, err := uc.exchange(ctx, req, body)
		if err == nil {
			return resp, nil
		}
		_ = uc.conn.Close()
		bodyRead, _ := body.state()
		var closed *peerClosedError
		if uc.reused && errors.As(err, &closed) && req.replayable && !bodyRead && !replayed {
			// A keep-alive race: the peer closed the idle connection.
			// Once only: an upstream that reads requests and closes
			// without answering would otherwise get the request again
			// on every idle connection in the pool.
			continue
		}
		return nil, err
	}
}

// peerClosedError is a reused connection that ended before a byte of the
// response arrived.
type peerClosedError struct{ err error }

func (e *peerClosedError) Error() string {
	return "connection closed before the response began: " + e.err.Error()
}
func (e *peerClosedError) Unwrap() error { return e.err }

// exchange writes the request and reads the response head. The request's
// context deadline bounds the whole exchange, body streaming included; the
// header timeout bounds the wait for the response head.
func (uc *upstreamConn) exchange(ctx context.Context, req *upstreamRequest, body *trackedBody) (*upstreamResponse, error) {
	deadline, hasDeadline := ctx.Deadline()
	if hasDeadline {
		_ = uc.conn.SetDeadline(deadline)
	}
	stop := uc.watchEnd(ctx)
	resp, err := uc.send(ctx, req, body, deadline, hasDeadline)
	if err != nil {
		stop()
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, err
	}
	resp.stop, resp.resetDeadline = stop, hasDeadline
	return resp, nil
}

// watchEnd arranges for a client that goes away, or the request's context
// ending otherwise, to interrupt the exchange wherever it is. The returned
// stop undoes that and reports whether the interrupt has not run.
func (uc *upstreamConn) watchEnd(ctx context.Context) (stop func() bool) {
	if w := clientWatchOf(ctx); w != nil {
		// The lean path: the client's watch interrupts, and the
		// connection's deadline, set to the request's, ends the
		// exchange at that.
		if !w.setInterrupt(uc.interrupt) {
			return interrupted
		}
		uc.watch = w
		return uc.unwatch
	}
	if ctx.Done() != nil {
		return context.AfterFunc(ctx, uc.interrupt)
	}
	return notInterrupted
}

func interrupted() bool    { return false }
func notInterrupted() bool { return true }

// aLongTimeAgo is a deadline that interrupts blocked I/O at once;
// noDeadline removes one.
var (
	aLongTimeAgo = time.Unix(1, 0)
	noDeadline   time.Time
)

func (uc *upstreamConn) send(ctx context.Context, req *upstreamRequest, body *trackedBody, deadline time.Time, hasDeadline bool) (*upstreamResponse, error) {
	// The header timeout bounds the wait for the upstream to take the
	// request too: one that accepts and never reads would otherwise
	// hold the exchange until the request deadline, if any. A body
	// streams for as long as it makes progress, so each piece of it
	// read from the client extends the deadline for writing it.
	uc.sending = sending{ctx: ctx, timeout: req.headerTimeout, deadline: deadline, hasDeadline: hasDeadline}
	uc.extendWrite()
	_, _ = uc.bw.Write(req.head)
	var err error
	if body != nil {
		uc.progress = progressReader{r: body, uc: uc}
		err = writeBody(uc.bw, &uc.progress, req.bodyLength)
		uc.progress = progressReader{}
	}
	if err == nil {
		err = uc.bw.Flush()
	}
	uc.sending = sending{} // no context outlives its exchange in the pool
	if err != nil {
		var netErr net.Error
		_, bodyErr := body.state()
		switch {
		case bodyErr != nil:
		case errors.As(err, &netErr) && netErr.Timeout():
			if !hasDeadline || time.Now().Before(deadline) {
				err = fmt.Errorf("%w after %v: the request was not taken", errResponseHeaderTimeout, req.headerTimeout)
			}
		case uc.reused:
			err = &peerClosedError{err: err}
		}
		return nil, err
	}
	headerDeadline := time.Now().Add(req.headerTimeout)
	byHeaderTimeout := !hasDeadline || headerDeadline.Before(deadline)
	if byHeaderTimeout {
		uc.setDeadline(ctx, false, headerDeadline)
	}
	resp, err := uc.readResponse(req.noResponseBody)
	if err != nil {
		var netErr net.Error
		if byHeaderTimeout && errors.As(err, &netErr) && netErr.Timeout() {
			return nil, fmt.Errorf("%w after %v", errResponseHeaderTimeout, req.headerTimeout)
		}
		return nil, err
	}
	if resp.status == http.StatusSwitchingProtocols {
		// Writes after the request, an upgraded connection's, are
		// bounded by the request deadline alone. Other exchanges write
		// nothing more, and the next one sets its own deadline.
		uc.setDeadline(ctx, true, deadline)
	}
	switch {
	case resp.status != http.StatusSwitchingProtocols && !resp.bodyBuffered():
		// The header timeout must not cut a body that streams for long,
		// but a body that stalls must not hold the exchange for ever:
		// each read of it is bounded by the body idle timeout (see
		// upstreamResponse.Read), within the request deadline.
		resp.ctx, resp.deadline, resp.hasDeadline = ctx, deadline, hasDeadline
		resp.idle = uc.pool.o.BodyIdleTimeout
		resp.armIdle(time.Now())
	case !byHeaderTimeout:
	case hasDeadline:
		uc.setDeadline(ctx, false, deadline)
	case !resp.bodyBuffered():
		// An upgraded connection streams for as long as either side
		// wants. A body already buffered needs no more reads, and the
		// next exchange sets its own deadline.
		uc.setDeadline(ctx, false, noDeadline)
	}
	return resp, nil
}

// setDeadline sets the read or write deadline of an exchange's connection,
// unless the exchange's context ended: the interrupt set when it did may
// have come just before, and must not be undone.
func (uc *upstreamConn) setDeadline(ctx context.Context, write bool, t time.Time) {
	for {
		if write {
			_ = uc.conn.SetWriteDeadline(t)
		} else {
			_ = uc.conn.SetReadDeadline(t)
		}
		if t.Equal(aLongTimeAgo) || ctx.Err() == nil {
			return
		}
		t = aLongTimeAgo
	}
}

// sending is what bounds writing a request.
type sending struct {
	ctx         context.Context
	timeout     time.Duration
	deadline    time.Time
	hasDeadline bool
}

// extendWrite gives the upstream the header timeout, within the request's
// deadline, to take what is written next.
func (uc *upstreamConn) extendWrite() {
	s := &uc.sending
	d := time.Now().Add(s.timeout)
	if s.hasDeadline && s.deadline.Before(d) {
		d = s.deadline
	}
	uc.setDeadline(s.ctx, true, d)
}

// progressReader extends the write deadline after every read of the
// request body that returned bytes.
type progressReader struct {
	r  io.Reader
	uc *upstreamConn
}

func (p *progressReader) Read(b []byte) (int, error) {
	n, err := p.r.Read(b)
	if n > 0 {
		p.uc.extendWrite()
	}
	return n, err
}

// writeBody streams a request body: exactly length bytes, or chunked when
// length is -1.
func writeBody(w *bufio.Writer, body io.Reader, length int64) error {
	if length >= 0 {
		n, err := io.Copy(w, io.LimitReader(body, length))
		if err == nil && n < length {
			err = io.ErrUnexpectedEOF
		}
		return err
	}
	buf := copyBufferPool.Get().(*[]byte)
	defer copyBufferPool.Put(buf)
	cw := chunkedWriter{w}
	if _, err := io.CopyBuffer(cw, body, *buf); err != nil {
		return err
	}
	return cw.close()
}

// copyBufferPool pools 32 KiB body copy buffers.
var copyBufferPool = sync.Pool{New: func() any { b := make([]byte, 32<<10); return &b }}
