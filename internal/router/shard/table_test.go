package shard

import (
	"math/rand"
	"reflect"
	"testing"
)

// chainMap builds units a..d owning 25 shards each, with the given states
// and failover targets.
func chainMap(states map[string]UnitState, failover map[string]string) MapSpec {
	spec := MapSpec{Epoch: 1, Shards: 100, Key: KeySpec{Source: KeyFromHeader, Digits: &Digits{Count: 2}}}
	for i, name := range []string{"a", "b", "c", "d"} {
		spec.Units = append(spec.Units, UnitSpec{
			Name: name, Ranges: []Range{{i * 25, i*25 + 24}},
			State: states[name], FailoverTo: failover[name],
		})
	}
	return spec
}

func TestOwnerAppliesStateAndFailover(t *testing.T) {
	ring := map[string]string{"a": "b", "b": "c", "c": "d", "d": "a"}
	tests := []struct {
		name     string
		states   map[string]UnitState
		failover map[string]string
		shard    int
		want     string // "" means no unit can serve
	}{
		{"active serves its own", nil, ring, 0, "a"},
		{"down goes to failover", map[string]UnitState{"a": UnitDown}, ring, 0, "b"},
		{"draining goes to failover", map[string]UnitState{"a": UnitDraining}, ring, 0, "b"},
		{"down then down follows once more", map[string]UnitState{"a": UnitDown, "b": UnitDown}, ring, 0, "c"},
		{"never further than two hops", map[string]UnitState{"a": UnitDown, "b": UnitDown, "c": UnitDown}, ring, 0, ""},
		{"draining failover is skipped for an active one", map[string]UnitState{"a": UnitDown, "b": UnitDraining}, ring, 0, "c"},
		{"draining unit keeps its shards when no active unit is reachable",
			map[string]UnitState{"a": UnitDraining, "b": UnitDown, "c": UnitDown}, ring, 0, "a"},
		{"down unit falls to a draining one when nothing is active",
			map[string]UnitState{"a": UnitDown, "b": UnitDraining, "c": UnitDown}, ring, 0, "b"},
		{"down without failover serves nothing", map[string]UnitState{"a": UnitDown}, nil, 0, ""},
		{"mutual pair both down", map[string]UnitState{"a": UnitDown, "b": UnitDown},
			map[string]string{"a": "b", "b": "a"}, 0, ""},
		{"other units unaffected", map[string]UnitState{"a": UnitDown}, ring, 60, "c"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			table, err := Compile(chainMap(tc.states, tc.failover))
			if err != nil {
				t.Fatal(err)
			}
			got, ok := table.Owner(tc.shard)
			if tc.want == "" {
				if ok {
					t.Fatalf("Owner(%d) = %q, want none", tc.shard, got.Name)
				}
				return
			}
			if !ok || got.Name != tc.want {
				t.Fatalf("Owner(%d) = %q, %v; want %q", tc.shard, got.Name, ok, tc.want)
			}
		})
	}
}

func TestOwnerOutOfRange(t *testing.T) {
	table, err := Compile(twoUnits())
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []int{-1, 100} {
		if _, ok := table.Owner(s); ok {
			t.Errorf("Owner(%d) found a unit", s)
		}
		if _, ok := table.DeclaredOwner(s); ok {
			t.Errorf("DeclaredOwner(%d) found a unit", s)
		}
		if label := table.RangeLabel(s); label != "" {
			t.Errorf("RangeLabel(%d) = %q", s, label)
		}
	}
}

func TestTableAccessors(t *testing.T) {
	spec := twoUnits()
	spec.Units[0].State = UnitDown
	spec.Units[1].Ranges = []Range{{50, 59}, {60, 99}}
	spec.OnMissingKey = MissingKeyPolicy{Action: DefaultUnitForMissingKey, Unit: "a"}
	table, err := Compile(spec)
	if err != nil {
		t.Fatal(err)
	}
	if table.Epoch() != 3 || table.Shards() != 100 {
		t.Errorf("Epoch, Shards = %d, %d", table.Epoch(), table.Shards())
	}
	if u, ok := table.DeclaredOwner(10); !ok || u.Name != "a" || u.State != UnitDown {
		t.Errorf("DeclaredOwner(10) = %+v", u)
	}
	if u, ok := table.MissingKeyUnit(); !ok || u.Name != "b" {
		t.Errorf("MissingKeyUnit() = %+v, %v; want b (a is down)", u, ok)
	}
	if u, ok := table.Unit("b"); !ok || u.RouterAddress != "127.0.0.1:8002" || u.State != UnitActive {
		t.Errorf("Unit(b) = %+v", u)
	}
	if _, ok := table.Unit("z"); ok {
		t.Error("Unit(z) found")
	}
	for shard, want := range map[int]string{0: "0-49", 55: "50-59", 99: "60-99"} {
		if got := table.RangeLabel(shard); got != want {
			t.Errorf("RangeLabel(%d) = %q, want %q", shard, got, want)
		}
	}
	want := []Assignment{
		{Unit: "a", Ranges: []Range{{0, 49}}, ServedBy: "b"},
		{Unit: "b", Ranges: []Range{{50, 99}}, ServedBy: "b"},
	}
	if got := table.Effective(); !reflect.DeepEqual(got, want) {
		t.Errorf("Effective() = %+v, want %+v", got, want)
	}
}

func TestMissingKeyUnitRejectPolicy(t *testing.T) {
	table, err := Compile(twoUnits())
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := table.MissingKeyUnit(); ok {
		t.Fatal("MissingKeyUnit() found a unit under the Reject policy")
	}
}

func TestShardOfUsesCanonicalHeaderName(t *testing.T) {
	spec := twoUnits()
	spec.Key.Name = "x-user-id"
	table, err := Compile(spec)
	if err != nil {
		t.Fatal(err)
	}
	shard, err := table.ShardOf(request(map[string][]string{"X-User-Id": {"U0042"}}, "/", ""))
	if err != nil || shard != 42 {
		t.Fatalf("ShardOf() = %d, %v; want 42", shard, err)
	}
}

// TestOwnerProperties compiles random valid maps and checks that failover
// never serves from a Down unit, keeps an Active owner, and stays on the
// owner's failover chain.
func TestOwnerProperties(t *testing.T) {
	const seed = 20240611
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewSource(seed))
	states := []UnitState{UnitActive, UnitDraining, UnitDown}
	for iter := 0; iter < 500; iter++ {
		spec := randomValidMap(rng, states)
		table, err := Compile(spec)
		if err != nil {
			t.Fatalf("iteration %d: Compile(%+v) = %v", iter, spec, err)
		}
		byName := map[string]UnitSpec{}
		for _, u := range spec.Units {
			byName[u.Name] = u
		}
		for s := 0; s < spec.Shards; s++ {
			declared, _ := table.DeclaredOwner(s)
			chain := []string{declared.Name}
			for next := byName[declared.Name].FailoverTo; next != "" && len(chain) < 3 && !containsName(chain, next); next = byName[next].FailoverTo {
				chain = append(chain, next)
			}
			owner, ok := table.Owner(s)
			switch {
			case declared.State == UnitActive && (!ok || owner.Name != declared.Name):
				t.Fatalf("iteration %d shard %d: active owner %q replaced by %q", iter, s, declared.Name, owner.Name)
			case ok && owner.State == UnitDown:
				t.Fatalf("iteration %d shard %d: served by down unit %q", iter, s, owner.Name)
			case ok && !containsName(chain, owner.Name):
				t.Fatalf("iteration %d shard %d: owner %q not on chain %v", iter, s, owner.Name, chain)
			case !ok && anyServing(chain, byName):
				t.Fatalf("iteration %d shard %d: no owner although chain %v has a serving unit", iter, s, chain)
			}
		}
	}
}

func randomValidMap(rng *rand.Rand, states []UnitState) MapSpec {
	names := []string{"a", "b", "c", "d", "e"}[:1+rng.Intn(5)]
	shards := 1 + rng.Intn(100)
	spec := MapSpec{Shards: shards, Key: KeySpec{Source: KeyFromHeader, Hash: true}}
	for _, n := range names {
		u := UnitSpec{Name: n, State: states[rng.Intn(len(states))]}
		if target := names[rng.Intn(len(names))]; target != n && rng.Intn(4) > 0 {
			u.FailoverTo = target
		}
		spec.Units = append(spec.Units, u)
	}
	for from := 0; from < shards; {
		to := from + rng.Intn(shards-from)
		owner := rng.Intn(len(names))
		spec.Units[owner].Ranges = append(spec.Units[owner].Ranges, Range{from, to})
		from = to + 1
	}
	return spec
}

func containsName(list []string, name string) bool {
	for _, n := range list {
		if n == name {
			return true
		}
	}
	return false
}

func anyServing(chain []string, byName map[string]UnitSpec) bool {
	for _, n := range chain {
		if byName[n].State != UnitDown {
			return true
		}
	}
	return false
}

func TestFailoverTarget(t *testing.T) {
	table, err := Compile(chainMap(map[string]UnitState{"b": UnitDown}, map[string]string{"a": "b", "b": "c"}))
	if err != nil {
		t.Fatal(err)
	}
	// The declared target, whatever its state: a router that sends a
	// request on checks the state itself.
	if u, ok := table.FailoverTarget("a"); !ok || u.Name != "b" || u.State != UnitDown {
		t.Errorf("FailoverTarget(a) = %+v, %v; want b (down)", u, ok)
	}
	if u, ok := table.FailoverTarget("b"); !ok || u.Name != "c" {
		t.Errorf("FailoverTarget(b) = %+v, %v; want c", u, ok)
	}
	for _, name := range []string{"c", "z"} {
		if u, ok := table.FailoverTarget(name); ok {
			t.Errorf("FailoverTarget(%s) = %+v, want none", name, u)
		}
	}
}
