package loadgen

import (
	"slices"
	"time"

	"github.com/cafe-dev/cafe/internal/demo"
)

// Op is the kind of a request of the stream.
type Op string

const (
	OpTransfer Op = "transfer" // POST /transfers
	OpRead     Op = "read"     // GET /accounts/{id}
)

// Failure is one failed request.
type Failure struct {
	// At is when the request was sent, since the run started.
	At      time.Duration `json:"atNs"`
	Latency time.Duration `json:"latencyNs"`
	Op      Op            `json:"op"`
	User    string        `json:"user"`
	Target  string        `json:"target"`
	Cause   Cause         `json:"cause"`
	// Status, Unit and Version are set when an answer came.
	Status  int    `json:"status,omitempty"`
	Unit    string `json:"unit,omitempty"`
	Version string `json:"version,omitempty"`
	// Detail is the error, or the start of the answer's body.
	Detail string `json:"detail"`
}

// VersionCount is how many answers one unit gave from one version during
// one second of the run.
type VersionCount struct {
	Second  int    `json:"second"`
	Unit    string `json:"unit"`
	Version string `json:"version"`
	Count   int    `json:"count"`
}

// MaxFailureDetails bounds Report.Failures; every failure is counted.
const MaxFailureDetails = 5000

// Report is the outcome of a run.
type Report struct {
	RunID      string        `json:"runId"`
	Targets    []string      `json:"targets"`
	TargetRate float64       `json:"targetRate"`
	Elapsed    time.Duration `json:"elapsedNs"`
	Sent       int           `json:"sent"`
	Succeeded  int           `json:"succeeded"`
	Failed     int           `json:"failed"`
	SentByOp   map[Op]int    `json:"sentByOp"`
	// FailuresByCause counts every failure; FailuresByStatus those with an answer.
	FailuresByCause  map[Cause]int `json:"failuresByCause"`
	FailuresByStatus map[int]int   `json:"failuresByStatus"`
	// Failures are the first MaxFailureDetails failures.
	Failures []Failure `json:"failures"`
	// Latency is per unit that answered (X-Cafe-Unit, else X-Demo-Unit);
	// Overall covers every request, failed ones until they failed.
	Latency  map[string]LatencySummary `json:"latency"`
	Overall  LatencySummary            `json:"overall"`
	Versions []VersionCount            `json:"versions"`
	Ledger   *LedgerReport             `json:"ledger,omitempty"`

	// What the ledger check needs: each account's balance before the
	// load, and the transfers sent, acknowledged (2xx) or not.
	Accounts       map[string]int64 `json:"-"`
	Acknowledged   []demo.Transfer  `json:"-"`
	Unacknowledged []demo.Transfer  `json:"-"`
}

// Units are the units that answered, sorted.
func (r *Report) Units() []string {
	var units []string
	for unit := range r.Latency {
		units = append(units, unit)
	}
	slices.Sort(units)
	return units
}

// VersionsInOrder are the versions that answered in unit, in the order in
// which each first answered: a release from v1 to v2 shows [v1 v2].
func (r *Report) VersionsInOrder(unit string) []string {
	var versions []string
	for _, vc := range r.Versions { // sorted by second
		if vc.Unit == unit && !slices.Contains(versions, vc.Version) {
			versions = append(versions, vc.Version)
		}
	}
	return versions
}

// LastSecondServed is the last second of the run in which version answered
// in unit, or -1.
func (r *Report) LastSecondServed(unit, version string) int {
	last := -1
	for _, vc := range r.Versions {
		if vc.Unit == unit && vc.Version == version {
			last = vc.Second
		}
	}
	return last
}

// Passed reports a run without failures whose ledger check, if any, passed.
func (r *Report) Passed() bool {
	return r.Failed == 0 && (r.Ledger == nil || r.Ledger.Passed)
}
