package shard

import (
	"errors"
	"fmt"
	"net/http"
	"net/textproto"
	"net/url"
	"strings"
)

// ErrMissingKey and ErrMalformedKey are the two kinds of KeyError; match them
// with errors.Is. A missing key may be routed by MissingKeyPolicy, a
// malformed one never is.
var (
	ErrMissingKey   = errors.New("shard key missing")
	ErrMalformedKey = errors.New("shard key malformed")
)

// KeyError explains why a request has no usable shard key.
type KeyError struct {
	// Kind is ErrMissingKey or ErrMalformedKey.
	Kind   error
	Source KeySource
	// Name is the header, cookie or query name, or "segment N".
	Name   string
	Reason string
}

func (e *KeyError) Error() string {
	return fmt.Sprintf("%v: %s %q: %s", e.Kind, strings.ToLower(string(e.Source)), e.Name, e.Reason)
}

func (e *KeyError) Unwrap() error { return e.Kind }

// Extract returns the shard of req under key, for a map of the given number
// of shards. key should have passed ValidateKey; Extract still never panics
// on any input and reports an unusable spec as a malformed key.
func Extract(req *http.Request, key KeySpec, shards int) (int, error) {
	value, err := keyValue(req, key)
	if err != nil {
		return 0, err
	}
	return shardOfValue(value, key, shards)
}

// keyValue finds the raw key string; it does not allocate on the success
// path of header, cookie and plain query or path keys.
func keyValue(req *http.Request, key KeySpec) (string, error) {
	switch key.Source {
	case KeyFromHeader:
		return single(key, req.Header[textproto.CanonicalMIMEHeaderKey(keyName(key))])
	case KeyFromCookie:
		return cookieValue(req, key)
	case KeyFromQuery:
		return queryValue(req, key)
	case KeyFromPathSegment:
		return pathSegment(req, key)
	}
	return "", keyErr(ErrMalformedKey, key, "unknown key source")
}

// single accepts repeated occurrences only when they agree: two different
// keys in one request would let a client reach one unit while the
// application reads the other.
func single(key KeySpec, values []string) (string, error) {
	var found string
	for _, v := range values {
		v = strings.Trim(v, " \t") // optional whitespace around a field value
		if v == "" {
			continue
		}
		if found != "" && found != v {
			return "", keyErr(ErrMalformedKey, key, "appears more than once with different values")
		}
		found = v
	}
	if found == "" {
		return "", keyErr(ErrMissingKey, key, "not present")
	}
	return found, nil
}

func cookieValue(req *http.Request, key KeySpec) (string, error) {
	var found string
	for _, line := range req.Header["Cookie"] {
		for line != "" {
			var part string
			part, line, _ = strings.Cut(line, ";")
			name, value, ok := strings.Cut(strings.TrimSpace(part), "=")
			if !ok || name != key.Name {
				continue
			}
			if len(value) >= 2 && value[0] == '"' && value[len(value)-1] == '"' {
				value = value[1 : len(value)-1]
			}
			if value == "" {
				continue
			}
			if found != "" && found != value {
				return "", keyErr(ErrMalformedKey, key, "appears more than once with different values")
			}
			found = value
		}
	}
	if found == "" {
		return "", keyErr(ErrMissingKey, key, "not present")
	}
	return found, nil
}

func queryValue(req *http.Request, key KeySpec) (string, error) {
	var found string
	query := req.URL.RawQuery
	for query != "" {
		var pair string
		pair, query, _ = strings.Cut(query, "&")
		rawName, rawValue, _ := strings.Cut(pair, "=")
		name, err := unescapeQuery(rawName)
		if err != nil || name != key.Name {
			continue
		}
		value, err := unescapeQuery(rawValue)
		if err != nil {
			return "", keyErr(ErrMalformedKey, key, "bad percent-encoding")
		}
		if value == "" {
			continue
		}
		if found != "" && found != value {
			return "", keyErr(ErrMalformedKey, key, "appears more than once with different values")
		}
		found = value
	}
	if found == "" {
		return "", keyErr(ErrMissingKey, key, "not present")
	}
	return found, nil
}

// unescapeQuery skips url.QueryUnescape, and its allocation, for the common
// plain name or value.
func unescapeQuery(s string) (string, error) {
	if strings.ContainsAny(s, "%+") {
		return url.QueryUnescape(s)
	}
	return s, nil
}

// pathSegment reads the escaped path so an encoded slash inside a segment
// cannot shift the segments after it.
func pathSegment(req *http.Request, key KeySpec) (string, error) {
	path := strings.TrimPrefix(req.URL.EscapedPath(), "/")
	for i := 0; ; i++ {
		segment, rest, more := strings.Cut(path, "/")
		if i == key.PathSegment {
			if segment == "" {
				return "", keyErr(ErrMissingKey, key, "path segment is empty")
			}
			if !strings.Contains(segment, "%") {
				return segment, nil
			}
			value, err := url.PathUnescape(segment)
			if err != nil {
				return "", keyErr(ErrMalformedKey, key, "bad percent-encoding")
			}
			return value, nil
		}
		if !more {
			return "", keyErr(ErrMissingKey, key, "path has too few segments")
		}
		path = rest
	}
}

// keyName names the key in errors: the header, cookie or query name, or the
// path segment's index.
func keyName(key KeySpec) string {
	switch {
	case key.Source == KeyFromPathSegment:
		return fmt.Sprintf("segment %d", key.PathSegment)
	case key.Source == KeyFromHeader && key.Name == "":
		return DefaultKeyHeader
	}
	return key.Name
}

// shardOfValue maps a key value to a shard. Keys are limited to visible
// ASCII without commas: anything else is a client or proxy bug (a comma
// means two header values were folded into one).
func shardOfValue(value string, key KeySpec, shards int) (int, error) {
	if shards < 1 {
		return 0, keyErr(ErrMalformedKey, key, "shard map has no shards")
	}
	if len(value) > MaxKeyLength {
		return 0, keyErr(ErrMalformedKey, key, fmt.Sprintf("longer than %d bytes", MaxKeyLength))
	}
	for i := 0; i < len(value); i++ {
		if c := value[i]; c < 0x21 || c > 0x7e || c == ',' {
			return 0, keyErr(ErrMalformedKey, key, fmt.Sprintf("byte %#x at position %d is not allowed", c, i))
		}
	}
	if key.Hash {
		return int(fnv1a32(value) % uint32(shards)), nil
	}
	if key.Digits == nil {
		return 0, keyErr(ErrMalformedKey, key, "key spec selects neither digits nor hash")
	}
	offset, count := key.Digits.Offset, key.Digits.Count
	if count < 1 || count > MaxDigits || offset < 0 {
		return 0, keyErr(ErrMalformedKey, key, "key spec has an invalid digits selection")
	}
	end := len(value) - offset
	if end-count < 0 {
		return 0, keyErr(ErrMalformedKey, key,
			fmt.Sprintf("too short: needs %d digits ending %d characters before the end", count, offset))
	}
	n := 0
	for i := end - count; i < end; i++ {
		c := value[i]
		if c < '0' || c > '9' {
			return 0, keyErr(ErrMalformedKey, key, fmt.Sprintf("character %q at position %d is not a digit", c, i))
		}
		n = n*10 + int(c-'0')
	}
	return n % shards, nil
}

// fnv1a32 is FNV-1a inline, because hash/fnv would allocate per request.
func fnv1a32(s string) uint32 {
	h := uint32(2166136261)
	for i := 0; i < len(s); i++ {
		h ^= uint32(s[i])
		h *= 16777619
	}
	return h
}

func keyErr(kind error, key KeySpec, reason string) *KeyError {
	return &KeyError{Kind: kind, Source: key.Source, Name: keyName(key), Reason: reason}
}
