package loadgen

import (
	"cmp"
	"slices"
	"sync"
	"time"

	"github.com/cafe-dev/cafe/internal/demo"
)

// outcome is what one request of the stream came to.
type outcome struct {
	op       Op
	user     string
	target   string
	sentAt   time.Time
	latency  time.Duration
	status   int // 0: no answer
	unit     string
	version  string
	cause    Cause // empty: success
	detail   string
	transfer *demo.Transfer // set for transfers
}

type versionKey struct {
	second        int
	unit, version string
}

// recorder collects outcomes from concurrent requests.
type recorder struct {
	start time.Time

	mu         sync.Mutex
	report     Report
	byUnit     map[string][]time.Duration
	all        []time.Duration
	versions   map[versionKey]int
	inFlight   int
	window     map[string][]time.Duration // answers since the last snapshot
	windowSent int
	lastSnap   time.Time
}

func newRecorder(start time.Time) *recorder {
	return &recorder{
		start: start,
		report: Report{
			SentByOp:         map[Op]int{},
			FailuresByCause:  map[Cause]int{},
			FailuresByStatus: map[int]int{},
		},
		byUnit:   map[string][]time.Duration{},
		versions: map[versionKey]int{},
		window:   map[string][]time.Duration{},
		lastSnap: start,
	}
}

// sending counts a request as sent, before its answer.
func (r *recorder) sending(op Op) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.report.Sent++
	r.report.SentByOp[op]++
	r.inFlight++
	r.windowSent++
}

func (r *recorder) record(o outcome) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.inFlight--
	r.all = append(r.all, o.latency)
	if o.status != 0 {
		r.byUnit[o.unit] = append(r.byUnit[o.unit], o.latency)
		r.window[o.unit] = append(r.window[o.unit], o.latency)
		// Answers the router made itself (a 502 or 504) name a unit but no
		// version: they say nothing of which version serves.
		if o.version != "" {
			second := int(o.sentAt.Add(o.latency).Sub(r.start) / time.Second)
			r.versions[versionKey{second, o.unit, o.version}]++
		}
	}
	if o.transfer != nil {
		if o.cause == "" {
			r.report.Acknowledged = append(r.report.Acknowledged, *o.transfer)
		} else {
			r.report.Unacknowledged = append(r.report.Unacknowledged, *o.transfer)
		}
	}
	if o.cause == "" {
		r.report.Succeeded++
		return
	}
	r.report.Failed++
	r.report.FailuresByCause[o.cause]++
	if o.status != 0 {
		r.report.FailuresByStatus[o.status]++
	}
	if len(r.report.Failures) < MaxFailureDetails {
		r.report.Failures = append(r.report.Failures, Failure{
			At: o.sentAt.Sub(r.start), Latency: o.latency, Op: o.op, User: o.user, Target: o.target,
			Cause: o.cause, Status: o.status, Unit: o.unit, Version: o.version, Detail: o.detail,
		})
	}
}

// snapshot is the progress now, and starts a new window.
func (r *recorder) snapshot(now time.Time) Progress {
	r.mu.Lock()
	defer r.mu.Unlock()
	p := Progress{
		Elapsed: now.Sub(r.start), Sent: r.report.Sent, Succeeded: r.report.Succeeded,
		Failed: r.report.Failed, InFlight: r.inFlight, P99: map[string]time.Duration{},
	}
	if d := now.Sub(r.lastSnap).Seconds(); d > 0 {
		p.Rate = float64(r.windowSent) / d
	}
	for unit, samples := range r.window {
		p.P99[unit] = summarize(samples).P99
	}
	r.window = map[string][]time.Duration{}
	r.windowSent = 0
	r.lastSnap = now
	return p
}

// finish is the report of everything recorded.
func (r *recorder) finish(now time.Time) *Report {
	r.mu.Lock()
	defer r.mu.Unlock()
	rep := r.report
	rep.Elapsed = now.Sub(r.start)
	rep.Failures = append([]Failure{}, rep.Failures...) // [] rather than null in JSON
	rep.Latency = map[string]LatencySummary{}
	for unit, samples := range r.byUnit {
		rep.Latency[unit] = summarize(samples)
	}
	rep.Overall = summarize(r.all)
	for k, n := range r.versions {
		rep.Versions = append(rep.Versions, VersionCount{Second: k.second, Unit: k.unit, Version: k.version, Count: n})
	}
	slices.SortFunc(rep.Versions, func(a, b VersionCount) int {
		return cmp.Or(cmp.Compare(a.Second, b.Second), cmp.Compare(a.Unit, b.Unit), cmp.Compare(a.Version, b.Version))
	})
	return &rep
}
