package loadgen

import (
	"encoding/json"
	"slices"
	"time"
)

// LatencySummary summarises the latencies of a set of requests.
type LatencySummary struct {
	Count int
	P50   time.Duration
	P90   time.Duration
	P99   time.Duration
	Max   time.Duration
}

// summarize sorts samples in place.
func summarize(samples []time.Duration) LatencySummary {
	if len(samples) == 0 {
		return LatencySummary{}
	}
	slices.Sort(samples)
	return LatencySummary{
		Count: len(samples),
		P50:   percentile(samples, 50),
		P90:   percentile(samples, 90),
		P99:   percentile(samples, 99),
		Max:   samples[len(samples)-1],
	}
}

// percentile of sorted samples, nearest rank: the smallest sample that at
// least p percent of the samples do not exceed.
func percentile(sorted []time.Duration, p int) time.Duration {
	rank := (p*len(sorted) + 99) / 100
	return sorted[max(rank, 1)-1]
}

// MarshalJSON writes latencies in milliseconds, the unit people read.
func (s LatencySummary) MarshalJSON() ([]byte, error) {
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	return json.Marshal(struct {
		Count int     `json:"count"`
		P50   float64 `json:"p50Ms"`
		P90   float64 `json:"p90Ms"`
		P99   float64 `json:"p99Ms"`
		Max   float64 `json:"maxMs"`
	}{s.Count, ms(s.P50), ms(s.P90), ms(s.P99), ms(s.Max)})
}
