package proxy

import (
	"net/http"
	"testing"
)

// TestConnectionFieldCannotStripRouterFields: a client's Connection field
// naming the router's own fields strips only the client's fields: a peer
// router still gets the hop, epoch and forwarder, and the upstream the
// request ID.
func TestConnectionFieldCannotStripRouterFields(t *testing.T) {
	peer := newBackend(t, "peer", nil)
	l := listenLoopback(t)
	r := startRouter(t, l, Options{Unit: "a"}, ServerOptions{})
	r.SetShardMap("users", compile(t, twoUnitMap(7, l.Addr().String(), peer.addr())))
	h := uid(60) // unit b's: forwarded to its router
	h["Connection"] = "X-Cafe-Hop, X-Cafe-Epoch, X-Cafe-Forwarded-By, X-Request-Id, X-Private"
	h["X-Request-Id"] = "client-id-1"
	h["X-Private"] = "for the router only"
	if resp, body := get(t, r.addr, "/x", h); resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d %q", resp.StatusCode, body)
	}
	got := peer.last().Header
	for name, want := range map[string]string{
		HeaderHop:         hopFirst,
		HeaderEpoch:       "7",
		HeaderForwardedBy: "a",
		HeaderRequestID:   "client-id-1",
		"X-Private":       "",
	} {
		if v := got.Get(name); v != want {
			t.Errorf("peer got %s %q, want %q", name, v, want)
		}
	}
}
