package main

import (
	"context"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/cafe-dev/cafe/internal/router/config"
	"github.com/cafe-dev/cafe/internal/router/proxy"
)

// fileSource is standalone mode: the file is the only source of truth,
// reloaded on SIGHUP, when it changes, and when a peer router forwards a
// request with a newer epoch (its file was updated first). A file that does
// not load keeps the running configuration.
type fileSource struct {
	o        options
	reloader *config.Reloader
	log      *slog.Logger
	kick     chan struct{}
}

func newFileSource(o options, h *proxy.Handler, log *slog.Logger) (*fileSource, error) {
	r, err := config.NewReloader(o.configFile, o.unit, h)
	if err != nil {
		return nil, err
	}
	log.Info("configuration loaded", "file", o.configFile)
	return &fileSource{o: o, reloader: r, log: log, kick: make(chan struct{}, 1)}, nil
}

// ready reports whether the configuration in force routes anything: a file
// that loads but names no route (empty, say, while config management has
// not written it yet) leaves every request without a route, as a Kubernetes
// router is before its first shard map and routes arrive. Every route of a
// loaded file has a valid shard map (Parse refuses it otherwise).
func (s *fileSource) ready() bool { return len(s.reloader.Current().Routes) > 0 }

func (s *fileSource) newerEpoch(proxy.NewerEpoch) {
	select {
	case s.kick <- struct{}{}:
	default:
	}
}

func (s *fileSource) run(ctx context.Context) error {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	ticker := time.NewTicker(s.o.reloadInterval)
	defer ticker.Stop()
	last := fileVersion(s.o.configFile)
	var lastForced time.Time
	for {
		force := false
		select {
		case <-ctx.Done():
			return nil
		case <-hup:
			force = true
		case <-s.kick:
			// Forged epoch headers must not turn into a reload storm.
			force = time.Since(lastForced) >= s.o.refreshInterval
		case <-ticker.C:
		}
		v := fileVersion(s.o.configFile)
		if !force && v == last {
			continue
		}
		if force {
			lastForced = time.Now()
		}
		last = v
		if err := s.reloader.Reload(); err != nil {
			s.log.Error("configuration refused; the last good one stays in force", "file", s.o.configFile, "err", err)
			continue
		}
		s.log.Info("configuration reloaded", "file", s.o.configFile)
	}
}

// version identifies a file's content cheaply: it changes when the file
// is rewritten or replaced (editors and config management rename over it).
type version struct {
	modTime time.Time
	size    int64
	inode   uint64
}

func fileVersion(path string) version {
	fi, err := os.Stat(path)
	if err != nil {
		return version{}
	}
	v := version{modTime: fi.ModTime(), size: fi.Size()}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		v.inode = st.Ino
	}
	return v
}
