package proxy

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"sync/atomic"
)

// newGuardedConn wraps c so each request's framing is checked by
// inspectHead before net/http parses it. A refused request reaches the
// server as a malformed request line, which it answers with 400 and a
// closed connection, so no byte after the refused request is ever parsed.
//
// The guard follows each request's body (Content-Length or chunked) to
// find the next head. maxHeaderBytes must be the server's MaxHeaderBytes:
// heads larger than the server accepts pass through for it to answer 431.
// Wrap the connection inside any TLS, and serve HTTP/1 only. The server's
// ConnContext must be guardConnContext, which lets the handler stop
// inspection when a connection is upgraded. onRefuse receives each
// refusal's reason.
func newGuardedConn(c net.Conn, maxHeaderBytes int, onRefuse func(reason string)) *guardedConn {
	return &guardedConn{Conn: c, in: bufio.NewReader(c), maxHead: maxHeaderBytes + guardHeadSlack, onRefuse: onRefuse}
}

// guardHeadSlack covers what net/http reads beyond MaxHeaderBytes before it
// answers 431 (4 KiB of its own slack plus a buffered read).
const guardHeadSlack = 16 << 10

// maxChunkLine matches net/http's limit on a chunk-size or trailer line.
const maxChunkLine = 4096

// refusedRequest is what the server sees instead of a refused request.
var refusedRequest = []byte("CAFE-REFUSED\r\n\r\n")

type guardState int

const (
	inHead guardState = iota
	inBody
	inChunkSize
	inChunkData
	inChunkEnd
	inTrailer
	// passingThrough stops inspection: after an upgrade, or for a head too
	// large for the server to accept.
	passingThrough
	// closing hands over what is left in out, then reports EOF.
	closing
)

// guardedConn is read by one goroutine at a time (net/http's connection
// reader serializes its reads, background read included), so only stop is
// shared with the handler. An Upgrade header alone does not stop
// inspection: the handler does, once an upstream accepted the upgrade.
type guardedConn struct {
	net.Conn
	in       *bufio.Reader
	maxHead  int
	onRefuse func(string)
	stop     atomic.Bool
	// tls is the state of the TLS connection inside, if any.
	tls *tls.ConnectionState

	state guardState
	// out holds checked bytes not yet handed to the server.
	out []byte
	// head accumulates the current head's complete lines; line the
	// current incomplete line, kept across read errors such as the
	// deadlines net/http sets to interrupt a background read.
	head      []byte
	line      []byte
	remaining int64
	// afterBody is the state once the current body ends.
	afterBody guardState
}

func (g *guardedConn) Read(p []byte) (int, error) {
	for {
		if len(g.out) > 0 {
			n := copy(p, g.out)
			g.out = g.out[n:]
			return n, nil
		}
		if g.stop.Load() && g.state != passingThrough && g.state != closing {
			g.out = append(append(g.out, g.head...), g.line...)
			g.head, g.line = nil, nil
			g.state = passingThrough
			continue
		}
		switch g.state {
		case closing:
			return 0, io.EOF
		case passingThrough:
			return g.in.Read(p)
		case inBody, inChunkData:
			if int64(len(p)) > g.remaining {
				p = p[:g.remaining]
			}
			n, err := g.in.Read(p)
			g.remaining -= int64(n)
			if g.remaining == 0 {
				g.state = g.afterBody
			}
			return n, err
		}
		limit := maxChunkLine
		if g.state == inHead {
			limit = g.maxHead - len(g.head)
		}
		line, err := g.readLine(limit)
		switch {
		case errors.Is(err, errLineTooLong) && g.state == inHead:
			g.out = append(append(g.out, g.head...), g.line...)
			g.head, g.line = nil, nil
			g.state = passingThrough
		case errors.Is(err, errLineTooLong):
			g.poison(g.line)
		case errors.Is(err, io.EOF) && len(g.head)+len(g.line) > 0:
			// Hand the server the truncated request as it arrived.
			g.out = append(append(g.out, g.head...), g.line...)
			g.head, g.line = nil, nil
			g.state = closing
		case err != nil:
			return 0, err
		default:
			g.step(line)
		}
	}
}

var errLineTooLong = errors.New("line too long")

// readLine returns the next complete line, CRLF included, once it is
// complete; a partial line stays in g.line across errors.
func (g *guardedConn) readLine(limit int) ([]byte, error) {
	for {
		chunk, err := g.in.ReadSlice('\n')
		g.line = append(g.line, chunk...)
		if len(g.line) > limit {
			return nil, errLineTooLong
		}
		if err == nil {
			line := g.line
			g.line = nil
			return line, nil
		}
		if !errors.Is(err, bufio.ErrBufferFull) {
			return nil, err
		}
	}
}

// step advances the state machine by one complete line.
func (g *guardedConn) step(line []byte) {
	crlf := bytes.HasSuffix(line, []byte("\r\n"))
	switch g.state {
	case inHead:
		if !crlf {
			g.refuse(RefuseBareLF)
			return
		}
		if len(g.head) == 0 && len(line) == 2 {
			// An empty line where the request line belongs.
			g.refuse(RefuseMalformedHead)
			return
		}
		g.head = append(g.head, line...)
		if len(line) > 2 {
			return // more header lines follow
		}
		f, refusal := inspectHead(g.head)
		if refusal != "" {
			g.refuse(refusal)
			return
		}
		g.out, g.head = g.head, nil
		switch {
		case f.chunked:
			g.state = inChunkSize
		case f.length > 0:
			g.state, g.remaining, g.afterBody = inBody, f.length, inHead
		}
	case inChunkSize:
		size, ok := parseChunkSize(bytes.TrimSuffix(line, []byte("\r\n")))
		switch {
		case !crlf || !ok:
			g.poison(line)
		case size == 0:
			g.out, g.state = line, inTrailer
		default:
			g.out, g.state, g.remaining, g.afterBody = line, inChunkData, size, inChunkEnd
		}
	case inChunkEnd:
		if string(line) != "\r\n" {
			g.poison(line)
			return
		}
		g.out, g.state = line, inChunkSize
	case inTrailer:
		switch {
		case !crlf:
			g.poison(line)
		case len(line) == 2:
			g.out, g.state = line, inHead
		default:
			g.out = line
		}
	}
}

// refuse replaces the current request with one the server rejects, and
// hands it nothing after.
func (g *guardedConn) refuse(reason string) {
	g.onRefuse(reason)
	g.out = append(g.out, refusedRequest...)
	g.head, g.line = nil, nil
	g.state = closing
}

// poison handles a malformed body: the server gets the bad bytes, fails the
// body and closes the connection, and nothing after them is handed over.
func (g *guardedConn) poison(line []byte) {
	g.onRefuse(RefuseMalformedHead)
	g.out = append(g.out, line...)
	g.state = closing
}

type guardedConnKey struct{}

// guardConnContext is the server's ConnContext: it lets a handler reach the
// connection's guard to stop inspection after an upgrade.
func guardConnContext(ctx context.Context, c net.Conn) context.Context {
	if g, ok := c.(*guardedConn); ok {
		return context.WithValue(ctx, guardedConnKey{}, g)
	}
	return ctx
}

// stopInspecting tells the request's connection guard that the connection
// now carries another protocol.
func stopInspecting(ctx context.Context) {
	if g, ok := ctx.Value(guardedConnKey{}).(*guardedConn); ok {
		g.stop.Store(true)
	}
}
