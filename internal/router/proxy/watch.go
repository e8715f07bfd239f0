package proxy

import (
	"context"
	"errors"
	"os"
	"sync"
)

// clientWatch ends a request's upstream work when its client goes away
// while the handler runs. It lives in the front connection and rides in
// the requests' context, where an upstream exchange finds it and hands it
// its interrupt: a context.AfterFunc per exchange would cost allocations
// and a registration on every request.
//
// Where the hang-up watcher serves the connection (see hangupWatcher),
// watching costs two lock round trips per request; elsewhere a goroutine
// per request reads the connection (see frontConn.startWatch).
type clientWatch struct {
	mu sync.Mutex
	// watching is set while a request is watched; hungUp once the
	// hang-up watcher saw the client shut down or reset its side, which
	// it reports once; gone once the requests' context was cancelled.
	watching, hungUp, gone bool
	cancel                 context.CancelFunc
	// interrupt ends the upstream exchange under way, if any: a request
	// runs one exchange at a time.
	interrupt func()
	// clientGone checks the connection once the client hung up: bytes
	// still to read (a pipelined request) mean it waits for answers.
	clientGone func() bool
}

type clientWatchKey struct{}

// clientWatchOf returns the watch a request's context carries, if any:
// requests of the lean path carry their connection's.
func clientWatchOf(ctx context.Context) *clientWatch {
	w, _ := ctx.Value(clientWatchKey{}).(*clientWatch)
	return w
}

// setInterrupt hands the watch an exchange's interrupt. When the client is
// already gone it interrupts at once and reports false.
func (w *clientWatch) setInterrupt(interrupt func()) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.gone {
		interrupt()
		return false
	}
	w.interrupt = interrupt
	return true
}

// clearInterrupt takes an exchange's interrupt back and reports whether it
// has not run.
func (w *clientWatch) clearInterrupt() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.interrupt = nil
	return !w.gone
}

// begin and finish bound a request's watch. A hang-up seen before begin
// is checked then.
func (w *clientWatch) begin() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.watching = true
	if w.hungUp {
		w.endIfGone()
	}
}

func (w *clientWatch) finish() {
	w.mu.Lock()
	w.watching = false
	w.mu.Unlock()
}

// hangUp is the hang-up watcher's news that the client shut down or reset
// its side of the connection.
func (w *clientWatch) hangUp() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.hungUp = true
	if w.watching {
		w.endIfGone()
	}
}

func (w *clientWatch) endIfGone() {
	if !w.gone && w.clientGone() {
		w.end()
	}
}

// end cancels the requests' context, then interrupts the exchange under
// way: an exchange whose I/O fails must find its context ended, to tell a
// client gone from an upstream failing. The caller holds mu.
func (w *clientWatch) end() {
	if w.gone {
		return
	}
	w.gone = true
	w.cancel()
	if w.interrupt != nil {
		w.interrupt()
		w.interrupt = nil
	}
}

// startWatch watches the connection while the handler runs, once the
// request was read whole: a client that goes away then ends the request's
// context, which ends its upstream exchange. Bytes already buffered (a
// pipelined request) mean the client waits for answers: nothing to watch.
func (fc *frontConn) startWatch() {
	if !fc.watchable || fc.br.Buffered() > 0 {
		return
	}
	fc.watching = true
	if fc.hangupID != 0 {
		fc.watch.begin()
		return
	}
	// No hang-up watcher: a goroutine reads the connection. Bytes that
	// arrive end its watch and stay in the reader.
	_ = fc.c.SetReadDeadline(noDeadline)
	go func() {
		_, err := fc.br.Peek(1)
		if err != nil && !isTimeout(err) {
			fc.watch.mu.Lock()
			fc.watch.end()
			fc.watch.mu.Unlock()
		}
		fc.watched <- err
	}()
}

// stopWatch ends the watch before the connection is read or written
// again; a watching goroutine's read is interrupted.
func (fc *frontConn) stopWatch() {
	if !fc.watching {
		return
	}
	fc.watching = false
	if fc.hangupID != 0 {
		fc.watch.finish()
		return
	}
	var err error
	select {
	case err = <-fc.watched:
	default:
		_ = fc.c.SetReadDeadline(aLongTimeAgo)
		err = <-fc.watched
	}
	if isTimeout(err) {
		// The interrupt is no error of the connection's; a read of
		// nothing clears it from the reader.
		_, _ = fc.br.Read(nil)
	}
}

// isTimeout reports a read interrupted by its deadline (without the
// allocation errors.As into a net.Error costs).
func isTimeout(err error) bool { return errors.Is(err, os.ErrDeadlineExceeded) }

// frontBody is the request body the handler reads. Once the body was read
// whole, the connection is watched for the client's end.
type frontBody struct{ fc *frontConn }

func (b *frontBody) Read(p []byte) (int, error) {
	fc := b.fc
	n, err := fc.body.Read(p)
	if !fc.watching && bodyDone(fc.body) {
		fc.startWatch()
	}
	return n, err
}

func (b *frontBody) Close() error { return nil }
