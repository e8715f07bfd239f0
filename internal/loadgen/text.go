package loadgen

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
)

// WriteText writes the report for people.
func (r *Report) WriteText(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "run %s: %d requests in %s (target %.0f/s, achieved %.1f/s) through %s\n",
		r.RunID, r.Sent, r.Elapsed.Round(time.Millisecond), r.TargetRate, float64(r.Sent)/max(r.Elapsed.Seconds(), 1e-9), strings.Join(r.Targets, ", "))
	fmt.Fprintf(&b, "  %d transfers, %d reads; %d succeeded, %d failed\n", r.SentByOp[OpTransfer], r.SentByOp[OpRead], r.Succeeded, r.Failed)
	for _, cause := range slices.Sorted(maps.Keys(r.FailuresByCause)) {
		fmt.Fprintf(&b, "  failures %-18s %d\n", cause, r.FailuresByCause[cause])
	}
	for _, status := range slices.Sorted(maps.Keys(r.FailuresByStatus)) {
		fmt.Fprintf(&b, "  failures status %-11d %d\n", status, r.FailuresByStatus[status])
	}

	b.WriteString("\nlatency by unit that answered:\n")
	tw := tabwriter.NewWriter(&b, 2, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "  unit\tanswers\tp50\tp90\tp99\tmax\tversions (in order)")
	for _, unit := range r.Units() {
		s := r.Latency[unit]
		fmt.Fprintf(tw, "  %s\t%d\t%s\t%s\t%s\t%s\t%s\n", orUnknown(unit), s.Count, ms(s.P50), ms(s.P90), ms(s.P99), ms(s.Max), strings.Join(r.VersionsInOrder(unit), " → "))
	}
	s := r.Overall
	fmt.Fprintf(tw, "  all requests\t%d\t%s\t%s\t%s\t%s\t\n", s.Count, ms(s.P50), ms(s.P90), ms(s.P99), ms(s.Max))
	if err := tw.Flush(); err != nil {
		return err
	}

	if len(r.Failures) > 0 {
		fmt.Fprintf(&b, "\nfirst %d failures:\n", min(len(r.Failures), 20))
		for _, f := range r.Failures[:min(len(r.Failures), 20)] {
			fmt.Fprintf(&b, "  %8s %-8s user %s via %s: %s", f.At.Round(time.Millisecond), f.Op, f.User, f.Target, f.Cause)
			if f.Status != 0 {
				fmt.Fprintf(&b, " %d from %s (%s)", f.Status, orUnknown(f.Unit), f.Version)
			}
			fmt.Fprintf(&b, " after %s: %s\n", f.Latency.Round(time.Millisecond), f.Detail)
		}
	}
	if l := r.Ledger; l != nil {
		verdict := "PASSED"
		if !l.Passed {
			verdict = "FAILED"
		}
		fmt.Fprintf(&b, "\nledger check %s: %d accounts, total %d (opened %d); acknowledged transfers stored %d/%d; unacknowledged applied %d/%d\n",
			verdict, l.Accounts, l.FinalTotal, l.OpenedTotal, l.AcknowledgedFound, l.Acknowledged, l.UnacknowledgedApplied, l.Unacknowledged)
		for _, p := range l.Problems {
			fmt.Fprintf(&b, "  %s\n", p)
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1fms", float64(d.Microseconds())/1000) }

func orUnknown(unit string) string {
	if unit == "" {
		return "(unknown)"
	}
	return unit
}
