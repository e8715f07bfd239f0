package loadgen

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	mathrand "math/rand/v2"
	"sync"
	"time"

	"github.com/cafe-dev/cafe/internal/ctxsleep"
)

// Run opens the accounts, then sends the stream for cfg.Duration or until
// ctx ends, waits for the answers of requests in flight, and reports. It
// returns an error only if the run could not start (bad configuration,
// accounts that could not be opened); failed requests are in the report.
func Run(ctx context.Context, cfg Config) (*Report, error) {
	cfg = cfg.WithDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.RunID == "" {
		cfg.RunID = newRunID()
	}
	if cfg.Seed == 0 {
		cfg.Seed = mathrand.Uint64()
	}
	c := newClient(cfg)
	defer c.close()
	accounts, err := c.openAccounts(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("setup: %w", err)
	}

	start := time.Now()
	rec := newRecorder(start)
	stopProgress := reportProgress(cfg, rec)
	p := &plan{cfg: cfg, rng: mathrand.New(mathrand.NewPCG(cfg.Seed, cfg.Seed^0x9e3779b97f4a7c15))}
	// Stopping the run (ctx) stops sending, but requests in flight keep
	// their own deadline: cutting them would report failures that are not.
	requestCtx := context.WithoutCancel(ctx)
	interval := time.Duration(float64(time.Second) / cfg.Rate)
	var inFlight sync.WaitGroup
	for i := 0; ; i++ {
		// Open loop: request i is due at start + i*interval whatever the
		// earlier ones' latency; a late scheduler catches up at once.
		due := start.Add(time.Duration(i) * interval)
		if due.Sub(start) >= cfg.Duration || !ctxsleep.For(ctx, time.Until(due)) {
			break
		}
		r := p.next()
		rec.sending(r.op)
		inFlight.Add(1)
		go func() {
			defer inFlight.Done()
			reqCtx, cancel := context.WithTimeout(requestCtx, cfg.Timeout)
			defer cancel()
			rec.record(c.do(reqCtx, r, cfg.Shards))
		}()
	}
	inFlight.Wait()
	stopProgress()

	rep := rec.finish(time.Now())
	rep.RunID = cfg.RunID
	rep.Targets = cfg.Targets
	rep.TargetRate = cfg.Rate
	rep.Accounts = accounts
	return rep, nil
}

// reportProgress calls cfg.Progress every interval until the returned stop
// is called.
func reportProgress(cfg Config, rec *recorder) (stop func()) {
	if cfg.Progress == nil {
		return func() {}
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		ticker := time.NewTicker(cfg.ProgressInterval)
		defer ticker.Stop()
		for {
			select {
			case <-done:
				return
			case now := <-ticker.C:
				cfg.Progress(rec.snapshot(now))
			}
		}
	}()
	return func() { close(done); wg.Wait() }
}

func newRunID() string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return "load-" + time.Now().UTC().Format("20060102T150405") + "-" + hex.EncodeToString(b)
}
