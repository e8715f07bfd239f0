package main

import (
	"fmt"
	"os"
	"time"
)

// serverRun is one target's measurements.
type serverRun struct {
	name string
	// top is the closed-loop run; cpu maps a process name to its CPU time
	// per request in that run.
	top result
	cpu []processCPU
	// atHalf are the open-loop rounds at halfRPS, one per latency round.
	atHalf  []result
	halfRPS float64
}

type processCPU struct {
	name       string
	perRequest time.Duration
}

type throughputFigures struct {
	direct, router, nginx serverRun
	nginxVersion          string
}

// measureThroughput runs the three targets one after another against one
// backend process: top throughput with CPU accounting, then a fixed rate at
// half of the router's top throughput for latency.
func measureThroughput(o options) (*throughputFigures, error) {
	dir, err := os.MkdirTemp("", "cafe-bench-router-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	backend, backendAddr, err := startBackend(o.workers)
	if err != nil {
		return nil, err
	}
	defer backend.stop()
	router, routerAddr, err := startRouter(o.routerBin, dir, backendAddr, o.workers)
	if err != nil {
		return nil, err
	}
	defer router.stop()
	nginx, nginxAddr, err := startNginx(o.nginxBin, dir, backendAddr, o.workers)
	if err != nil {
		return nil, fmt.Errorf("%w (install nginx: apt-get install nginx)", err)
	}
	defer nginx.stop()

	f := &throughputFigures{nginxVersion: nginxVersion(o.nginxBin)}
	targets := []struct {
		run     *serverRun
		addr    string
		servers []*process
	}{
		{&f.direct, backendAddr, []*process{backend}},
		{&f.router, routerAddr, []*process{router, backend}},
		{&f.nginx, nginxAddr, []*process{nginx, backend}},
	}
	names := []string{"direct", "cafe-router", "nginx"}
	for i, t := range targets {
		t.run.name = names[i]
		before := make([]time.Duration, len(t.servers))
		after := make([]time.Duration, len(t.servers))
		var cpuErr error
		read := func(into []time.Duration) {
			for j, p := range t.servers {
				d, err := cpuTime(p.pid())
				if err != nil {
					cpuErr = err
				}
				into[j] = d
			}
		}
		fmt.Fprintf(os.Stderr, "%s: top throughput with %d connections...\n", t.run.name, o.conns)
		res, err := closedLoop(t.addr, o.conns, o.warmup, o.measure, func(start bool) {
			if start {
				read(before)
			} else {
				read(after)
			}
		})
		if err != nil {
			return nil, fmt.Errorf("%s: %w", t.run.name, err)
		}
		if cpuErr != nil {
			return nil, cpuErr
		}
		t.run.top = res
		for j, p := range t.servers {
			t.run.cpu = append(t.run.cpu, processCPU{name: p.name, perRequest: (after[j] - before[j]) / time.Duration(max(res.requests, 1))})
		}
	}
	// Latency moves with whatever else the machine does, so it is measured
	// in rounds, each taking the three targets in turn, and reported per
	// round and as the median round.
	half := f.router.top.rps() / 2
	for round := 1; round <= o.latencyRounds; round++ {
		for i, t := range targets {
			fmt.Fprintf(os.Stderr, "%s: latency at %.0f requests/s, round %d of %d...\n", names[i], half, round, o.latencyRounds)
			res, err := openLoop(t.addr, o.conns, half, o.warmup, o.measure)
			if err != nil {
				return nil, fmt.Errorf("%s at %.0f/s: %w", names[i], half, err)
			}
			t.run.atHalf, t.run.halfRPS = append(t.run.atHalf, res), half
		}
	}
	return f, nil
}

func nginxVersion(bin string) string {
	out, err := execOutput(bin, "-v")
	if err != nil {
		return "nginx (version unknown)"
	}
	return out
}
