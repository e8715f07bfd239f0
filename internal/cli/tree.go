package cli

import (
	"fmt"
	"io"
	"strconv"
	"strings"
)

// renderWorkload writes the tree view of a workload: what its release is
// and waits for, one line per unit with its InPlaceSet and counts, and, with
// withPods, every pod under its unit by index.
func renderWorkload(w io.Writer, v WorkloadView, withPods bool) error {
	head := &table{}
	head.row("CafeDeployment:", v.Name+" in namespace "+v.Namespace)
	head.row("Revision:", revisionLine(v))
	head.row("Release:", releaseLine(v.Release))
	if len(v.WaitingFor) == 0 {
		head.row("Waiting for:", "nothing")
	}
	for i, line := range v.WaitingFor {
		label := ""
		if i == 0 {
			label = "Waiting for:"
		}
		head.row(label, line)
	}
	t := v.Total
	head.row("Pods:", fmt.Sprintf("%d of %d, %d ready, %d serving, %d at revision %s, %d pending%s",
		t.Pods, t.Quota, t.Ready, t.Serving, t.Updated, v.Release.Revision.short(), t.Pending, stoppedNote(t.Stopped)))
	if err := head.write(w); err != nil {
		return err
	}

	units := &table{}
	units.row("UNIT", "INPLACESET", "PODS", "READY", "SERVING", "UPDATED", "PENDING", "BATCH")
	for _, u := range v.Units {
		units.row(u.Name, u.InPlaceSet, fmt.Sprintf("%d/%d%s", u.Pods, u.Quota, stoppedNote(u.Stopped)), itoa(u.Ready), itoa(u.Serving),
			fmt.Sprintf("%d/%d", u.Updated, u.Quota), itoa(u.Pending), fmt.Sprintf("%d/%d", u.BatchDone, u.BatchTarget))
	}
	fmt.Fprintln(w)
	if err := units.write(w); err != nil {
		return err
	}
	if !withPods {
		return nil
	}

	pods := &table{}
	pods.row("UNIT / POD", "REVISION", "STATUS", "READY", "SERVING", "NODE", "IP", "RESTARTS")
	for _, u := range v.Units {
		pods.row(u.Name + " (" + u.InPlaceSet + ")")
		for i, p := range u.Slots {
			branch := "├─ "
			if i == len(u.Slots)-1 {
				branch = "└─ "
			}
			if p.Status == statusStopped {
				pods.row(branch+p.Name, "", p.Status)
				continue
			}
			pods.row(branch+p.Name, p.Revision.short(), p.Status, yesNo(p.Ready), yesNo(p.Serving), dash(p.Node), dash(p.IP), itoa(p.Restarts))
		}
	}
	fmt.Fprintln(w)
	return pods.write(w)
}

func revisionLine(v WorkloadView) string {
	if v.Stable.Name == "" || v.Stable.Name == v.Update.Name {
		return v.Update.String()
	}
	return v.Stable.String() + " → " + v.Update.String()
}

func releaseLine(r ReleaseView) string {
	if r.Phase == "" {
		return "not yet planned by the controller"
	}
	parts := []string{fmt.Sprintf("%s, batch %d of %d (%s)", r.Phase, r.Batch, r.TotalBatches, r.Strategy)}
	if r.Paused {
		parts = append(parts, "spec.strategy.paused")
	}
	if r.Aborted {
		parts = append(parts, "spec.release.abort")
	}
	if r.Immediate {
		parts = append(parts, "spec.release.immediateRevision")
	}
	return strings.Join(parts, ", ")
}

func stoppedNote(n int32) string {
	if n == 0 {
		return ""
	}
	return fmt.Sprintf(", %d stopped", n)
}

func itoa(n int32) string { return strconv.Itoa(int(n)) }

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
