package shard

import (
	"errors"
	"net/http"
	"net/url"
	"testing"
)

func request(header http.Header, rawPath, rawQuery string) *http.Request {
	u := &url.URL{Path: rawPath, RawQuery: rawQuery}
	if p, err := url.PathUnescape(rawPath); err == nil {
		u.Path, u.RawPath = p, rawPath
	}
	if header == nil {
		header = http.Header{}
	}
	return &http.Request{Method: http.MethodGet, URL: u, Header: header}
}

func TestExtract(t *testing.T) {
	lastTwo := &Digits{Offset: 0, Count: 2}
	headerKey := KeySpec{Source: KeyFromHeader, Digits: lastTwo}
	tests := []struct {
		name   string
		key    KeySpec
		shards int
		req    *http.Request
		want   int
		kind   error
	}{
		{"default header, last two digits", headerKey, 100,
			request(http.Header{"X-Cafe-Uid": {"U1234567"}}, "/", ""), 67, nil},
		{"header name is case-insensitive", KeySpec{Source: KeyFromHeader, Name: "x-user", Digits: lastTwo}, 100,
			request(http.Header{"X-User": {"42"}}, "/", ""), 42, nil},
		{"digits modulo shards", headerKey, 30,
			request(http.Header{"X-Cafe-Uid": {"99"}}, "/", ""), 9, nil},
		{"digits with offset", KeySpec{Source: KeyFromHeader, Digits: &Digits{Offset: 2, Count: 2}}, 100,
			request(http.Header{"X-Cafe-Uid": {"123456"}}, "/", ""), 34, nil},
		{"repeated equal header values", headerKey, 100,
			request(http.Header{"X-Cafe-Uid": {"07", " 07 "}}, "/", ""), 7, nil},
		{"header absent", headerKey, 100, request(nil, "/", ""), 0, ErrMissingKey},
		{"header empty", headerKey, 100,
			request(http.Header{"X-Cafe-Uid": {""}}, "/", ""), 0, ErrMissingKey},
		{"header values differ", headerKey, 100,
			request(http.Header{"X-Cafe-Uid": {"11", "12"}}, "/", ""), 0, ErrMalformedKey},
		{"folded header list", headerKey, 100,
			request(http.Header{"X-Cafe-Uid": {"11,12"}}, "/", ""), 0, ErrMalformedKey},
		{"non-digit in selected digits", headerKey, 100,
			request(http.Header{"X-Cafe-Uid": {"12a"}}, "/", ""), 0, ErrMalformedKey},
		{"too short for digits", KeySpec{Source: KeyFromHeader, Digits: &Digits{Offset: 3, Count: 2}}, 100,
			request(http.Header{"X-Cafe-Uid": {"1234"}}, "/", ""), 0, ErrMalformedKey},
		{"space inside key", headerKey, 100,
			request(http.Header{"X-Cafe-Uid": {"1 2"}}, "/", ""), 0, ErrMalformedKey},
		{"key too long", KeySpec{Source: KeyFromHeader, Hash: true}, 100,
			request(http.Header{"X-Cafe-Uid": {string(make([]byte, MaxKeyLength+1))}}, "/", ""), 0, ErrMalformedKey},
		{"hash", KeySpec{Source: KeyFromHeader, Hash: true}, 100,
			request(http.Header{"X-Cafe-Uid": {"alice"}}, "/", ""), int(fnv1a32("alice") % 100), nil},
		{"cookie", KeySpec{Source: KeyFromCookie, Name: "uid", Digits: lastTwo}, 100,
			request(http.Header{"Cookie": {"a=1; uid=U9905;b=2"}}, "/", ""), 5, nil},
		{"quoted cookie", KeySpec{Source: KeyFromCookie, Name: "uid", Digits: lastTwo}, 100,
			request(http.Header{"Cookie": {`uid="U9918"`}}, "/", ""), 18, nil},
		{"cookie across header lines", KeySpec{Source: KeyFromCookie, Name: "uid", Digits: lastTwo}, 100,
			request(http.Header{"Cookie": {"a=1", "uid=31"}}, "/", ""), 31, nil},
		{"cookie name is a prefix only", KeySpec{Source: KeyFromCookie, Name: "uid", Digits: lastTwo}, 100,
			request(http.Header{"Cookie": {"uidx=31"}}, "/", ""), 0, ErrMissingKey},
		{"cookie differs", KeySpec{Source: KeyFromCookie, Name: "uid", Digits: lastTwo}, 100,
			request(http.Header{"Cookie": {"uid=31; uid=32"}}, "/", ""), 0, ErrMalformedKey},
		{"query", KeySpec{Source: KeyFromQuery, Name: "uid", Digits: lastTwo}, 100,
			request(nil, "/", "x=1&uid=U77&y"), 77, nil},
		{"escaped query name and value", KeySpec{Source: KeyFromQuery, Name: "user id", Digits: lastTwo}, 100,
			request(nil, "/", "user+id=%35%36"), 56, nil},
		{"bad query escape", KeySpec{Source: KeyFromQuery, Name: "uid", Digits: lastTwo}, 100,
			request(nil, "/", "uid=%zz"), 0, ErrMalformedKey},
		{"query absent", KeySpec{Source: KeyFromQuery, Name: "uid", Digits: lastTwo}, 100,
			request(nil, "/", "uidx=1"), 0, ErrMissingKey},
		{"query differs", KeySpec{Source: KeyFromQuery, Name: "uid", Digits: lastTwo}, 100,
			request(nil, "/", "uid=1&uid=2"), 0, ErrMalformedKey},
		{"path segment", KeySpec{Source: KeyFromPathSegment, PathSegment: 1, Digits: lastTwo}, 100,
			request(nil, "/users/1042/cards", ""), 42, nil},
		{"path segment is last", KeySpec{Source: KeyFromPathSegment, PathSegment: 1, Digits: lastTwo}, 100,
			request(nil, "/users/1043", ""), 43, nil},
		{"path too short", KeySpec{Source: KeyFromPathSegment, PathSegment: 2, Digits: lastTwo}, 100,
			request(nil, "/users/1042", ""), 0, ErrMissingKey},
		{"empty path segment", KeySpec{Source: KeyFromPathSegment, PathSegment: 1, Digits: lastTwo}, 100,
			request(nil, "/users//cards", ""), 0, ErrMissingKey},
		{"encoded slash does not shift segments", KeySpec{Source: KeyFromPathSegment, PathSegment: 2, Digits: lastTwo}, 100,
			request(nil, "/a%2Fb/c/55", ""), 55, nil},
		{"unknown source", KeySpec{Source: "Body", Digits: lastTwo}, 100,
			request(nil, "/", ""), 0, ErrMalformedKey},
		{"zero shards", headerKey, 0,
			request(http.Header{"X-Cafe-Uid": {"12"}}, "/", ""), 0, ErrMalformedKey},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Extract(tc.req, tc.key, tc.shards)
			if tc.kind != nil {
				if !errors.Is(err, tc.kind) {
					t.Fatalf("Extract() error = %v, want kind %v", err, tc.kind)
				}
				var keyErr *KeyError
				if !errors.As(err, &keyErr) || keyErr.Reason == "" {
					t.Fatalf("error %v is not a *KeyError with a reason", err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("Extract() = %d, %v; want %d", got, err, tc.want)
			}
		})
	}
}

func TestKeyErrorMessageNamesTheKey(t *testing.T) {
	_, err := Extract(request(nil, "/", ""), KeySpec{Source: KeyFromHeader, Digits: &Digits{Count: 2}}, 100)
	want := `shard key missing: header "X-Cafe-Uid": not present`
	if err == nil || err.Error() != want {
		t.Fatalf("error = %v, want %q", err, want)
	}
}

func TestExtractDoesNotAllocateOnSuccess(t *testing.T) {
	key := KeySpec{Source: KeyFromHeader, Name: DefaultKeyHeader, Digits: &Digits{Count: 2}}
	req := request(http.Header{"X-Cafe-Uid": {"U1234567"}}, "/", "")
	allocs := testing.AllocsPerRun(100, func() {
		if _, err := Extract(req, key, 100); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Fatalf("Extract allocated %v times per call, want 0", allocs)
	}
}
