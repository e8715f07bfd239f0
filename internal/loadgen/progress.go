package loadgen

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// Progress is a snapshot during a run.
type Progress struct {
	Elapsed   time.Duration
	Sent      int
	Succeeded int
	Failed    int
	InFlight  int
	// Rate is requests sent per second since the previous snapshot.
	Rate float64
	// P99 per unit of the answers since the previous snapshot.
	P99 map[string]time.Duration
}

// String is one progress line.
func (p Progress) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%6.1fs sent %d ok %d failed %d in-flight %d rate %.0f/s",
		p.Elapsed.Seconds(), p.Sent, p.Succeeded, p.Failed, p.InFlight, p.Rate)
	units := make([]string, 0, len(p.P99))
	for unit := range p.P99 {
		units = append(units, unit)
	}
	slices.Sort(units)
	if len(units) > 0 {
		b.WriteString(" p99")
	}
	for _, unit := range units {
		fmt.Fprintf(&b, " %s=%s", unit, p.P99[unit].Round(100*time.Microsecond))
	}
	return b.String()
}
