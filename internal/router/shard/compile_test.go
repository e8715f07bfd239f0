package shard

import (
	"errors"
	"strings"
	"testing"
)

// twoUnits is a valid map: a owns 0-49, b owns 50-99, each the other's
// failover.
func twoUnits() MapSpec {
	return MapSpec{
		Epoch:  3,
		Shards: 100,
		Key:    KeySpec{Source: KeyFromHeader, Digits: &Digits{Count: 2}},
		Units: []UnitSpec{
			{Name: "a", Ranges: []Range{{0, 49}}, FailoverTo: "b", RouterAddress: "127.0.0.1:8001"},
			{Name: "b", Ranges: []Range{{50, 99}}, FailoverTo: "a", RouterAddress: "127.0.0.1:8002"},
		},
	}
}

func TestCompileRejects(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*MapSpec)
		want   []string
	}{
		{"zero shards", func(m *MapSpec) { m.Shards = 0 }, []string{"shards: 0 is outside 1..10000"}},
		{"too many shards", func(m *MapSpec) { m.Shards = MaxShards + 1; m.Key.Digits.Count = 5 }, []string{"shards: 10001"}},
		{"gap", func(m *MapSpec) { m.Units[1].Ranges = []Range{{60, 99}} }, []string{"shards 50-59 are owned by no unit"}},
		{"gap at the end", func(m *MapSpec) { m.Units[1].Ranges = []Range{{50, 97}} }, []string{"shards 98-99 are owned by no unit"}},
		{"overlap", func(m *MapSpec) { m.Units[1].Ranges = []Range{{40, 99}} }, []string{`units[1].ranges[0]: shard 40 is also owned by unit "a"`}},
		{"range beyond shards", func(m *MapSpec) { m.Units[1].Ranges = []Range{{50, 100}} }, []string{"units[1].ranges[0]: 50-100 must satisfy"}},
		{"inverted range", func(m *MapSpec) { m.Units[1].Ranges = []Range{{99, 50}} }, []string{"units[1].ranges[0]: 99-50"}},
		{"negative from", func(m *MapSpec) { m.Units[0].Ranges = []Range{{-1, 49}} }, []string{"units[0].ranges[0]: -1-49"}},
		{"unknown failover", func(m *MapSpec) { m.Units[0].FailoverTo = "c" }, []string{`units[0].failoverTo: unit "c" is not listed`}},
		{"self failover", func(m *MapSpec) { m.Units[0].FailoverTo = "a" }, []string{`units[0].failoverTo: unit "a" cannot fail over to itself`}},
		{"duplicate unit", func(m *MapSpec) { m.Units[1].Name = "a"; m.Units[1].FailoverTo = "" }, []string{`units[1].name: "a" is listed twice`}},
		{"bad unit name", func(m *MapSpec) { m.Units[0].Name = "A_1"; m.Units[1].FailoverTo = "" }, []string{`units[0].name: "A_1" is not a DNS label`}},
		{"bad state", func(m *MapSpec) { m.Units[0].State = "active" }, []string{`units[0].state: "active"`}},
		{"bad router address", func(m *MapSpec) { m.Units[0].RouterAddress = "router-a" }, []string{"units[0].routerAddress:"}},
		{"router address port", func(m *MapSpec) { m.Units[0].RouterAddress = "router-a:99999" }, []string{"has no valid port"}},
		{"no units", func(m *MapSpec) { m.Units = nil }, []string{"units: at least one unit is required", "shards 0-99 are owned by no unit"}},
		{"unknown default unit", func(m *MapSpec) {
			m.OnMissingKey = MissingKeyPolicy{Action: DefaultUnitForMissingKey, Unit: "z"}
		}, []string{`onMissingKey.unit: unit "z" is not listed`}},
		{"unit with reject", func(m *MapSpec) { m.OnMissingKey = MissingKeyPolicy{Action: RejectMissingKey, Unit: "a"} }, []string{"onMissingKey.unit: must be empty"}},
		{"bad action", func(m *MapSpec) { m.OnMissingKey.Action = "Drop" }, []string{`onMissingKey.action: "Drop"`}},
		{"digits and hash", func(m *MapSpec) { m.Key.Hash = true }, []string{"key: digits and hash are mutually exclusive"}},
		{"neither digits nor hash", func(m *MapSpec) { m.Key.Digits = nil }, []string{"key: one of digits or hash is required"}},
		{"digits cannot reach shards", func(m *MapSpec) { m.Key.Digits.Count = 1 }, []string{"key.digits.count: 1 digits reach only 10 of 100 shards"}},
		{"too many digits", func(m *MapSpec) { m.Key.Digits.Count = 10 }, []string{"key.digits.count: 10 is outside 1..9"}},
		{"negative offset", func(m *MapSpec) { m.Key.Digits.Offset = -1 }, []string{"key.digits.offset: -1"}},
		{"bad header name", func(m *MapSpec) { m.Key.Name = "X Uid" }, []string{`key.name: "X Uid" is not a valid header name`}},
		{"cookie without name", func(m *MapSpec) { m.Key.Source = KeyFromCookie }, []string{"key.name: required for source Cookie"}},
		{"path segment out of range", func(m *MapSpec) { m.Key.Source = KeyFromPathSegment; m.Key.PathSegment = 64 }, []string{"key.pathSegment: 64"}},
		{"unknown source", func(m *MapSpec) { m.Key.Source = "Body" }, []string{`key.source: "Body"`}},
		{"several problems at once", func(m *MapSpec) {
			m.Units[0].FailoverTo = "c"
			m.Units[1].Ranges = []Range{{60, 99}}
		}, []string{`unit "c" is not listed`, "shards 50-59 are owned by no unit"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			spec := twoUnits()
			tc.mutate(&spec)
			table, err := Compile(spec)
			var invalid *InvalidMapError
			if !errors.As(err, &invalid) || table != nil {
				t.Fatalf("Compile() = %v, %v; want *InvalidMapError", table, err)
			}
			for _, want := range tc.want {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not mention %q", err, want)
				}
			}
		})
	}
}

func TestCompileOverlapIsNotAlsoAGap(t *testing.T) {
	spec := twoUnits()
	spec.Units[1].Ranges = []Range{{40, 99}}
	_, err := Compile(spec)
	var invalid *InvalidMapError
	if !errors.As(err, &invalid) || len(invalid.Problems) != 1 {
		t.Fatalf("Compile() error = %v, want exactly the overlap", err)
	}
}

func TestCompileAccepts(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*MapSpec)
	}{
		{"two units", func(*MapSpec) {}},
		{"standby unit without ranges", func(m *MapSpec) { m.Units = append(m.Units, UnitSpec{Name: "standby"}) }},
		{"several ranges per unit", func(m *MapSpec) {
			m.Units[0].Ranges = []Range{{0, 9}, {50, 59}}
			m.Units[1].Ranges = []Range{{10, 49}, {60, 99}}
		}},
		{"down unit without failover", func(m *MapSpec) { m.Units[0].State = UnitDown; m.Units[0].FailoverTo = "" }},
		{"default unit", func(m *MapSpec) { m.OnMissingKey = MissingKeyPolicy{Action: DefaultUnitForMissingKey, Unit: "b"} }},
		{"hash key", func(m *MapSpec) { m.Key = KeySpec{Source: KeyFromQuery, Name: "uid", Hash: true} }},
		{"ipv6 router address", func(m *MapSpec) { m.Units[0].RouterAddress = "[::1]:8001" }},
		{"single shard", func(m *MapSpec) {
			m.Shards = 1
			m.Units = []UnitSpec{{Name: "only", Ranges: []Range{{0, 0}}}}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			spec := twoUnits()
			tc.mutate(&spec)
			if _, err := Compile(spec); err != nil {
				t.Fatalf("Compile() error = %v", err)
			}
		})
	}
}
