// Command router is the unit router's benchmark (run it with
// hack/bench-router.sh). On loopback, with HTTP/1.1 keep-alive and small
// responses, it measures one backend reached directly, through
// cafe-router and through nginx with the same worker count: top
// throughput, CPU time per request of every server process, and the p99
// latency the proxies add at half of the router's top throughput. Then it
// starts a local control plane and three routers in Kubernetes mode and
// times failover: a ShardMap change, and a unit whose endpoints all die.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"
)

type options struct {
	routerBin string
	nginxBin  string
	binDir    string
	workers   int
	conns     int
	warmup    time.Duration
	measure   time.Duration
	doc       string
	command   string
	skipFail  bool
	// latencyRounds is how many times the latency phase is repeated.
	latencyRounds int
}

func main() {
	role := flag.String("role", "bench", "bench, or backend (internal: the upstream server)")
	listen := flag.String("listen", "", "backend role: address to listen on")
	var o options
	flag.StringVar(&o.routerBin, "router-bin", "bin/cafe-router", "cafe-router binary")
	flag.StringVar(&o.nginxBin, "nginx-bin", "nginx", "nginx binary")
	flag.StringVar(&o.binDir, "bin-dir", "bin", "directory of the control plane binaries (make tools), for the failover part")
	flag.IntVar(&o.workers, "workers", 1, "worker processes of nginx, GOMAXPROCS of cafe-router and of the backend")
	flag.IntVar(&o.conns, "connections", 32, "keep-alive connections of the load generator")
	flag.DurationVar(&o.warmup, "warmup", time.Second, "warm-up before each measured window")
	flag.DurationVar(&o.measure, "measure", 4*time.Second, "length of each measured window")
	flag.StringVar(&o.doc, "doc", "", "write the results into this Markdown file's \"## Router\" section")
	flag.StringVar(&o.command, "command", "", "the command line to record with the results")
	flag.BoolVar(&o.skipFail, "skip-failover", false, "measure throughput and latency only")
	flag.IntVar(&o.latencyRounds, "latency-rounds", 3, "open-loop latency rounds (each takes every target in turn); the median round is reported")
	flag.Parse()

	if *role == "backend" {
		if err := backendRole(*listen); err != nil {
			fmt.Fprintln(os.Stderr, "backend:", err)
			os.Exit(1)
		}
		return
	}
	if err := run(o); err != nil {
		fmt.Fprintln(os.Stderr, "bench-router:", err)
		os.Exit(1)
	}
}

func run(o options) error {
	if o.latencyRounds < 1 {
		return fmt.Errorf("-latency-rounds must be at least 1, not %d", o.latencyRounds)
	}
	began := time.Now()
	load := loadAverage()
	tp, err := measureThroughput(o)
	if err != nil {
		return err
	}
	var fo *failoverFigures
	if !o.skipFail {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		if fo, err = measureFailover(ctx, o); err != nil {
			return fmt.Errorf("failover: %w", err)
		}
	}
	section := report(o, tp, fo, time.Since(began), load)
	fmt.Print(section)
	if o.doc != "" {
		return updateDoc(o.doc, section)
	}
	return nil
}

// loadAverage is the 1-minute load average when the run starts: the
// machine may be shared, and the figures mean little without it.
func loadAverage() string {
	data, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	return strings.Fields(string(data))[0]
}

// updateDoc replaces the "## Router" section of a Markdown file, or
// appends it; other sections are left as they are.
func updateDoc(path, section string) error {
	data, err := os.ReadFile(path)
	if err != nil && !os.IsNotExist(err) {
		return err
	}
	text := string(data)
	if text == "" {
		text = "# Benchmarks\n"
	}
	const heading = "## Router\n"
	start := strings.Index(text, heading)
	if start < 0 {
		text = strings.TrimRight(text, "\n") + "\n\n" + section
	} else {
		end := len(text)
		if next := strings.Index(text[start+len(heading):], "\n## "); next >= 0 {
			end = start + len(heading) + next + 1
		}
		rest := text[end:]
		if rest != "" {
			rest = "\n" + rest
		}
		text = text[:start] + section + rest
	}
	return os.WriteFile(path, []byte(text), 0o644)
}
