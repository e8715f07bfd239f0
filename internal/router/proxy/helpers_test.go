package proxy

import (
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cafe-dev/cafe/internal/router/shard"
)

// backend is an upstream on loopback that records what it received.
type backend struct {
	*httptest.Server
	hits     atomic.Int64
	mu       sync.Mutex
	requests []*http.Request
	bodies   []string
}

func newBackend(t *testing.T, name string, handler http.HandlerFunc) *backend {
	t.Helper()
	b := &backend{}
	b.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b.hits.Add(1)
		body, _ := io.ReadAll(r.Body)
		b.mu.Lock()
		b.requests = append(b.requests, r)
		b.bodies = append(b.bodies, string(body))
		b.mu.Unlock()
		w.Header().Set("X-Backend", name)
		if handler != nil {
			handler(w, r)
			return
		}
		_, _ = io.WriteString(w, "hello from "+name)
	}))
	t.Cleanup(b.Close)
	return b
}

func (b *backend) addr() string { return b.Listener.Addr().String() }

func (b *backend) last() *http.Request {
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.requests) == 0 {
		return nil
	}
	return b.requests[len(b.requests)-1]
}

// fakeClock drives outlier ejection without sleeping.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func newFakeClock() *fakeClock { return &fakeClock{now: time.Unix(1_700_000_000, 0)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// twoUnitMap is units a (shards 0-49) and b (50-99), each the other's
// failover, keyed by the last two digits of X-Cafe-Uid.
func twoUnitMap(epoch int64, routerA, routerB string) shard.MapSpec {
	return shard.MapSpec{
		Epoch:  epoch,
		Shards: 100,
		Key:    shard.KeySpec{Source: shard.KeyFromHeader, Digits: &shard.Digits{Count: 2}},
		Units: []shard.UnitSpec{
			{Name: "a", Ranges: []shard.Range{{From: 0, To: 49}}, FailoverTo: "b", RouterAddress: routerA},
			{Name: "b", Ranges: []shard.Range{{From: 50, To: 99}}, FailoverTo: "a", RouterAddress: routerB},
		},
	}
}

func compile(t testing.TB, spec shard.MapSpec) *shard.Table {
	t.Helper()
	table, err := shard.Compile(spec)
	if err != nil {
		t.Fatal(err)
	}
	return table
}

// router is a Handler served on loopback through NewServer, as in
// production.
type router struct {
	*Handler
	addr string
}

// reservedListener lets a test know a router's address before the map
// naming it is compiled.
func listenLoopback(t testing.TB) net.Listener {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func startRouter(t testing.TB, l net.Listener, o Options, so ServerOptions, routes ...Route) *router {
	t.Helper()
	h, err := NewHandler(o)
	if err != nil {
		t.Fatal(err)
	}
	if len(routes) == 0 {
		routes = []Route{{Name: "accounts", Host: "*", PathPrefix: "/", ShardMap: "users"}}
	}
	if err := h.SetRoutes(routes); err != nil {
		t.Fatal(err)
	}
	if so.OnRefuse == nil {
		so.OnRefuse = o.Metrics.Refused
	}
	srv := NewServer(h, so)
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { _ = srv.Close() })
	return &router{Handler: h, addr: l.Addr().String()}
}

func get(t testing.TB, addr, path string, header map[string]string) (*http.Response, string) {
	t.Helper()
	return do(t, http.MethodGet, addr, path, header, "")
}

func do(t testing.TB, method, addr, path string, header map[string]string, body string) (*http.Response, string) {
	t.Helper()
	var reader io.Reader
	if body != "" {
		reader = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, "http://"+addr+path, reader)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		if k == "Host" {
			req.Host = v
			continue
		}
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(data)
}

func uid(n int) map[string]string {
	return map[string]string{"X-Cafe-Uid": "U10" + twoDigits(n)}
}

func twoDigits(n int) string {
	return string([]byte{byte('0' + n/10%10), byte('0' + n%10)})
}
