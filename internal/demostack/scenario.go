package demostack

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/cafe-dev/cafe/internal/loadgen"
)

// ReleaseUnderLoad is the financial-grade release scenario: a steady stream
// of reads and transfers through the routers while the service is released
// to a new image, batch by batch, each batch confirmed only when healthy.
type ReleaseUnderLoad struct {
	Image string
	// Load is the whole stream; the release starts after WarmUp and must
	// end before the stream does.
	Load   loadgen.Config
	WarmUp time.Duration
	// Progress receives the load's progress lines.
	Progress func(loadgen.Progress)
}

// ReleaseOutcome is what the scenario saw.
type ReleaseOutcome struct {
	Report *loadgen.Report
	// ReleaseStarted and ReleaseEnded are offsets from the load's start.
	ReleaseStarted, ReleaseEnded time.Duration
	ReleaseErr                   error
}

// Run drives the scenario and checks the ledger at the end.
func (s *Stack) Run(ctx context.Context, sc ReleaseUnderLoad) (*ReleaseOutcome, error) {
	cfg := sc.Load
	var failed atomic.Int64
	cfg.Progress = func(p loadgen.Progress) {
		failed.Store(int64(p.Failed))
		if sc.Progress != nil {
			sc.Progress(p)
		}
	}
	if cfg.ProgressInterval == 0 {
		cfg.ProgressInterval = time.Second
	}
	load, err := s.startLoad(ctx, cfg, sc.WarmUp, "the release began")
	if err != nil {
		return nil, err
	}
	out := &ReleaseOutcome{ReleaseStarted: load.elapsed()}
	out.ReleaseErr = s.Release(ctx, sc.Image, func() error {
		if n := failed.Load(); n > 0 {
			return fmt.Errorf("%d requests failed so far", n)
		}
		return nil
	})
	out.ReleaseEnded = load.elapsed()
	if out.Report, err = load.wait(); err != nil {
		return nil, err
	}
	ledger := loadgen.NewServiceLedger(s.RouterURLs()[0], 5*time.Second)
	out.Report.Ledger = loadgen.CheckLedger(ctx, ledger, out.Report)
	return out, nil
}
