package main

import (
	"fmt"
	"runtime"
	"slices"
	"strings"
	"time"
)

func us(d time.Duration) string { return fmt.Sprintf("%.1f", float64(d)/float64(time.Microsecond)) }
func ms(d time.Duration) string { return fmt.Sprintf("%.2f", float64(d)/float64(time.Millisecond)) }

func totalCPU(r serverRun) time.Duration {
	var t time.Duration
	for _, c := range r.cpu {
		t += c.perRequest
	}
	return t
}

func proxyCPU(r serverRun) time.Duration {
	for _, c := range r.cpu {
		if c.name != "backend" {
			return c.perRequest
		}
	}
	return 0
}

// report renders the "## Router" section.
// median of a few durations (the lower middle one for an even count).
func median(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	sorted := append([]time.Duration(nil), ds...)
	slices.Sort(sorted)
	return sorted[(len(sorted)-1)/2]
}

func report(o options, tp *throughputFigures, fo *failoverFigures, took time.Duration, load string) string {
	var b strings.Builder
	w := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	w("## Router\n\n")
	w("Made by `%s` on %s (%d CPUs, %s/%s, %s, load average %s at the start), in %.0f s.\n", o.command, time.Now().UTC().Format("2006-01-02"), runtime.NumCPU(), runtime.GOOS, runtime.GOARCH, runtime.Version(), load, took.Seconds())
	w("Loopback, HTTP/1.1 keep-alive, `GET` with a 3-byte response, one Go backend; %d client connections; %d worker (nginx `worker_processes`, cafe-router and backend `GOMAXPROCS`); %s. ",
		o.conns, o.workers, tp.nginxVersion)
	w("Each window: %v warm-up, %v measured. CPU is utime+stime from `/proc/<pid>/stat` of each server process (nginx master and workers) over the measured window, divided by the requests in it. The load generator shares the machine.\n\n", o.warmup, o.measure)

	w("| target | requests/s | CPU µs/request (proxy) | CPU µs/request (backend) | CPU µs/request (all servers) | p50 ms at top | p99 ms at top |\n")
	w("|---|---:|---:|---:|---:|---:|---:|\n")
	for _, r := range []serverRun{tp.direct, tp.router, tp.nginx} {
		proxy := "—"
		if r.name != "direct" {
			proxy = us(proxyCPU(r))
		}
		backend := time.Duration(0)
		for _, c := range r.cpu {
			if c.name == "backend" {
				backend = c.perRequest
			}
		}
		w("| %s | %.0f | %s | %s | %s | %s | %s |\n", r.name, r.top.rps(), proxy, us(backend), us(totalCPU(r)), ms(r.top.percentile(0.50)), ms(r.top.percentile(0.99)))
	}
	w("\nRatios: cafe-router/nginx throughput %.2f, proxy CPU per request %.2f; cafe-router/direct throughput %.2f, all-server CPU per request %.2f.\n\n",
		tp.router.top.rps()/tp.nginx.top.rps(), float64(proxyCPU(tp.router))/float64(max(proxyCPU(tp.nginx), 1)),
		tp.router.top.rps()/tp.direct.top.rps(), float64(totalCPU(tp.router))/float64(max(totalCPU(tp.direct), 1)))

	half := tp.router.halfRPS
	rounds := len(tp.direct.atHalf)
	w("Latency at %.0f requests/s (half of cafe-router's top throughput), open loop, each request measured from when it was written until its response was read; %d rounds, each taking the three targets in turn; p50 and p99 are the medians over the rounds, \"p99 added\" the median of each round's difference to direct. The load generator shares the two cores, so these figures move with anything else the machine does: compare the rounds.\n\n", half, rounds)
	w("| target | p50 ms | p99 ms | p99 added over direct, ms | p99 per round, ms |\n|---|---:|---:|---:|---|\n")
	for _, r := range []serverRun{tp.direct, tp.router, tp.nginx} {
		var p50, p99, added []time.Duration
		for i, res := range r.atHalf {
			p50 = append(p50, res.percentile(0.50))
			p99 = append(p99, res.percentile(0.99))
			added = append(added, res.percentile(0.99)-tp.direct.atHalf[i].percentile(0.99))
		}
		addedMedian := "—"
		if r.name != "direct" {
			addedMedian = ms(median(added))
		}
		var each []string
		for _, d := range p99 {
			each = append(each, ms(d))
		}
		perRound := strings.Join(each, ", ")
		w("| %s | %s | %s | %s | %s |\n", r.name, ms(median(p50)), ms(median(p99)), addedMedian, perRound)
	}
	if fo == nil {
		w("\nFailover figures were not measured (`-skip-failover`).\n")
		return b.String()
	}
	w("\nFailover: three `cafe-router --failover` processes in Kubernetes mode on a local control plane, backends in network namespaces (two per unit), failoverAfter %v, failbackAfter %v, health probe every %v. Clients send idempotent GETs for the unit's shards to all three routers back to back; a move is done when every request since has been served by the target for %v; the time is from the trigger to the last request served elsewhere.\n\n",
		benchFailoverAfter, benchFailbackAfter, benchProbeInterval, settledFor)
	w("| event | goal | all of the unit's requests served by the target after | requests sent | failed (by status) |\n|---|---|---:|---:|---|\n")
	w("| ShardMap change (`state: Draining`) | ≤ 1 s | %s ms | %d | %s |\n", ms(fo.mapChange.took), fo.mapChange.sent, fo.mapChange.failures())
	w("| every endpoint of a unit dead | ≤ 3 s, no failed idempotent request | %s ms (routers fail requests over; the control plane moved the shards after %s ms) | %d | %s |\n", ms(fo.deadUnit.took), ms(fo.deadUnitMoved), fo.deadUnit.sent, fo.deadUnit.failures())
	w("| failback once the endpoints are back | after failbackAfter | %s ms | %d | %s |\n", ms(fo.failback.took), fo.failback.sent, fo.failback.failures())
	return b.String()
}
