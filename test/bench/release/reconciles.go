package main

import (
	"fmt"
	"sort"

	dto "github.com/prometheus/client_model/go"
	crmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"
)

// reconcileTally is, per controller, how many reconciles ran and how long
// they took in all, from controller-runtime's metrics.
type reconcileTally map[string]struct {
	count   float64
	seconds float64
}

func reconcileWork() reconcileTally {
	t := reconcileTally{}
	eachMetric(func(family string, m *dto.Metric, label map[string]string) {
		e := t[label["controller"]]
		switch family {
		case "controller_runtime_reconcile_total":
			e.count += m.GetCounter().GetValue()
		case "controller_runtime_reconcile_time_seconds":
			e.seconds += m.GetHistogram().GetSampleSum()
		default:
			return
		}
		t[label["controller"]] = e
	})
	return t
}

// eachMetric calls fn for every sample in controller-runtime's registry
// (which also holds client-go's request metrics), with its labels.
func eachMetric(fn func(family string, m *dto.Metric, label map[string]string)) {
	families, err := crmetrics.Registry.Gather()
	if err != nil {
		return
	}
	for _, f := range families {
		for _, m := range f.GetMetric() {
			label := map[string]string{}
			for _, l := range m.GetLabel() {
				label[l.GetName()] = l.GetValue()
			}
			fn(f.GetName(), m, label)
		}
	}
}

// report prints what each controller did since before.
func (t reconcileTally) report(before reconcileTally) {
	names := make([]string, 0, len(t))
	for name := range t {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		n := t[name].count - before[name].count
		if n == 0 {
			continue
		}
		s := t[name].seconds - before[name].seconds
		fmt.Printf("  reconciles %-20s %6.0f, %6.1f ms each on average\n", name, n, 1000*s/n)
	}
}
