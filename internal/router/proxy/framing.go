package proxy

import (
	"bytes"
	"strconv"
)

// Reasons the smuggling guard refuses a request. They are metric label
// values, so the set is fixed.
const (
	RefuseContentLengthWithTransferEncoding = "content-length-with-transfer-encoding"
	RefuseObsFold                           = "obs-fold"
	RefuseBareLF                            = "bare-lf"
	RefuseTransferEncodingHTTP10            = "transfer-encoding-in-http-1.0"
	RefuseUnsupportedTransferEncoding       = "unsupported-transfer-encoding"
	RefuseBadContentLength                  = "bad-content-length"
	RefuseMalformedHead                     = "malformed-head"
)

// framing is how a request's body is delimited.
type framing struct {
	chunked bool
	length  int64
}

// inspectHead checks a complete request head (request line, header lines,
// empty line, all CRLF-terminated) for framing that two HTTP parsers could
// read differently, and returns how its body is delimited. A non-empty
// refusal is one of the Refuse reasons.
//
// net/http already rejects differing duplicate Content-Length headers and
// any Transfer-Encoding but a single "chunked"; it accepts, and this
// refuses, Content-Length together with Transfer-Encoding (it drops the
// length and keeps the connection open for whatever follows), obs-fold
// continuation lines (it unfolds them, so "Transfer-Encoding:\r\n chunked"
// becomes chunked while a proxy in front may see no encoding), bare LF line
// endings, and Transfer-Encoding on HTTP/1.0 (it ignores the header and
// parses the chunked body as the next request).
func inspectHead(head []byte) (framing, string) {
	lines := bytes.Split(bytes.TrimSuffix(head, []byte("\r\n\r\n")), []byte("\r\n"))
	for _, line := range lines {
		if bytes.IndexByte(line, '\n') >= 0 || bytes.IndexByte(line, '\r') >= 0 {
			return framing{}, RefuseBareLF
		}
	}
	method, rest, ok1 := bytes.Cut(lines[0], []byte(" "))
	target, version, ok2 := bytes.Cut(rest, []byte(" "))
	if !ok1 || !ok2 || len(method) == 0 || len(target) == 0 {
		return framing{}, RefuseMalformedHead
	}
	http10 := string(version) == "HTTP/1.0"
	if !http10 && string(version) != "HTTP/1.1" {
		return framing{}, RefuseMalformedHead
	}

	var f framing
	var lengths [][]byte
	var encodings [][]byte
	for _, line := range lines[1:] {
		if len(line) > 0 && (line[0] == ' ' || line[0] == '\t') {
			return framing{}, RefuseObsFold
		}
		name, value, ok := bytes.Cut(line, []byte(":"))
		if !ok {
			return framing{}, RefuseMalformedHead
		}
		value = bytes.Trim(value, " \t")
		switch {
		case bytes.EqualFold(name, []byte("Content-Length")):
			lengths = append(lengths, value)
		case bytes.EqualFold(name, []byte("Transfer-Encoding")):
			encodings = append(encodings, value)
		}
	}
	switch {
	case len(encodings) > 0 && len(lengths) > 0:
		return framing{}, RefuseContentLengthWithTransferEncoding
	case len(encodings) > 0 && http10:
		return framing{}, RefuseTransferEncodingHTTP10
	case len(encodings) > 1 || len(encodings) == 1 && !bytes.EqualFold(encodings[0], []byte("chunked")):
		return framing{}, RefuseUnsupportedTransferEncoding
	case len(encodings) == 1:
		f.chunked = true
	case len(lengths) > 0:
		for _, l := range lengths[1:] {
			if !bytes.Equal(l, lengths[0]) {
				return framing{}, RefuseBadContentLength
			}
		}
		n, ok := parseDecimal(lengths[0])
		if !ok {
			return framing{}, RefuseBadContentLength
		}
		f.length = n
	}
	return f, ""
}

func parseDecimal(b []byte) (int64, bool) {
	if len(b) == 0 || len(b) > 18 {
		return 0, false
	}
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
	}
	n, err := strconv.ParseInt(string(b), 10, 64)
	return n, err == nil
}

// parseChunkSize reads a chunk-size line without its CRLF: hex digits,
// optional whitespace and extensions after ';'.
func parseChunkSize(line []byte) (int64, bool) {
	size, _, _ := bytes.Cut(line, []byte(";"))
	size = bytes.TrimRight(size, " \t")
	if len(size) == 0 || len(size) > 15 {
		return 0, false
	}
	n, err := strconv.ParseInt(string(size), 16, 64)
	return n, err == nil && n >= 0 && size[0] != '+' && size[0] != '-'
}
