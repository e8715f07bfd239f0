package main

import (
	"fmt"
	"os"
	"sort"
	"time"

	"github.com/cafe-dev/cafe/internal/testenv"
)

// cpuMeter reads each process's CPU time (user + system, from /proc) so a
// scenario can say which component its cores went to: the API server,
// etcd, kwok, kube-controller-manager, the scheduler, and this process
// (CAFE's controllers and the benchmark's own watch).
type cpuMeter struct {
	pids map[string]int
}

func newCPUMeter(children map[string]int) *cpuMeter {
	pids := map[string]int{"this process (CAFE, benchmark)": os.Getpid()}
	for name, pid := range children {
		pids[name] = pid
	}
	return &cpuMeter{pids: pids}
}

type cpuSample struct {
	at      time.Time
	seconds map[string]float64
}

func (m *cpuMeter) sample() cpuSample {
	s := cpuSample{at: time.Now(), seconds: map[string]float64{}}
	for name, pid := range m.pids {
		if used, err := testenv.CPUTime(pid); err == nil {
			s.seconds[name] = used.Seconds()
		}
	}
	return s
}

// settle waits until the control plane is quiet — every component below a
// tenth of a core for two seconds in a row, at most a minute — so that a
// release does not start while the previous step (creating the first
// revision's pods, deleting the last scenario's namespace) still runs, and
// then measures each component's idle use for d: the base that the
// release's figures sit on.
func (m *cpuMeter) settle(d time.Duration) (from, to cpuSample) {
	deadline := time.Now().Add(time.Minute)
	quiet := 0
	prev := m.sample()
	for quiet < 2 && time.Now().Before(deadline) {
		time.Sleep(time.Second)
		next := m.sample()
		quiet++
		for name, v := range next.seconds {
			if (v-prev.seconds[name])/next.at.Sub(prev.at).Seconds() >= 0.1 {
				quiet = 0
			}
		}
		prev = next
	}
	from = m.sample()
	time.Sleep(d)
	return from, m.sample()
}

// report prints, per component, the CPU it used per pod during the release
// and, for reference, its idle rate in cores.
func (m *cpuMeter) report(idleFrom, idleTo, from, to cpuSample, pods int) {
	type row struct {
		name         string
		perPod, idle float64
	}
	var rows []row
	var total float64
	idleSpan := idleTo.at.Sub(idleFrom.at).Seconds()
	for name := range m.pids {
		used := to.seconds[name] - from.seconds[name]
		total += used
		rows = append(rows, row{name, used / float64(pods) * 1000, (idleTo.seconds[name] - idleFrom.seconds[name]) / idleSpan})
	}
	sort.Slice(rows, func(i, j int) bool { return rows[i].perPod > rows[j].perPod })
	wall := to.at.Sub(from.at).Seconds()
	fmt.Printf("  CPU during the release: %.1f cores on average; per pod by component (idle cores before):\n", total/wall)
	for _, r := range rows {
		fmt.Printf("    %-34s %6.2f ms  (%.2f)\n", r.name, r.perPod, r.idle)
	}
}
