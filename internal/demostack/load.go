package demostack

import (
	"context"
	"fmt"
	"time"

	"github.com/cafe-dev/cafe/internal/loadgen"
)

// backgroundLoad is a load run going on while a scenario acts.
type backgroundLoad struct {
	began time.Time
	done  chan loadResult
}

type loadResult struct {
	rep *loadgen.Report
	err error
}

// startLoad sends cfg's stream through the demo's routers in the
// background, then waits lead before returning, so that the scenario acts
// on a service already under load. what names the act, for the error if
// the load ends first.
func (s *Stack) startLoad(ctx context.Context, cfg loadgen.Config, lead time.Duration, what string) (*backgroundLoad, error) {
	cfg.Targets = s.RouterURLs()
	l := &backgroundLoad{began: time.Now(), done: make(chan loadResult, 1)}
	go func() {
		rep, err := loadgen.Run(ctx, cfg)
		l.done <- loadResult{rep, err}
	}()
	select {
	case r := <-l.done:
		return nil, fmt.Errorf("the load ended before %s: %v", what, r.err)
	case <-time.After(lead):
	}
	return l, nil
}

// elapsed is the time since the load began.
func (l *backgroundLoad) elapsed() time.Duration { return time.Since(l.began) }

// wait returns the load's report once it ends.
func (l *backgroundLoad) wait() (*loadgen.Report, error) {
	r := <-l.done
	return r.rep, r.err
}
