package proxy

import (
	"net/http"
	"strconv"
	"sync/atomic"
	"time"
)

// frontWriter is the lean path's http.ResponseWriter: it writes the head
// as soon as the handler does, and frames a body of unknown length in
// chunks.
type frontWriter struct {
	fc     *frontConn
	header http.Header
	// head is set for a HEAD request, whose response has no body.
	head        bool
	wroteHeader bool
	noBody      bool
	chunked     bool
	// remaining is what the declared Content-Length still allows, when
	// the body is framed by one: a handler must not write past it (the
	// excess would be read as the next response) nor short of it.
	remaining int64
	// closeAfter ends the connection after this response; broken is set
	// when the response could not be written whole.
	closeAfter bool
	broken     bool
}

func (w *frontWriter) reset(rh *requestHead, closeAfter bool) {
	clear(w.header)
	*w = frontWriter{fc: w.fc, header: w.header, head: rh.method == http.MethodHead, closeAfter: closeAfter || rh.close}
}

func (w *frontWriter) Header() http.Header { return w.header }

// WriteHeader writes the status line and fields. Interim (1xx) responses
// are not passed on: upgrades never take the lean path, and the client did
// not ask for 100-continue.
func (w *frontWriter) WriteHeader(code int) {
	if w.wroteHeader || code < 200 {
		return
	}
	w.wroteHeader = true
	w.noBody = w.head || code == http.StatusNoContent || code == http.StatusNotModified
	length := ""
	if !w.noBody {
		if values := w.header["Content-Length"]; len(values) == 1 {
			if n, ok := parseDecimal(values[0]); ok {
				length, w.remaining = values[0], n
			}
		}
		// Without a single valid length the body goes chunked, and a
		// length it could not honour is not sent.
		w.chunked = length == ""
	}
	bw := w.fc.bw
	b := bw.AvailableBuffer()
	b = append(b, "HTTP/1.1 "...)
	b = strconv.AppendInt(b, int64(code), 10)
	b = append(b, ' ')
	b = append(b, http.StatusText(code)...)
	b = append(b, "\r\n"...)
	_, _ = bw.Write(b)
	for name, values := range w.header {
		if name == "Transfer-Encoding" || name == "Connection" || name == "Content-Length" && !w.noBody {
			continue // framing and connection are this writer's to decide
		}
		for _, v := range values {
			b = appendField(bw.AvailableBuffer(), name, v)
			_, _ = bw.Write(b)
		}
	}
	if _, ok := w.header["Date"]; !ok {
		_, _ = bw.Write(appendField(bw.AvailableBuffer(), "Date", httpDate()))
	}
	switch {
	case w.chunked:
		_, _ = bw.WriteString("Transfer-Encoding: chunked\r\n")
	case length != "":
		_, _ = bw.Write(appendField(bw.AvailableBuffer(), "Content-Length", length))
	}
	if w.closeAfter {
		_, _ = bw.WriteString("Connection: close\r\n")
	}
	_, _ = bw.WriteString("\r\n")
}

func (w *frontWriter) Write(p []byte) (int, error) {
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	switch {
	case w.noBody:
		return len(p), nil
	case w.chunked:
		return chunkedWriter{w.fc.bw}.Write(p)
	case int64(len(p)) > w.remaining:
		// Bytes beyond the declared length would be taken for the next
		// response: refuse them, and end the connection after this one.
		n, _ := w.fc.bw.Write(p[:w.remaining])
		w.remaining = 0
		w.broken = true
		return n, http.ErrContentLength
	}
	n, err := w.fc.bw.Write(p)
	w.remaining -= int64(n)
	return n, err
}

// Flush sends what is buffered, for streamed responses.
func (w *frontWriter) Flush() {
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	_ = w.fc.bw.Flush()
}

// SetReadDeadline sets the request body's read deadline, for
// http.ResponseController.
func (w *frontWriter) SetReadDeadline(t time.Time) error {
	return w.fc.c.SetReadDeadline(t)
}

// finish ends the response and reports whether it was written whole.
func (w *frontWriter) finish() bool {
	if !w.wroteHeader {
		if w.broken {
			// Aborted before a head was written (the client went
			// away): send nothing, only the close says so. A default
			// 200 would be a success no upstream gave.
			return false
		}
		w.WriteHeader(http.StatusOK)
	}
	if w.chunked && !w.broken {
		_ = chunkedWriter{w.fc.bw}.close()
	}
	if w.remaining > 0 {
		// Short of its declared length, the response leaves the client
		// waiting for bytes that are not coming: only a close ends it.
		w.broken = true
	}
	return w.fc.bw.Flush() == nil && !w.broken
}

// abortResponse ends a response cut short, or not begun: the lean path
// closes the connection after it (writing no head if none was written),
// net/http needs the panic it knows for that, after which it writes nothing
// more.
func abortResponse(w http.ResponseWriter) {
	if fw, ok := w.(*frontWriter); ok {
		fw.broken = true
		return
	}
	panic(http.ErrAbortHandler)
}

// dateCache holds the Date field value of the current second.
var dateCache atomic.Pointer[cachedDate]

type cachedDate struct {
	unix  int64
	value string
}

func httpDate() string {
	now := time.Now()
	if d := dateCache.Load(); d != nil && d.unix == now.Unix() {
		return d.value
	}
	d := &cachedDate{unix: now.Unix(), value: now.UTC().Format(http.TimeFormat)}
	dateCache.Store(d)
	return d.value
}
