// Command cafe-load sends a steady open-loop stream of account reads and
// transfers through CAFE's routers to the demo payment service, with no
// client retries, prints progress, and ends with a report and a ledger
// check (internal/loadgen). It exits 0 only when no request failed and the
// ledger check passed. See docs/demo-service.md.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/cafe-dev/cafe/internal/demo"
	"github.com/cafe-dev/cafe/internal/loadgen"
)

type options struct {
	load       loadgen.Config
	ledger     string
	etcd       []string
	etcdPrefix string
	output     string
	quiet      bool
}

func parseFlags(args []string, stderr io.Writer) (options, error) {
	var o options
	var targets, spread, etcd string
	fs := flag.NewFlagSet("cafe-load", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&targets, "target", "", "comma-separated base URLs of routers (or service replicas), e.g. http://127.0.0.1:8080 (required)")
	fs.StringVar(&spread, "spread", string(loadgen.RoundRobin), "how requests are spread over the targets: round-robin, or by-user (each user always through the same target)")
	fs.Float64Var(&o.load.Rate, "rate", loadgen.DefaultRate, "requests per second, kept whatever the latency (open loop)")
	fs.DurationVar(&o.load.Duration, "duration", time.Minute, "how long to send; Ctrl-C stops early and still reports")
	fs.IntVar(&o.load.Shards, "shards", loadgen.DefaultShards, "shards of the router's ShardMap; user IDs end with their shard in as many digits as shards-1 has")
	fs.IntVar(&o.load.Accounts, "accounts", loadgen.DefaultAccounts, "accounts (one per user) opened before the load; at least --shards")
	fs.Int64Var(&o.load.InitialBalance, "initial-balance", loadgen.DefaultInitialBalance, "opening balance of each account, in minor units")
	fs.Float64Var(&o.load.TransferRatio, "transfer-ratio", loadgen.DefaultTransferRatio, "share of transfers (0 < ratio <= 1); the rest are GET /accounts/{id}")
	fs.Int64Var(&o.load.MaxAmount, "max-amount", loadgen.DefaultMaxAmount, "largest transfer amount; amounts are random in 1..max")
	fs.DurationVar(&o.load.Timeout, "timeout", loadgen.DefaultTimeout, "per-request timeout: no whole answer by then is a failure")
	fs.StringVar(&o.load.RunID, "run-id", "", "prefix of this run's transfer IDs (default: load-<time>-<random>)")
	fs.Uint64Var(&o.load.Seed, "seed", 0, "random seed of the request sequence (default: random)")
	fs.DurationVar(&o.load.ProgressInterval, "progress", loadgen.DefaultProgressInterval, "interval of progress lines on stderr")
	fs.BoolVar(&o.quiet, "quiet", false, "no progress lines")
	fs.StringVar(&o.ledger, "ledger", "service", "ledger check at the end: service (through the first target), etcd (straight from --etcd) or none")
	fs.StringVar(&etcd, "etcd", "", "comma-separated etcd client URLs, for --ledger etcd")
	fs.StringVar(&o.etcdPrefix, "etcd-prefix", demo.DefaultEtcdPrefix, "the service's --etcd-prefix, for --ledger etcd")
	fs.StringVar(&o.output, "o", "text", "report format: text or json (on stdout)")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected arguments %q: every setting is a flag", fs.Args())
	}
	o.load.Targets = splitList(targets)
	o.load.Spread = loadgen.Spread(spread)
	o.etcd = splitList(etcd)
	switch {
	case o.ledger != "service" && o.ledger != "etcd" && o.ledger != "none":
		return o, fmt.Errorf("--ledger %q: use service, etcd or none", o.ledger)
	case o.ledger == "etcd" && len(o.etcd) == 0:
		return o, errors.New("--ledger etcd needs --etcd with the service's etcd client URLs")
	case o.output != "text" && o.output != "json":
		return o, fmt.Errorf("-o %q: use text or json", o.output)
	}
	return o, o.load.WithDefaults().Validate()
}

func splitList(s string) []string {
	var items []string
	for _, item := range strings.Split(s, ",") {
		if item = strings.TrimSpace(item); item != "" {
			items = append(items, item)
		}
	}
	return items
}

func main() {
	o, err := parseFlags(os.Args[1:], os.Stderr)
	if errors.Is(err, flag.ErrHelp) {
		os.Exit(0)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "cafe-load:", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	passed, err := run(ctx, o, os.Stdout, os.Stderr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "cafe-load:", err)
		os.Exit(2)
	}
	if !passed {
		os.Exit(1)
	}
}

// run does the load and the ledger check and writes the report; passed is
// false when a request failed or the ledger check did not pass.
func run(ctx context.Context, o options, stdout, stderr io.Writer) (passed bool, err error) {
	if !o.quiet {
		o.load.Progress = func(p loadgen.Progress) { fmt.Fprintln(stderr, p) }
	}
	rep, err := loadgen.Run(ctx, o.load)
	if err != nil {
		return false, err
	}
	if err := checkLedger(context.WithoutCancel(ctx), o, rep); err != nil {
		return false, err
	}
	if o.output == "json" {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		err = enc.Encode(rep)
	} else {
		err = rep.WriteText(stdout)
	}
	return rep.Passed(), err
}

func checkLedger(ctx context.Context, o options, rep *loadgen.Report) error {
	switch o.ledger {
	case "service":
		rep.Ledger = loadgen.CheckLedger(ctx, loadgen.NewServiceLedger(o.load.Targets[0], o.load.WithDefaults().Timeout), rep)
	case "etcd":
		store, err := demo.OpenStore(o.etcd, o.etcdPrefix, demo.DefaultEtcdTimeout)
		if err != nil {
			return err
		}
		defer store.Close()
		rep.Ledger = loadgen.CheckLedger(ctx, store, rep)
	}
	return nil
}
