package cli

import (
	"context"
	"io"
	"os"
	"time"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	appsv1alpha1 "github.com/cafe-dev/cafe/api/apps/v1alpha1"
)

const (
	// minFrameInterval keeps a release of many pods, whose every pod change
	// is a watch event, from redrawing faster than anyone can read.
	minFrameInterval = 200 * time.Millisecond
	// resync redraws even without events, should a watch be refused or
	// break.
	resync = 5 * time.Second
	// clearScreen moves a terminal's cursor home and clears it, so each
	// frame replaces the last.
	clearScreen = "\x1b[H\x1b[2J"
	// frameSeparator precedes every frame but the first when the output is
	// not a terminal (a pipe, a log, a test); it is also a YAML document
	// separator, so frames printed with -o yaml stay a valid stream.
	frameSeparator = "---\n"
)

// follow redraws the workload on every change of it, its sets or its pods,
// and returns once the release completed or waits for someone (see settled).
// Ctrl-C ends it too, without error.
func (o *getOptions) follow(ctx context.Context, s *session, name string) error {
	ctx, stopWatches := context.WithCancel(ctx)
	defer stopWatches()
	out := o.root.streams.Out
	terminal := isTerminal(out)
	changed := s.watchWorkload(ctx, name)
	last, frames := "", 0
	for {
		snap, err := s.load(ctx, name)
		if ctx.Err() != nil {
			return nil
		}
		if err != nil {
			return err
		}
		view := buildView(snap)
		frame, err := o.render(view)
		if err != nil {
			return err
		}
		if frame != last {
			prefix := ""
			switch {
			case terminal:
				prefix = clearScreen
			case frames > 0:
				prefix = frameSeparator
			}
			if _, err := io.WriteString(out, prefix+frame); err != nil {
				return err
			}
			last = frame
			frames++
		}
		if settled(snap.workload, view) {
			return nil
		}
		select {
		case <-ctx.Done():
			return nil
		case <-changed:
		case <-time.After(resync):
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(minFrameInterval):
		}
	}
}

// settled reports a release that will not move until someone acts, or that
// is complete: there is nothing more to watch. A status that does not yet
// describe the latest spec is never settled: right after a change it still
// shows the previous release. A pause lets the pods already changing finish,
// and an abort sends changed pods back: the watch follows both to the end.
func settled(cd *appsv1alpha1.CafeDeployment, v WorkloadView) bool {
	if cd.Status.ObservedGeneration < cd.Generation {
		return false
	}
	switch cd.Status.Release.Phase {
	case appsv1alpha1.ReleaseCompleted, appsv1alpha1.ReleaseWaitingForConfirmation:
		return true
	case appsv1alpha1.ReleasePaused:
		// Failing pods or a one-replica unit hold the batch in progress
		// itself: only someone can move it on. The user's pause freezes
		// the batch once the pods already changing are done.
		return !cd.Spec.Strategy.Paused || lastBatchEnded(cd.Status.Release.Batches) || !podsInMotion(v)
	case appsv1alpha1.ReleaseAborted:
		// With no earlier revision an abort only freezes the pods.
		returning := v.Stable.Name != "" && v.Stable.Name != v.Release.Revision.Name && v.Total.Updated > 0
		return !returning && !podsInMotion(v)
	}
	return false
}

// lastBatchEnded: the batch started last completed or reached the failure
// threshold.
func lastBatchEnded(batches []appsv1alpha1.BatchRecord) bool {
	if len(batches) == 0 {
		return true
	}
	last := batches[len(batches)-1]
	return last.CompletedAt != nil || last.FailureThresholdReachedAt != nil
}

// podsInMotion: some pod is leaving traffic, changing or rejoining.
func podsInMotion(v WorkloadView) bool {
	for _, u := range v.Units {
		for _, p := range u.Slots {
			switch p.Status {
			case statusDraining, statusStopping, statusTerminating, statusStarting, statusJoining, statusPending:
				return true
			}
		}
	}
	return false
}

// watchWorkload signals on the returned channel whenever the workload, one
// of its sets or one of its pods changes, until ctx ends. Signals coalesce:
// the reader reloads everything anyway. A watch the server refuses or ends
// is opened again; meanwhile follow's resync keeps redrawing.
func (s *session) watchWorkload(ctx context.Context, name string) <-chan struct{} {
	changed := make(chan struct{}, 1)
	mine := client.MatchingLabels{appsv1alpha1.CafeDeploymentLabel: name}
	in := client.InNamespace(s.namespace)
	lists := []struct {
		list client.ObjectList
		opts []client.ListOption
	}{
		{&appsv1alpha1.CafeDeploymentList{}, []client.ListOption{in, client.MatchingFields{"metadata.name": name}}},
		{&appsv1alpha1.InPlaceSetList{}, []client.ListOption{in, mine}},
		{&corev1.PodList{}, []client.ListOption{in, mine}},
	}
	for _, l := range lists {
		go func() {
			for ctx.Err() == nil {
				w, err := s.client.Watch(ctx, l.list, l.opts...)
				if err == nil {
					for range w.ResultChan() {
						select {
						case changed <- struct{}{}:
						default:
						}
					}
					w.Stop()
				}
				select {
				case <-ctx.Done():
				case <-time.After(resync):
				}
			}
		}()
	}
	return changed
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	info, err := f.Stat()
	return err == nil && info.Mode()&os.ModeCharDevice != 0
}
