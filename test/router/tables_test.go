//go:build integration

package router

import (
	"fmt"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/cafe-dev/cafe/internal/router/shard"
)

// tableLog watches every router's shard-map table for the whole test and
// checks the split-brain rule: two routers holding the same epoch route
// every shard to the same unit.
type tableLog struct {
	mu         sync.Mutex
	owners     map[int64][]string // by epoch: the unit serving each shard
	firstBy    map[int64]string
	seen       map[string]map[int64]bool
	violations []string
	quit       chan struct{}
	done       chan struct{}
}

func newTableLog() *tableLog {
	return &tableLog{
		owners:  map[int64][]string{},
		firstBy: map[int64]string{},
		seen:    map[string]map[int64]bool{},
		quit:    make(chan struct{}),
		done:    make(chan struct{}),
	}
}

// sample reads the routers' tables every millisecond until stop.
func (l *tableLog) sample(t *testing.T, f *fixture) {
	defer close(l.done)
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	for {
		for _, unit := range units {
			if table := f.routers[unit].handler.ShardMap(f.ns + "/" + shardMapName); table != nil {
				l.record(unit, table)
			}
		}
		select {
		case <-l.quit:
			return
		case <-tick.C:
		}
	}
}

func (l *tableLog) record(router string, table *shard.Table) {
	l.mu.Lock()
	defer l.mu.Unlock()
	epoch := table.Epoch()
	if l.seen[router] == nil {
		l.seen[router] = map[int64]bool{}
	}
	if l.seen[router][epoch] {
		return
	}
	l.seen[router][epoch] = true
	owners := make([]string, table.Shards())
	for s := range owners {
		if u, ok := table.Owner(s); ok {
			owners[s] = u.Name
		}
	}
	first, ok := l.owners[epoch]
	if !ok {
		l.owners[epoch], l.firstBy[epoch] = owners, router
		return
	}
	for s := range owners {
		if s >= len(first) || owners[s] != first[s] {
			l.violations = append(l.violations, fmt.Sprintf("epoch %d: router %s sends shard %d to %q, router %s to %q", epoch, router, s, owners[s], l.firstBy[epoch], first[s]))
			return
		}
	}
}

// stop ends sampling and reports violations and what was seen.
func (l *tableLog) stop() {
	select {
	case <-l.quit:
		return
	default:
	}
	close(l.quit)
	<-l.done
}

// check fails t for every split-brain violation and returns the epochs
// every router held at some point.
func (l *tableLog) check(t *testing.T) []int64 {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, v := range l.violations {
		t.Errorf("split brain: %s", v)
	}
	return l.sharedLocked(units)
}

// sharedBy returns the epochs each of routers held at some point: after a
// router stops, what the others went on to share.
func (l *tableLog) sharedBy(routers ...string) []int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.sharedLocked(routers)
}

func (l *tableLog) sharedLocked(routers []string) []int64 {
	var shared []int64
	for epoch := range l.owners {
		all := true
		for _, unit := range routers {
			all = all && l.seen[unit][epoch]
		}
		if all {
			shared = append(shared, epoch)
		}
	}
	sort.Slice(shared, func(i, j int) bool { return shared[i] < shared[j] })
	return shared
}
