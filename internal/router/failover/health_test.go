package failover

import (
	"context"
	"net"
	"reflect"
	"testing"
	"time"

	"github.com/cafe-dev/cafe/internal/router/kube"
)

func TestUnitHealth(t *testing.T) {
	endpoints := map[string][]kube.Endpoint{
		"ns/web": {
			{Address: "a1", Unit: "a", Ready: true},
			{Address: "b1", Unit: "b", Ready: false},
			{Address: "b2", Unit: "b", Ready: true},
			{Address: "c1", Unit: "c", Ready: true},
		},
		"ns/api": {
			{Address: "a2", Unit: "a", Ready: true},
			{Address: "b3", Unit: "b", Ready: true},
		},
	}
	dead := map[string]bool{"b2": true}
	alive := func(addr string) bool { return !dead[addr] }

	got := UnitHealth([]string{"a", "b", "c", "d"}, []string{"ns/web", "ns/api"}, endpoints, alive)
	want := map[string]bool{
		"a": true,  // live and ready in both routes
		"b": false, // web's only ready endpoint fails its probe
		"c": false, // nothing for api
		"d": false, // nothing at all
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("UnitHealth = %v, want %v", got, want)
	}
	if got := UnitHealth([]string{"b"}, []string{"ns/web"}, endpoints, nil); !got["b"] {
		t.Errorf("without probes readiness alone decides: b = %v", got["b"])
	}
	if got := UnitHealth([]string{"a"}, nil, endpoints, alive); got != nil {
		t.Errorf("a shard map without routes has no health, got %v", got)
	}
}

func TestHealthTracker(t *testing.T) {
	tr := newHealthTracker()
	at := func(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }

	got := tr.observe("m", map[string]bool{"a": true, "b": false}, at(0))
	if got["a"] != (Health{true, at(0)}) || got["b"] != (Health{false, at(0)}) {
		t.Fatalf("first observation %v", got)
	}
	got = tr.observe("m", map[string]bool{"a": true, "b": false}, at(5))
	if got["a"].Since != at(0) || got["b"].Since != at(0) {
		t.Errorf("unchanged health restarted its stretch: %v", got)
	}
	got = tr.observe("m", map[string]bool{"a": false, "b": false}, at(6))
	if got["a"] != (Health{false, at(6)}) || got["b"].Since != at(0) {
		t.Errorf("a flip must start a new stretch: %v", got)
	}
	got = tr.observe("m", map[string]bool{"b": false}, at(7))
	if _, ok := got["a"]; ok {
		t.Errorf("an unobserved unit is still reported: %v", got)
	}
	got = tr.observe("m", map[string]bool{"a": false, "b": false}, at(8))
	if got["a"].Since != at(8) {
		t.Errorf("a unit observed again starts afresh, got since %v", got["a"].Since)
	}
	tr.forget(map[string]bool{})
	if got = tr.observe("m", map[string]bool{"b": false}, at(9)); got["b"].Since != at(9) {
		t.Errorf("a forgotten map starts afresh, got %v", got)
	}
}

func TestPolicyFor(t *testing.T) {
	defaults := Policy{FailoverAfter: time.Second, FailbackAfter: time.Minute}
	p, problems := PolicyFor(map[string]string{AnnotationFailoverAfter: "3s"}, defaults)
	if p != (Policy{FailoverAfter: 3 * time.Second, FailbackAfter: time.Minute}) || problems != nil {
		t.Errorf("override: %+v %v", p, problems)
	}
	p, problems = PolicyFor(map[string]string{AnnotationFailoverAfter: "soon", AnnotationFailbackAfter: "-1s"}, defaults)
	if p != defaults || len(problems) != 2 {
		t.Errorf("bad annotations: %+v %v", p, problems)
	}
}

func TestProbe(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	closed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closedAddr := closed.Addr().String()
	closed.Close()
	got := probe(context.Background(), []string{l.Addr().String(), closedAddr}, time.Second)
	if !got[l.Addr().String()] || got[closedAddr] || len(got) != 2 {
		t.Errorf("probe = %v, want only the listener alive", got)
	}
}
