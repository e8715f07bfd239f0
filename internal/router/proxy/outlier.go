package proxy

import "time"

// OutlierPolicy ejects an endpoint after consecutive failures (5xx answers,
// connection failures, timeouts) for a time that doubles with each ejection
// in a row, so a dead endpoint costs fewer and fewer requests.
type OutlierPolicy struct {
	// ConsecutiveFailures ejects an endpoint; default 5.
	ConsecutiveFailures int
	// BaseEjection is the first ejection's length; default 10s.
	BaseEjection time.Duration
	// MaxEjection caps the doubling; default 5m.
	MaxEjection time.Duration
}

func (p OutlierPolicy) withDefaults() OutlierPolicy {
	if p.ConsecutiveFailures <= 0 {
		p.ConsecutiveFailures = 5
	}
	if p.BaseEjection <= 0 {
		p.BaseEjection = 10 * time.Second
	}
	if p.MaxEjection < p.BaseEjection {
		p.MaxEjection = max(5*time.Minute, p.BaseEjection)
	}
	return p
}

// outlierState is one endpoint's failure history.
type outlierState struct {
	consecutive int
	// ejections counts ejections since the endpoint last succeeded; it
	// sets the next ejection's length.
	ejections int
	// probation is set while an ejected endpoint is back in rotation and
	// has not succeeded yet: one failure ejects it again.
	probation bool
}

// next returns the state after one attempt's outcome and, when the endpoint
// must be ejected, for how long.
func (p OutlierPolicy) next(s outlierState, failed bool) (outlierState, time.Duration) {
	if !failed {
		return outlierState{}, 0
	}
	s.consecutive++
	if !s.probation && s.consecutive < p.ConsecutiveFailures {
		return s, 0
	}
	ejectFor := p.MaxEjection
	if s.ejections < 32 {
		ejectFor = min(p.BaseEjection<<s.ejections, p.MaxEjection)
	}
	if ejectFor <= 0 { // the shift overflowed
		ejectFor = p.MaxEjection
	}
	return outlierState{ejections: s.ejections + 1, probation: true}, ejectFor
}
