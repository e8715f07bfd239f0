package proxy

import (
	"net/http"
	"strconv"
	"strings"
	"sync"
)

// hopByHop reports the fields that describe one connection, not the
// message, and are never passed on (RFC 9110 section 7.6.1), besides those
// a Connection field names. Names are canonical. A switch, because a map
// lookup hashes the name on every field of every request.
func hopByHop(name string) bool {
	switch name {
	case "Connection", "Proxy-Connection", "Keep-Alive", "Proxy-Authenticate",
		"Proxy-Authorization", "Te", "Trailer", "Transfer-Encoding", "Upgrade":
		return true
	}
	return false
}

// writtenByRouter reports the request fields the router writes itself:
// X-Forwarded-* are rewritten, Expect is answered by the router's own
// server, Host and Content-Length come from the request and its body.
func writtenByRouter(name string) bool {
	switch name {
	case "Host", "Content-Length", "Expect", "X-Forwarded-For", "X-Forwarded-Host", "X-Forwarded-Proto":
		return true
	}
	return false
}

// routerOwned reports the request fields whose values are the router's
// own by the time a request is sent: the hop fields it sets when it
// forwards (and strips when it serves), and the request ID it adopted or
// made. A client's Connection field names the client's fields only, and
// must not strip these, which would defeat the one-hop and epoch rules.
func routerOwned(name string) bool {
	switch name {
	case HeaderHop, HeaderEpoch, HeaderForwardedBy, HeaderFailoverFrom, HeaderRequestID:
		return true
	}
	return false
}

var headBufferPool = sync.Pool{New: func() any { b := make([]byte, 0, 2<<10); return &b }}

// appendRequestHead serializes the request to send upstream: the client's
// target and fields minus hop-by-hop ones, X-Forwarded-For, -Host and
// -Proto, the body's framing, and for an upgrade the Upgrade field.
func appendRequestHead(b []byte, r *http.Request, hasBody bool, bodyLength int64) []byte {
	target := r.RequestURI
	if target == "" || r.ProtoMajor == 2 {
		target = r.URL.RequestURI()
	}
	b = append(b, r.Method...)
	b = append(b, ' ')
	b = append(b, target...)
	b = append(b, " HTTP/1.1\r\nHost: "...)
	b = append(b, r.Host...)
	b = append(b, "\r\n"...)
	connection := r.Header["Connection"]
	for name, values := range r.Header {
		if hopByHop(name) || writtenByRouter(name) || listedIn(connection, name) && !routerOwned(name) {
			continue
		}
		for _, v := range values {
			b = appendField(b, name, v)
		}
	}
	b = append(b, "X-Forwarded-For: "...)
	for _, prior := range r.Header["X-Forwarded-For"] {
		b = append(b, prior...)
		b = append(b, ", "...)
	}
	b = append(b, clientIP(r.RemoteAddr)...)
	b = appendField(append(b, "\r\n"...), "X-Forwarded-Host", r.Host)
	proto := "http"
	if r.TLS != nil {
		proto = "https"
	}
	b = appendField(b, "X-Forwarded-Proto", proto)
	if up := upgradeType(r.Header); up != "" {
		b = appendField(appendField(b, "Connection", "Upgrade"), "Upgrade", up)
	}
	switch {
	case hasBody && bodyLength >= 0:
		b = append(b, "Content-Length: "...)
		b = strconv.AppendInt(b, bodyLength, 10)
		b = append(b, "\r\n"...)
	case hasBody:
		b = append(b, "Transfer-Encoding: chunked\r\n"...)
	case r.Method == http.MethodPost || r.Method == http.MethodPut || r.Method == http.MethodPatch:
		b = append(b, "Content-Length: 0\r\n"...)
	}
	return append(b, "\r\n"...)
}

func appendField(b []byte, name, value string) []byte {
	b = append(b, name...)
	b = append(b, ": "...)
	b = append(b, value...)
	return append(b, "\r\n"...)
}

// listedIn reports whether a Connection field names a field.
func listedIn(connection []string, name string) bool {
	for _, v := range connection {
		if hasToken(v, name) {
			return true
		}
	}
	return false
}

// upgradeType is the protocol a request asks to upgrade to, if it asks.
// An offer of h2c is declined, as a server may: the router speaks HTTP/2
// with clients itself (prior knowledge or TLS), and an upstream must not
// switch a client's connection to it behind the router's back.
func upgradeType(h http.Header) string {
	if !listedIn(h["Connection"], "Upgrade") {
		return ""
	}
	if up := h.Get("Upgrade"); !strings.EqualFold(up, "h2c") {
		return up
	}
	return ""
}

// clientIP is the address part of a RemoteAddr.
func clientIP(remote string) string {
	if i := strings.LastIndexByte(remote, ':'); i > 0 && strings.IndexByte(remote[i:], ']') < 0 {
		remote = remote[:i]
	}
	return strings.TrimSuffix(strings.TrimPrefix(remote, "["), "]")
}
