package shard

import (
	"fmt"
	"net"
	"regexp"
	"strconv"
	"strings"
)

// MaxPathSegment bounds key.pathSegment; deeper keys are a configuration
// mistake, not a real URL layout.
const MaxPathSegment = 63

// MaxDigitsOffset bounds digits.offset to the longest usable key.
const MaxDigitsOffset = MaxKeyLength - 1

// InvalidMapError lists every problem Compile found, so an operator fixes a
// broken map in one pass instead of one error at a time.
type InvalidMapError struct {
	Problems []string
}

func (e *InvalidMapError) Error() string {
	return "invalid shard map: " + strings.Join(e.Problems, "; ")
}

var (
	unitNamePattern   = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$`)
	headerNamePattern = regexp.MustCompile("^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")
)

// Compile validates spec and builds its lookup table. It rejects gaps and
// overlaps between ranges, ranges outside [0, shards), unknown or
// self-referencing failover targets and default units, and key specs that
// cannot address every shard. Units whose shards no unit can serve (down
// with no healthy failover) are not an error: that is the state the table
// has to describe during an outage; Table.Effective reports them.
func Compile(spec MapSpec) (*Table, error) {
	var problems []string
	report := func(format string, args ...any) {
		problems = append(problems, fmt.Sprintf(format, args...))
	}

	if spec.Shards < 1 || spec.Shards > MaxShards {
		report("shards: %d is outside 1..%d", spec.Shards, MaxShards)
	}
	if err := ValidateKey(spec.Key, spec.Shards); err != nil {
		report("%v", err)
	}

	index := make(map[string]int, len(spec.Units))
	if len(spec.Units) == 0 {
		report("units: at least one unit is required")
	}
	for i, u := range spec.Units {
		if !unitNamePattern.MatchString(u.Name) {
			report("units[%d].name: %q is not a DNS label", i, u.Name)
		}
		if _, dup := index[u.Name]; dup {
			report("units[%d].name: %q is listed twice", i, u.Name)
			continue
		}
		index[u.Name] = i
	}
	for i, u := range spec.Units {
		switch u.State {
		case "", UnitActive, UnitDraining, UnitDown:
		default:
			report("units[%d].state: %q is not Active, Draining or Down", i, u.State)
		}
		if u.FailoverTo != "" {
			if u.FailoverTo == u.Name {
				report("units[%d].failoverTo: unit %q cannot fail over to itself", i, u.Name)
			} else if _, ok := index[u.FailoverTo]; !ok {
				report("units[%d].failoverTo: unit %q is not listed", i, u.FailoverTo)
			}
		}
		if u.RouterAddress != "" {
			if err := validateHostPort(u.RouterAddress); err != nil {
				report("units[%d].routerAddress: %v", i, err)
			}
		}
	}

	switch spec.OnMissingKey.Action {
	case "", RejectMissingKey:
		if spec.OnMissingKey.Unit != "" {
			report("onMissingKey.unit: must be empty unless action is DefaultUnit")
		}
	case DefaultUnitForMissingKey:
		if _, ok := index[spec.OnMissingKey.Unit]; !ok {
			report("onMissingKey.unit: unit %q is not listed", spec.OnMissingKey.Unit)
		}
	default:
		report("onMissingKey.action: %q is not Reject or DefaultUnit", spec.OnMissingKey.Action)
	}

	var declared []int
	var rangeOf []int
	var labels []string
	if spec.Shards >= 1 && spec.Shards <= MaxShards {
		declared, rangeOf, labels = assignRanges(spec, report)
	}
	if len(problems) > 0 {
		return nil, &InvalidMapError{Problems: problems}
	}
	return newTable(spec, declared, rangeOf, labels), nil
}

// assignRanges maps each shard to its declared unit and range, reporting
// ranges out of bounds, overlaps and gaps.
func assignRanges(spec MapSpec, report func(string, ...any)) (declared, rangeOf []int, labels []string) {
	declared = make([]int, spec.Shards)
	rangeOf = make([]int, spec.Shards)
	for s := range declared {
		declared[s] = -1
	}
	for i, u := range spec.Units {
		for j, r := range u.Ranges {
			if r.From < 0 || r.From > r.To || r.To >= spec.Shards {
				report("units[%d].ranges[%d]: %d-%d must satisfy 0 <= from <= to < shards (%d)", i, j, r.From, r.To, spec.Shards)
				continue
			}
			label := strconv.Itoa(r.From) + "-" + strconv.Itoa(r.To)
			// Overlapping shards keep their first owner so the overlap is
			// reported once per pair of units and not again as a gap.
			reported := map[int]bool{}
			for s := r.From; s <= r.To; s++ {
				if owner := declared[s]; owner >= 0 {
					if !reported[owner] {
						reported[owner] = true
						report("units[%d].ranges[%d]: shard %d is also owned by unit %q", i, j, s, spec.Units[owner].Name)
					}
					continue
				}
				declared[s] = i
				rangeOf[s] = len(labels)
			}
			labels = append(labels, label)
		}
	}
	for s := 0; s < spec.Shards; s++ {
		if declared[s] >= 0 {
			continue
		}
		end := s
		for end+1 < spec.Shards && declared[end+1] < 0 {
			end++
		}
		report("shards %d-%d are owned by no unit", s, end)
		s = end
	}
	return declared, rangeOf, labels
}

// ValidateKey checks a key spec against a shard count.
func ValidateKey(key KeySpec, shards int) error {
	var problems []string
	switch key.Source {
	case KeyFromHeader:
		if key.Name != "" && !headerNamePattern.MatchString(key.Name) {
			problems = append(problems, fmt.Sprintf("key.name: %q is not a valid header name", key.Name))
		}
	case KeyFromCookie, KeyFromQuery:
		if key.Name == "" {
			problems = append(problems, fmt.Sprintf("key.name: required for source %s", key.Source))
		}
	case KeyFromPathSegment:
		if key.PathSegment < 0 || key.PathSegment > MaxPathSegment {
			problems = append(problems, fmt.Sprintf("key.pathSegment: %d is outside 0..%d", key.PathSegment, MaxPathSegment))
		}
	default:
		problems = append(problems, fmt.Sprintf("key.source: %q is not Header, Cookie, Query or PathSegment", key.Source))
	}
	switch {
	case key.Hash && key.Digits != nil:
		problems = append(problems, "key: digits and hash are mutually exclusive")
	case !key.Hash && key.Digits == nil:
		problems = append(problems, "key: one of digits or hash is required")
	case key.Digits != nil:
		d := key.Digits
		if d.Count < 1 || d.Count > MaxDigits {
			problems = append(problems, fmt.Sprintf("key.digits.count: %d is outside 1..%d", d.Count, MaxDigits))
		} else if reach := pow10(d.Count); shards > reach {
			problems = append(problems, fmt.Sprintf("key.digits.count: %d digits reach only %d of %d shards", d.Count, reach, shards))
		}
		if d.Offset < 0 || d.Offset > MaxDigitsOffset {
			problems = append(problems, fmt.Sprintf("key.digits.offset: %d is outside 0..%d", d.Offset, MaxDigitsOffset))
		}
	}
	if len(problems) > 0 {
		return fmt.Errorf("%s", strings.Join(problems, "; "))
	}
	return nil
}

func pow10(n int) int {
	p := 1
	for range n {
		p *= 10
	}
	return p
}

func validateHostPort(address string) error {
	host, port, err := net.SplitHostPort(address)
	if err != nil {
		return fmt.Errorf("%q is not host:port: %v", address, err)
	}
	if host == "" {
		return fmt.Errorf("%q has no host", address)
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return fmt.Errorf("%q has no valid port", address)
	}
	return nil
}
