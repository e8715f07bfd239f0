package shard

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"testing"
)

// FuzzExtract feeds arbitrary request parts and key specs to Extract. The
// seed corpus lives in testdata/fuzz/FuzzExtract.
func FuzzExtract(f *testing.F) {
	f.Add("U1234567", "/users/1042/cards", "uid=77", "uid=31", uint8(0), uint8(0), uint8(2), false, uint16(100))
	f.Add("alice", "/", "", "", uint8(0), uint8(0), uint8(0), true, uint16(7))
	f.Fuzz(func(t *testing.T, header, path, query, cookie string, source, offset, count uint8, hash bool, shards uint16) {
		sources := []KeySource{KeyFromHeader, KeyFromCookie, KeyFromQuery, KeyFromPathSegment}
		key := KeySpec{Source: sources[int(source)%len(sources)], Name: "uid", PathSegment: int(offset % 4), Hash: hash}
		if key.Source == KeyFromHeader {
			key.Name = ""
		}
		if !hash {
			key.Digits = &Digits{Offset: int(offset % 8), Count: 1 + int(count)%MaxDigits}
		}
		req := request(http.Header{"X-Cafe-Uid": {header}, "Cookie": {cookie}}, "/"+path, query)

		got, err := Extract(req, key, int(shards))
		again, againErr := Extract(req, key, int(shards))
		if got != again || (err == nil) != (againErr == nil) {
			t.Fatalf("Extract is not deterministic: %d/%v then %d/%v", got, err, again, againErr)
		}
		if err != nil {
			var keyErr *KeyError
			if !errors.As(err, &keyErr) || !(errors.Is(err, ErrMissingKey) || errors.Is(err, ErrMalformedKey)) {
				t.Fatalf("error %v is not a missing or malformed *KeyError", err)
			}
			return
		}
		if got < 0 || got >= int(shards) {
			t.Fatalf("shard %d outside [0, %d)", got, shards)
		}
		if key.Source == KeyFromHeader && key.Digits != nil {
			if want := referenceDigits(header, *key.Digits, int(shards)); got != want {
				t.Fatalf("shard %d, reference %d for %q", got, want, header)
			}
		}
	})
}

// referenceDigits is the digits rule written the slow, obvious way.
func referenceDigits(value string, d Digits, shards int) int {
	s := strings.Trim(value, " \t")
	end := len(s) - d.Offset
	n, err := strconv.Atoi(s[end-d.Count : end])
	if err != nil {
		return -1
	}
	return n % shards
}

// FuzzCompile decodes bytes into a map of up to six units with arbitrary
// states, failover targets and ranges, and checks Compile against a
// brute-force model of coverage. The seed corpus lives in
// testdata/fuzz/FuzzCompile.
func FuzzCompile(f *testing.F) {
	f.Add(uint16(100), []byte{2, 0, 1, 1, 0, 49, 0, 0, 1, 50, 99})
	f.Add(uint16(10), []byte{1, 2, 0, 1, 0, 8})
	f.Fuzz(func(t *testing.T, shards uint16, data []byte) {
		spec := decodeMap(int(shards%300), data)
		table, err := Compile(spec)
		valid := referenceValid(spec)
		if (err == nil) != valid {
			t.Fatalf("Compile(%+v) error = %v, reference valid = %v", spec, err, valid)
		}
		if err != nil {
			var invalid *InvalidMapError
			if !errors.As(err, &invalid) || len(invalid.Problems) == 0 {
				t.Fatalf("error %v is not an *InvalidMapError with problems", err)
			}
			return
		}
		covered := make([]int, spec.Shards)
		for _, a := range table.Effective() {
			for _, r := range a.Ranges {
				for s := r.From; s <= r.To; s++ {
					covered[s]++
					if owner, ok := table.Owner(s); ok != (a.ServedBy != "") || owner.Name != a.ServedBy {
						t.Fatalf("shard %d: Owner = %q/%v, Effective says %q", s, owner.Name, ok, a.ServedBy)
					}
				}
			}
		}
		for s, n := range covered {
			if n != 1 {
				t.Fatalf("shard %d appears %d times in Effective()", s, n)
			}
			if owner, ok := table.Owner(s); ok && owner.State == UnitDown {
				t.Fatalf("shard %d served by down unit %q", s, owner.Name)
			}
		}
	})
}

// decodeMap reads: unit count, then per unit a state byte, a failover byte
// (index+1, 0 for none), a range count and that many from/to byte pairs.
func decodeMap(shards int, data []byte) MapSpec {
	next := func() int {
		if len(data) == 0 {
			return 0
		}
		b := data[0]
		data = data[1:]
		return int(b)
	}
	names := []string{"a", "b", "c", "d", "e", "f"}
	states := []UnitState{UnitActive, UnitDraining, UnitDown, ""}
	spec := MapSpec{Shards: shards, Key: KeySpec{Source: KeyFromQuery, Name: "uid", Hash: true}}
	units := next()%len(names) + 1
	for i := 0; i < units; i++ {
		u := UnitSpec{Name: names[i], State: states[next()%len(states)]}
		if target := next() % (units + 1); target > 0 {
			u.FailoverTo = names[target-1]
		}
		for r := next() % 4; r > 0; r-- {
			u.Ranges = append(u.Ranges, Range{From: next(), To: next()})
		}
		spec.Units = append(spec.Units, u)
	}
	return spec
}

// referenceValid says whether a decoded map is valid: shards in range,
// every range in bounds, every shard owned exactly once, no unit failing
// over to itself.
func referenceValid(spec MapSpec) bool {
	if spec.Shards < 1 {
		return false
	}
	owners := make([]int, spec.Shards)
	for _, u := range spec.Units {
		if u.FailoverTo == u.Name {
			return false
		}
		for _, r := range u.Ranges {
			if r.From < 0 || r.From > r.To || r.To >= spec.Shards {
				return false
			}
			for s := r.From; s <= r.To; s++ {
				owners[s]++
			}
		}
	}
	for _, n := range owners {
		if n != 1 {
			return false
		}
	}
	return true
}
