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
	rh, refusal := parseRequestHead(string(head), nil)
	if refusal != "" {
		return framing{}, refusal
	}
	return rh.framing, ""
}

func parseDecimal(s string) (int64, bool) {
	if len(s) == 0 || len(s) > 18 {
		return 0, false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
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
