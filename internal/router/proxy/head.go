package proxy

import (
	"strings"
)

// requestHead is a parsed HTTP/1.x request head. Its strings are substrings
// of the head, so a head costs one allocation however many fields it has.
type requestHead struct {
	method, target string
	http10         bool
	fields         []headerField
	framing        framing
	// hosts counts Host fields; host is the last one's value.
	hosts int
	host  string
	// close is set by "Connection: close"; upgrade and expect by the
	// presence of those fields, which the lean path leaves to net/http.
	close, upgrade, expect bool
}

// headerField is one header line; name is as the sender spelled it.
type headerField struct{ name, value string }

// parseRequestHead parses a complete request head (request line, header
// lines, empty line, all CRLF-terminated) strictly: anything two HTTP
// parsers could read differently is refused. fields is reused for the
// result's fields. A non-empty refusal is one of the Refuse reasons.
//
// Beyond what net/http refuses it refuses Content-Length together with
// Transfer-Encoding, obs-fold continuation lines, bare CR or LF line
// endings, and Transfer-Encoding on HTTP/1.0 (see inspectHead).
func parseRequestHead(head string, fields []headerField) (requestHead, string) {
	rh := requestHead{fields: fields[:0]}
	body, ok := strings.CutSuffix(head, "\r\n\r\n")
	if !ok {
		return rh, RefuseMalformedHead
	}
	if !crlfOnly(body) {
		return rh, RefuseBareLF
	}
	line, rest, _ := strings.Cut(body, "\r\n")
	method, rest1, ok1 := strings.Cut(line, " ")
	target, version, ok2 := strings.Cut(rest1, " ")
	if !ok1 || !ok2 || !isToken(method) || !validTarget(target) {
		return rh, RefuseMalformedHead
	}
	switch version {
	case "HTTP/1.1":
	case "HTTP/1.0":
		rh.http10 = true
	default:
		return rh, RefuseMalformedHead
	}
	rh.method, rh.target = method, target

	var length string
	lengths, encodings := 0, 0
	lengthsDiffer, chunked := false, false
	for rest != "" {
		line, rest, _ = strings.Cut(rest, "\r\n")
		switch {
		case line == "":
			return rh, RefuseMalformedHead // the head ended before its end
		case line[0] == ' ' || line[0] == '\t':
			return rh, RefuseObsFold
		}
		name, value, ok := strings.Cut(line, ":")
		if !ok || !isToken(name) {
			return rh, RefuseMalformedHead
		}
		value = trimOWS(value)
		if !validFieldValue(value) {
			return rh, RefuseMalformedHead
		}
		rh.fields = append(rh.fields, headerField{name, value})
		switch {
		case strings.EqualFold(name, "Content-Length"):
			lengthsDiffer = lengthsDiffer || lengths > 0 && value != length
			length = value
			lengths++
		case strings.EqualFold(name, "Transfer-Encoding"):
			chunked = strings.EqualFold(value, "chunked")
			encodings++
		case strings.EqualFold(name, "Host"):
			rh.hosts++
			rh.host = value
		case strings.EqualFold(name, "Connection"):
			rh.close = rh.close || hasToken(value, "close")
		case strings.EqualFold(name, "Upgrade"):
			rh.upgrade = true
		case strings.EqualFold(name, "Expect"):
			rh.expect = true
		}
	}
	switch {
	case encodings > 0 && lengths > 0:
		return rh, RefuseContentLengthWithTransferEncoding
	case encodings > 0 && rh.http10:
		return rh, RefuseTransferEncodingHTTP10
	case encodings > 1 || encodings == 1 && !chunked:
		return rh, RefuseUnsupportedTransferEncoding
	case encodings == 1:
		rh.framing.chunked = true
	case lengths > 0:
		n, ok := parseDecimal(length)
		if lengthsDiffer || !ok {
			return rh, RefuseBadContentLength
		}
		rh.framing.length = n
	}
	return rh, ""
}

// crlfOnly reports whether every CR in s starts a CRLF and every LF ends
// one.
func crlfOnly(s string) bool {
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '\r':
			if i+1 == len(s) || s[i+1] != '\n' {
				return false
			}
			i++
		case '\n':
			return false
		}
	}
	return true
}

// isToken reports whether s is an RFC 9110 token: a method or field name.
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !tokenChar[s[i]] {
			return false
		}
	}
	return true
}

var tokenChar = func() (t [256]bool) {
	for c := '0'; c <= '9'; c++ {
		t[c] = true
	}
	for c := 'a'; c <= 'z'; c++ {
		t[c], t[c-'a'+'A'] = true, true
	}
	for _, c := range "!#$%&'*+-.^_`|~" {
		t[c] = true
	}
	return t
}()

// validTarget accepts a request target of visible ASCII and obs-text.
func validTarget(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] == 0x7f {
			return false
		}
	}
	return true
}

// validFieldValue refuses control characters other than HTAB.
func validFieldValue(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < ' ' && c != '\t' || c == 0x7f {
			return false
		}
	}
	return true
}

// hasToken reports whether a comma-separated field value lists token,
// case-insensitively.
func hasToken(value, token string) bool {
	for value != "" {
		var item string
		item, value, _ = strings.Cut(value, ",")
		if strings.EqualFold(trimOWS(item), token) {
			return true
		}
	}
	return false
}

// trimOWS drops the optional whitespace around a field value.
func trimOWS(s string) string {
	for len(s) > 0 && (s[0] == ' ' || s[0] == '\t') {
		s = s[1:]
	}
	for len(s) > 0 && (s[len(s)-1] == ' ' || s[len(s)-1] == '\t') {
		s = s[:len(s)-1]
	}
	return s
}
