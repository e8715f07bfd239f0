package shard

import (
	"net/http"
	"net/textproto"
)

// Unit is a unit as a router needs it at request time.
type Unit struct {
	Name          string
	RouterAddress string
	State         UnitState
}

// Assignment is one row of the effective owner table: the shards a unit
// declares and the unit that serves them now ("" when none can).
type Assignment struct {
	Unit     string
	Ranges   []Range
	ServedBy string
}

// Table is a compiled shard map. It is immutable, so routers swap whole
// tables atomically and read them without locks.
type Table struct {
	epoch   int64
	shards  int
	key     KeySpec
	missing MissingKeyPolicy
	units   []Unit
	byName  map[string]int
	// declared and serving map a shard to a unit index; serving is -1 for a
	// shard that no unit can serve.
	declared []int
	serving  []int
	// rangeOf maps a shard to its declared range's label, a low-cardinality
	// metrics dimension.
	rangeOf []int
	labels  []string
	// servingFor maps a unit index to the index serving its shards, or -1.
	servingFor []int
	// failoverTo maps a unit index to its declared failoverTo's index, or
	// -1; routers use it to send a request on when a unit's endpoints die
	// before the control plane moves its shards.
	failoverTo []int
}

func newTable(spec MapSpec, declared, rangeOf []int, labels []string) *Table {
	t := &Table{
		epoch:    spec.Epoch,
		shards:   spec.Shards,
		key:      spec.Key,
		missing:  spec.OnMissingKey,
		byName:   make(map[string]int, len(spec.Units)),
		declared: declared,
		rangeOf:  rangeOf,
		labels:   labels,
	}
	if t.key.Source == KeyFromHeader {
		// Canonical once here, so the per-request header lookup is a plain
		// map read.
		t.key.Name = textproto.CanonicalMIMEHeaderKey(keyName(t.key))
	}
	for i, u := range spec.Units {
		state := u.State
		if state == "" {
			state = UnitActive
		}
		t.units = append(t.units, Unit{Name: u.Name, RouterAddress: u.RouterAddress, State: state})
		t.byName[u.Name] = i
	}
	t.servingFor = make([]int, len(spec.Units))
	t.failoverTo = make([]int, len(spec.Units))
	for i, u := range spec.Units {
		t.servingFor[i] = resolveServer(spec.Units, t.byName, i)
		t.failoverTo[i] = -1
		if next, ok := t.byName[u.FailoverTo]; ok {
			t.failoverTo[i] = next
		}
	}
	t.serving = make([]int, len(declared))
	for s, owner := range declared {
		t.serving[s] = t.servingFor[owner]
	}
	return t
}

// maxFailoverHops is how far failover follows failoverTo: to the unit's
// target and, if that cannot serve either, once more to the target's target.
const maxFailoverHops = 2

// resolveServer picks the unit that serves unit i's shards: the first
// Active unit on the failover chain (i, its failoverTo, that unit's
// failoverTo), else the first Draining one, never a Down one. The chain is
// short and stops at a unit seen before, so mutual pairs (a->b, b->a), the
// usual active-active layout, cannot loop.
func resolveServer(units []UnitSpec, byName map[string]int, i int) int {
	chain := []int{i}
	for hop := 0; hop < maxFailoverHops; hop++ {
		next, ok := byName[units[chain[len(chain)-1]].FailoverTo]
		if !ok || contains(chain, next) {
			break
		}
		chain = append(chain, next)
	}
	for _, want := range []UnitState{UnitActive, UnitDraining} {
		for _, c := range chain {
			state := units[c].State
			if state == "" {
				state = UnitActive
			}
			if state == want {
				return c
			}
		}
	}
	return -1
}

func contains(list []int, v int) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

// Epoch is the map's epoch.
func (t *Table) Epoch() int64 { return t.epoch }

// Shards is the number of shards.
func (t *Table) Shards() int { return t.shards }

// ShardOf extracts req's shard with the map's key spec.
func (t *Table) ShardOf(req *http.Request) (int, error) {
	return Extract(req, t.key, t.shards)
}

// Owner returns the unit serving shard after failover; false when shard is
// out of range or no unit on its failover chain can serve.
func (t *Table) Owner(shard int) (Unit, bool) {
	if shard < 0 || shard >= t.shards || t.serving[shard] < 0 {
		return Unit{}, false
	}
	return t.units[t.serving[shard]], true
}

// DeclaredOwner returns the unit whose ranges include shard, ignoring state.
func (t *Table) DeclaredOwner(shard int) (Unit, bool) {
	if shard < 0 || shard >= t.shards {
		return Unit{}, false
	}
	return t.units[t.declared[shard]], true
}

// MissingKeyUnit returns the unit serving keyless requests after failover;
// false when the policy rejects them or no unit can serve.
func (t *Table) MissingKeyUnit() (Unit, bool) {
	if t.missing.Action != DefaultUnitForMissingKey {
		return Unit{}, false
	}
	served := t.servingFor[t.byName[t.missing.Unit]]
	if served < 0 {
		return Unit{}, false
	}
	return t.units[served], true
}

// Unit looks a unit up by name.
func (t *Table) Unit(name string) (Unit, bool) {
	i, ok := t.byName[name]
	if !ok {
		return Unit{}, false
	}
	return t.units[i], true
}

// FailoverTarget returns the unit named as unit name's failoverTo; false
// when name is unknown or declares none.
func (t *Table) FailoverTarget(name string) (Unit, bool) {
	i, ok := t.byName[name]
	if !ok || t.failoverTo[i] < 0 {
		return Unit{}, false
	}
	return t.units[t.failoverTo[i]], true
}

// RangeLabel names shard's declared range ("0-49"), or "" out of range.
func (t *Table) RangeLabel(shard int) string {
	if shard < 0 || shard >= t.shards {
		return ""
	}
	return t.labels[t.rangeOf[shard]]
}

// Effective lists, per unit in spec order, its declared ranges (sorted and
// merged) and the unit serving them now: the ShardMap status table.
func (t *Table) Effective() []Assignment {
	out := make([]Assignment, len(t.units))
	for i, u := range t.units {
		out[i].Unit = u.Name
		if served := t.servingFor[i]; served >= 0 {
			out[i].ServedBy = t.units[served].Name
		}
	}
	for s, owner := range t.declared {
		ranges := out[owner].Ranges
		if n := len(ranges); n > 0 && ranges[n-1].To == s-1 {
			ranges[n-1].To = s
			continue
		}
		out[owner].Ranges = append(ranges, Range{From: s, To: s})
	}
	return out
}
