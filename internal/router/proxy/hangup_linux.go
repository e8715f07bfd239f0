//go:build linux

package proxy

import (
	"os"
	"sync"
	"sync/atomic"
	"syscall"

	"golang.org/x/sys/unix"
)

// hangupWatcher learns from one epoll instance, shared by every plaintext
// front connection, when a client shuts down or resets its side of a
// connection (EPOLLRDHUP, EPOLLHUP, EPOLLERR; bytes that arrive are no
// event). A connection is registered once, edge-triggered, so watching a
// request costs no system call, where a goroutine reading the connection
// costs one, a deadline to interrupt it and two goroutine switches before
// the response can be sent. The epoll descriptor waits in Go's network
// poller, so no thread blocks on it.
type hangupWatcher struct {
	epfd int
	file *os.File
	// failed is set if waiting on the epoll descriptor fails (nothing
	// closes it, so it should not): connections registered after that
	// use the watching goroutine; those registered before lose their
	// watch.
	failed atomic.Bool

	mu      sync.Mutex
	next    uint64
	watches map[uint64]*clientWatch
}

// hangups is the process's hang-up watcher, started on first use; nil
// when epoll is not available.
var hangups = sync.OnceValue(func() *hangupWatcher {
	epfd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil
	}
	// Non-blocking, os.NewFile hands the descriptor to the poller.
	if err := unix.SetNonblock(epfd, true); err != nil {
		_ = unix.Close(epfd)
		return nil
	}
	h := &hangupWatcher{epfd: epfd, file: os.NewFile(uintptr(epfd), "hangups"), watches: map[uint64]*clientWatch{}}
	raw, err := h.file.SyscallConn()
	if err != nil {
		_ = h.file.Close()
		return nil
	}
	go h.run(raw)
	return h
})

func (h *hangupWatcher) run(raw syscall.RawConn) {
	events := make([]unix.EpollEvent, 64)
	var n int
	var err error
	poll := func(fd uintptr) bool {
		for {
			n, err = unix.EpollWait(int(fd), events, 0)
			if err != unix.EINTR {
				// Nothing ready: wait for the descriptor to turn
				// readable, which it does when an event is ready.
				return n != 0 || err != nil
			}
		}
	}
	for {
		if rerr := raw.Read(poll); rerr != nil || err != nil {
			h.failed.Store(true)
			return
		}
		for _, ev := range events[:n] {
			id := uint64(uint32(ev.Fd)) | uint64(uint32(ev.Pad))<<32
			h.mu.Lock()
			w := h.watches[id]
			h.mu.Unlock()
			if w != nil {
				w.hangUp()
			}
		}
	}
}

// add registers a connection and returns its id, or 0 when it cannot be
// watched.
func (h *hangupWatcher) add(raw syscall.RawConn, w *clientWatch) uint64 {
	if h.failed.Load() {
		return 0
	}
	h.mu.Lock()
	h.next++
	id := h.next
	h.watches[id] = w
	h.mu.Unlock()
	ev := unix.EpollEvent{Events: unix.EPOLLRDHUP | unix.EPOLLET, Fd: int32(uint32(id)), Pad: int32(uint32(id >> 32))}
	var err error
	cerr := raw.Control(func(fd uintptr) { err = unix.EpollCtl(h.epfd, unix.EPOLL_CTL_ADD, int(fd), &ev) })
	if cerr != nil || err != nil {
		h.remove(raw, id)
		return 0
	}
	return id
}

// remove forgets a connection before it closes or net/http takes it.
func (h *hangupWatcher) remove(raw syscall.RawConn, id uint64) {
	h.mu.Lock()
	delete(h.watches, id)
	h.mu.Unlock()
	_ = raw.Control(func(fd uintptr) { _ = unix.EpollCtl(h.epfd, unix.EPOLL_CTL_DEL, int(fd), nil) })
}

// watchHangups registers a plaintext connection with the hang-up watcher;
// a connection it cannot take keeps hangupID 0, and the watching
// goroutine.
func (fc *frontConn) watchHangups() {
	h := hangups()
	sc, ok := fc.raw.(syscall.Conn)
	if h == nil || !ok {
		return
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return
	}
	fc.hangupRaw = raw
	fc.watch.clientGone = fc.clientGone
	fc.hangupID = h.add(raw, &fc.watch)
}

func (fc *frontConn) unwatchHangups() {
	if fc.hangupID != 0 {
		hangups().remove(fc.hangupRaw, fc.hangupID)
		fc.hangupID = 0
	}
}

// clientGone peeks at a connection whose client hung up: it is gone when
// nothing is left to read but the end, or the connection failed.
func (fc *frontConn) clientGone() bool {
	gone := true
	_ = fc.hangupRaw.Control(func(fd uintptr) {
		var b [1]byte
		n, _, err := unix.Recvfrom(int(fd), b[:], unix.MSG_PEEK|unix.MSG_DONTWAIT)
		gone = n == 0 && err == nil || err != nil && err != unix.EAGAIN
	})
	return gone
}
