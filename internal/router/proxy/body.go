package proxy

import (
	"bufio"
	"errors"
	"io"
	"strconv"
)

// errMalformedChunk is a chunked body whose framing breaks the rules; the
// connection carrying it cannot be trusted any further.
var errMalformedChunk = errors.New("malformed chunked encoding")

// maxTrailerBytes bounds the trailer section of a chunked body, which is
// read and dropped.
const maxTrailerBytes = 16 << 10

// lengthBody reads a body of a known length from a connection's reader.
type lengthBody struct {
	r         *bufio.Reader
	remaining int64
	err       error
}

func (b *lengthBody) Read(p []byte) (int, error) {
	if b.err != nil {
		return 0, b.err
	}
	if b.remaining == 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > b.remaining {
		p = p[:b.remaining]
	}
	n, err := b.r.Read(p)
	b.remaining -= int64(n)
	switch {
	case b.remaining == 0:
		return n, nil
	case errors.Is(err, io.EOF):
		err = io.ErrUnexpectedEOF
	}
	b.err = err
	return n, err
}

// done reports whether the whole body was read, so the connection can
// carry the next message.
func (b *lengthBody) done() bool { return b.remaining == 0 && b.err == nil }

// chunkedBody decodes a chunked body strictly: hex sizes with optional
// extensions, CRLF after every line and every chunk's data, trailer fields
// read and dropped.
type chunkedBody struct {
	r         *bufio.Reader
	remaining int64
	// crlfDue is set after a chunk's data until its CRLF was read.
	crlfDue bool
	ended   bool
	err     error
	// onMalformed, if not nil, hears of a framing error once.
	onMalformed func()
}

func (b *chunkedBody) Read(p []byte) (int, error) {
	for b.err == nil {
		switch {
		case b.remaining > 0:
			if int64(len(p)) > b.remaining {
				p = p[:b.remaining]
			}
			n, err := b.r.Read(p)
			b.remaining -= int64(n)
			if b.remaining == 0 {
				b.crlfDue = true
			}
			if errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF
			}
			if err != nil {
				b.err = err
			}
			return n, err
		case b.ended:
			return 0, io.EOF
		case b.crlfDue:
			line, err := readCRLFLine(b.r, 2)
			switch {
			case err != nil:
				b.fail(err)
			case len(line) != 0:
				b.fail(errMalformedChunk)
			}
			b.crlfDue = false
		default:
			b.readSize()
		}
	}
	return 0, b.err
}

func (b *chunkedBody) readSize() {
	line, err := readCRLFLine(b.r, maxChunkLine)
	if err != nil {
		b.fail(err)
		return
	}
	size, ok := parseChunkSize(line)
	switch {
	case !ok:
		b.fail(errMalformedChunk)
	case size > 0:
		b.remaining = size
	default:
		b.readTrailer()
	}
}

func (b *chunkedBody) readTrailer() {
	total := 0
	for {
		line, err := readCRLFLine(b.r, maxChunkLine)
		if err != nil {
			b.fail(err)
			return
		}
		if len(line) == 0 {
			b.ended = true
			return
		}
		if total += len(line); total > maxTrailerBytes || line[0] == ' ' || line[0] == '\t' {
			b.fail(errMalformedChunk)
			return
		}
	}
}

func (b *chunkedBody) fail(err error) {
	if errors.Is(err, io.EOF) {
		err = io.ErrUnexpectedEOF
	}
	if errors.Is(err, errMalformedChunk) && b.onMalformed != nil {
		b.onMalformed()
	}
	b.err = err
}

func (b *chunkedBody) done() bool { return b.ended && b.err == nil }

// readCRLFLine reads one line of at most limit bytes and returns it
// without its CRLF, valid until the next read; a line without its CR, or
// too long, is malformed.
func readCRLFLine(r *bufio.Reader, limit int) ([]byte, error) {
	line, err := r.ReadSlice('\n')
	if errors.Is(err, bufio.ErrBufferFull) {
		// Longer than the reader's buffer: gather it in a copy.
		line = append([]byte(nil), line...)
		for errors.Is(err, bufio.ErrBufferFull) && len(line) <= limit+2 {
			var more []byte
			more, err = r.ReadSlice('\n')
			line = append(line, more...)
		}
	}
	if len(line) > limit+2 {
		return nil, errMalformedChunk
	}
	if err != nil {
		return nil, err
	}
	n := len(line)
	if n < 2 || line[n-2] != '\r' || !crlfOnly(string(line[:n-2])) {
		return nil, errMalformedChunk
	}
	return line[:n-2], nil
}

// chunkedWriter writes a body in chunked encoding; close writes the last
// chunk.
type chunkedWriter struct{ w *bufio.Writer }

func (c chunkedWriter) Write(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	c.w.Write(strconv.AppendInt(c.w.AvailableBuffer(), int64(len(p)), 16))
	c.w.WriteString("\r\n")
	n, _ := c.w.Write(p)
	_, err := c.w.WriteString("\r\n")
	return n, err
}

func (c chunkedWriter) close() error {
	_, err := c.w.WriteString("0\r\n\r\n")
	return err
}
