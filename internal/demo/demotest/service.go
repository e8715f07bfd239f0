package demotest

import (
	"net/http/httptest"
	"testing"
	"time"

	"github.com/cafe-dev/cafe/internal/demo"
)

// Replica is one demo service replica served in-process.
type Replica struct {
	URL    string
	Server *demo.Server
	Store  *demo.Store
}

// StartReplica serves the demo API as identity on a loopback port, against
// the etcd at endpoints under prefix. It stops when the test ends.
func StartReplica(t testing.TB, endpoints []string, prefix string, identity demo.Identity) *Replica {
	t.Helper()
	store, err := demo.OpenStore(endpoints, prefix, demo.DefaultEtcdTimeout)
	if err != nil {
		t.Fatalf("open the demo store on %v: %v", endpoints, err)
	}
	api := demo.NewServer(identity, store, demo.DefaultRequestTimeout)
	srv := httptest.NewServer(api)
	t.Cleanup(func() {
		srv.Close()
		_ = store.Close()
	})
	return &Replica{URL: srv.URL, Server: api, Store: store}
}

// Prefix is an etcd key prefix of its own for a test, so tests sharing a
// cluster do not see each other's data.
func Prefix(t testing.TB) string {
	return "/" + t.Name() + "-" + time.Now().Format("150405.000000") + "/"
}
